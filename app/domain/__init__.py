"""Plain-Python domain: entities, rules and errors. Imports nothing from the rest of ``app``."""
