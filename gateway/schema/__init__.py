"""The GraphQL schema, split per area and merged here."""
