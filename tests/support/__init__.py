"""Test helpers shared by the suites: databases, tokens, GraphQL calls, live servers."""
