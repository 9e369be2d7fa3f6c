"""modelreg: an ML model registry server."""

__version__ = "0.1.0"
