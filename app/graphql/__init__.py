"""The GraphQL API: thin resolvers that parse arguments, call a service and convert the result."""
