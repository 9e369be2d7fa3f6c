"""Artifact bytes behind the ArtifactStore interface: a local folder or Azure Blob Storage."""
