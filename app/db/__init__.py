"""Persistence: table mappings, repositories that hand out domain objects, the unit of work, migrations."""
