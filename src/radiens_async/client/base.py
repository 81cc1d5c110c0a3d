"""What every async client shares: the transport, its lifecycle, and the Hub service calls."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Any, Self

from radiens_async._generated.radiens.v1 import common_pb2
from radiens_async.client import hub_registry
from radiens_async.client.backends.hub_allego import HubAllegoBackend
from radiens_async.client.hub_registry import HubAddress
from radiens_async.client.tls import TlsSetting
from radiens_async.client.transport import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    HubTransport,
)
from radiens_async.errors import InvalidArgument
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.hub_info import HubCapabilities, HubHealth, HubVersion


class AsyncHubClient:
    """Base of the async clients: one hub connection, opened lazily, closed explicitly.

    Parameters
    ----------
    address : str, optional
        ``"host:port"`` of a hub; bypasses the registry (no embedded hub is started).
    hub_name : str, optional
        A name from the hub registry (default: ``RADIENS_HUB`` or ``"default"``). With the
        ``default`` hub and nobody answering at its well-known address, an embedded hub is
        started for this process.
    token : str, optional
        Access token of the hub (default: ``RADIENS_HUB_TOKEN``).
    timeout : float
        Deadline in seconds of each call.
    connect_timeout : float
        Deadline in seconds for reaching the hub.
    tls : bool, str, PathLike or SSLContext, optional
        TLS for a remote hub: True (system CAs), a CA bundle path, or a context; default:
        ``RADIENS_HUB_TLS_CA`` or plain HTTP/2 (see :mod:`radiens_async.client.tls`).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        hub_name: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        tls: TlsSetting = None,
    ) -> None:
        self._transport = HubTransport(
            hub_name,
            address,
            token=token,
            timeout=timeout,
            connect_timeout=connect_timeout,
            tls=tls,
        )
        self._id = uuid.uuid4().hex[:12]
        self._hub_allego: HubAllegoBackend | None = None

    # -- lifecycle ----------------------------------------------------------------------
    async def open(self) -> Self:
        """Connect to the hub now (calls connect lazily otherwise).

        Examples
        --------
        >>> async with AsyncAllegoClient() as client:  # doctest: +SKIP
        ...     print(client.hub, client.address)
        """
        await self._transport.open()
        return self

    async def aclose(self) -> None:
        """Close the connection; the client cannot be used again."""
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _check_hub(self, hub_name: str | None) -> None:
        """The documented methods take ``hub_name``; a client talks to the one hub it was made
        for, so any other name is refused rather than silently ignored."""
        if hub_name is not None and hub_name not in (hub_registry.DEFAULT_HUB, self.hub):
            raise InvalidArgument(
                f"this client talks to hub {self.hub!r}; create a {type(self).__name__} with"
                f" hub_name={hub_name!r} to use that hub"
            )

    async def _hub_backend(self) -> HubAllegoBackend:
        """The hub's live Allego side over this client's connection (opened): what the
        spike_sorter() and spikes() of a Videre or Curate client talk to."""
        if self._hub_allego is None:
            self._hub_allego = HubAllegoBackend(self._transport)
        await self._hub_allego.open()
        return self._hub_allego

    async def _hub_channel_metadata(self) -> ChannelMetadata:
        """The live channel metadata of the hub (defaults of the sorter sub-clients)."""
        return await (await self._hub_backend()).get_channel_metadata()

    # -- identity -----------------------------------------------------------------------
    @property
    def id(self) -> str:
        """UID of this client session."""
        return self._id

    @property
    def hub(self) -> str:
        """Name of the hub this client talks to."""
        return self._transport.hub_name

    @property
    def address(self) -> HubAddress:
        """Address of the hub (the embedded hub's, once started)."""
        return self._transport.address

    @property
    def hubs(self) -> dict[str, HubAddress]:
        """Every hub name this process knows, with its address."""
        return hub_registry.known_hubs()

    # -- the Hub service ----------------------------------------------------------------
    async def _require_hub_service(self, operation: str) -> None:
        """Refuse ``operation`` when the server has no hub service (a client whose protocol
        may be another one overrides this; a hub client always has it)."""

    async def _call(
        self, service: str, method: str, request: Any, timeout: float | None = None
    ) -> Any:
        await self._transport.open()
        stub = getattr(self._transport, service)
        return await self._transport.call(getattr(stub, method), request, timeout=timeout)

    async def hub_health(self) -> HubHealth:
        """Ask the hub whether it serves.

        Examples
        --------
        >>> async with AsyncAllegoClient() as client:  # doctest: +SKIP
        ...     (await client.hub_health()).serving
        True
        """
        await self._require_hub_service("hub_health")
        reply = await self._call("hub", "Health", common_pb2.Empty())
        return HubHealth(serving=reply.serving, uptime_s=reply.uptime_s, pid=reply.pid)

    async def hub_version(self) -> HubVersion:
        """The hub's software and protocol versions.

        Examples
        --------
        >>> async with AsyncAllegoClient() as client:  # doctest: +SKIP
        ...     (await client.hub_version()).protocol_version
        'radiens.v1'
        """
        await self._require_hub_service("hub_version")
        reply = await self._call("hub", "Version", common_pb2.Empty())
        return HubVersion(
            hub_version=reply.hub_version,
            protocol_version=reply.protocol_version,
            python_version=reply.python_version,
        )

    async def hub_capabilities(self) -> HubCapabilities:
        """The services, system modes and sampling rates the hub offers.

        Examples
        --------
        >>> async with AsyncAllegoClient() as client:  # doctest: +SKIP
        ...     'smartbox_sim_gen_spikes' in (await client.hub_capabilities()).simulator_modes
        True
        """
        await self._require_hub_service("hub_capabilities")
        reply = await self._call("hub", "Capabilities", common_pb2.Empty())
        return HubCapabilities(
            services=tuple(reply.services),
            system_modes=tuple(reply.system_modes),
            simulator_modes=tuple(reply.simulator_modes),
            sampling_freqs=tuple(reply.sampling_freqs),
            auth_required=reply.auth_required,
            data_dir=reply.data_dir,
        )
