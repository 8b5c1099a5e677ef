"""The HTTP and GraphQL face of the gateway, and the `gocrm` console command."""
