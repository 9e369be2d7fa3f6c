"""Use cases. Each authorizes first (one ``require()``), then acts inside one unit of work."""
