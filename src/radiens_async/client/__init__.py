"""Async clients and their transport (grpclib)."""
