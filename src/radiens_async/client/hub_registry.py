"""Which address a hub name stands for.

Names come from, in order: hubs registered in this process (:func:`register_hub`), the
``RADIENS_HUBS`` environment variable (``"name=host:port;other=host:port"``), and the built-in
``default`` hub on its well-known loopback port (``RADIENS_DEFAULT_HUB_PORT``, 50150 unless set).
``RADIENS_HUB`` names the hub used when a client is given no ``hub_name``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.utils.constants import DEFAULT_HUB, DEFAULT_HUB_PORT

ENV_HUBS = "RADIENS_HUBS"
ENV_HUB_NAME = "RADIENS_HUB"
ENV_DEFAULT_PORT = "RADIENS_DEFAULT_HUB_PORT"
ENV_TOKEN = "RADIENS_HUB_TOKEN"

_registered: dict[str, HubAddress] = {}


@dataclass(frozen=True, slots=True)
class HubAddress:
    """Where a hub listens. ``explicit`` is False only for the built-in default address, the one
    place an embedded hub may be started when nobody answers."""

    host: str
    port: int
    explicit: bool = True

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> HubAddress:
        """Parse ``"host:port"`` (``"[::1]:port"`` for IPv6).

        Examples
        --------
        >>> HubAddress.parse("127.0.0.1:50150")
        HubAddress(host='127.0.0.1', port=50150, explicit=True)
        """
        host, sep, port = text.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidArgument(f"invalid hub address {text!r}: expected host:port")
        return cls(host.strip("[]"), int(port))


def looks_like_address(text: str | None) -> bool:
    """True for ``"host:port"`` text (a hub name never holds a ``:`` and a port).

    Examples
    --------
    >>> looks_like_address("127.0.0.1:50150"), looks_like_address("default")
    (True, False)
    """
    if not text or ":" not in text:
        return False
    try:
        HubAddress.parse(text)
    except Exception:
        return False
    return True


def default_hub_port() -> int:
    """The well-known port of the ``default`` hub (``RADIENS_DEFAULT_HUB_PORT`` or 50150)."""
    value = os.environ.get(ENV_DEFAULT_PORT, "").strip()
    if not value:
        return DEFAULT_HUB_PORT
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise InvalidArgument(f"{ENV_DEFAULT_PORT}: expected a port in 1..65535, got {value!r}")
    return int(value)


def register_hub(name: str, address: str | HubAddress) -> None:
    """Make ``name`` stand for ``address`` in this process.

    Examples
    --------
    >>> register_hub("rig2", "127.0.0.1:50200")
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"a hub name must be a non-empty string, got {name!r}")
    _registered[name] = address if isinstance(address, HubAddress) else HubAddress.parse(address)


def _from_env() -> dict[str, HubAddress]:
    hubs: dict[str, HubAddress] = {}
    for item in os.environ.get(ENV_HUBS, "").replace(",", ";").split(";"):
        if item.strip():
            name, sep, addr = item.partition("=")
            if not sep or not name.strip():
                raise InvalidArgument(f"{ENV_HUBS}: expected name=host:port, got {item!r}")
            try:
                hubs[name.strip()] = HubAddress.parse(addr)
            except InvalidArgument as exc:
                raise InvalidArgument(f"{ENV_HUBS}: hub {name.strip()!r}: {exc}") from None
    return hubs


def known_hubs() -> dict[str, HubAddress]:
    """Every hub name this process knows, with its address."""
    hubs = {DEFAULT_HUB: HubAddress("127.0.0.1", default_hub_port(), explicit=False)}
    hubs.update(_from_env())
    hubs.update(_registered)
    return hubs


def resolve(hub_name: str | None = None, address: str | None = None) -> tuple[str, HubAddress]:
    """The (name, address) a client should use.

    An explicit ``address`` wins; otherwise ``hub_name`` (or ``RADIENS_HUB``, or ``default``) is
    looked up. A ``hub_name`` that is not registered but reads ``"host:port"`` is taken as that
    address (the documented clients take only ``hub_name``).
    """
    if address is None and looks_like_address(hub_name) and hub_name not in known_hubs():
        address, hub_name = hub_name, None
    name = hub_name or os.environ.get(ENV_HUB_NAME) or DEFAULT_HUB
    if address is not None:
        return name, HubAddress.parse(address)
    hubs = known_hubs()
    if name not in hubs:
        raise NotFound(f"unknown hub name {name!r}; known hubs: {', '.join(sorted(hubs))}")
    return name, hubs[name]
