"""Repositories: build SQL, hand out domain entities."""
