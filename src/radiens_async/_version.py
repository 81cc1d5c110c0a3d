"""The package version (one place)."""

__version__ = "0.1.0"
PROTOCOL_VERSION = "radiens.v1"
