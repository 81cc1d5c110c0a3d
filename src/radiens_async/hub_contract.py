"""What a hub and its clients agree on: the auth header, the ready line, what counts as local.

Both sides import these from here, so the client never imports the hub package (and a client
install needs none of the server's code paths).
"""

from __future__ import annotations

import ipaddress

__all__ = ["AUTH_METADATA_KEY", "READY_PREFIX", "bearer", "is_loopback"]

AUTH_METADATA_KEY = "authorization"
"""The gRPC metadata key of the access token."""

READY_PREFIX = "radiens-async hub listening on "
"""A starting hub prints this, then ``host:port``, once it serves (the embedded hub's parent
waits for it)."""


def bearer(token: str) -> str:
    """The metadata value a client sends for ``token``."""
    return f"Bearer {token}"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
