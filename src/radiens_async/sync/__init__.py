"""The documented blocking API: thin wrappers derived from the async clients."""
