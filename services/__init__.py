"""Use cases shared by the API, the jobs and the CLI; each owns its transaction."""
