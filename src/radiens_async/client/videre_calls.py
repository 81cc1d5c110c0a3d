"""Calls to the Videre, SignalMetrics and Summa services on a client's hub connection.

The transport keeps stubs for the services it was built with; these three live here, bound to
the transport's channel (rebuilt if the channel changes), so any client — Videre, Allego,
Curate — can reach them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal

from radiens_async._generated.radiens.v1 import videre_grpc
from radiens_async.client.base import AsyncHubClient

Service = Literal["videre", "metrics", "summa"]
_STUBS = {
    "videre": videre_grpc.VidereStub,
    "metrics": videre_grpc.SignalMetricsStub,
    "summa": videre_grpc.SummaStub,
}


class VidereCalls:
    """Unary calls and the signals stream of the Videre-side services for one client."""

    def __init__(self, client: AsyncHubClient) -> None:
        self._client = client
        self._stubs: dict[str, Any] = {}
        self._channel: object = None

    async def call(
        self, service: Service, method: str, request: Any, timeout: float | None = None
    ) -> Any:
        """One unary call with the client's deadline and error mapping."""
        transport = self._client._transport
        await transport.open()
        channel = transport._channel
        if channel is not self._channel:
            self._stubs, self._channel = {}, channel
        stub = self._stubs.get(service)
        if stub is None:
            stub = self._stubs[service] = _STUBS[service](channel)
        return await transport.call(getattr(stub, method), request, timeout=timeout)

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, request: Any, window: int
    ) -> AsyncIterator[AsyncIterator[Any]]:
        """A server stream of the Videre service on a connection of its own."""
        async with self._client._transport.open_stream(
            videre_grpc.VidereStub, method, request, window=window
        ) as messages:
            yield messages


def calls_for(client: AsyncHubClient) -> VidereCalls:
    """The (cached) :class:`VidereCalls` of a client."""
    calls = getattr(client, "_videre_calls", None)
    if calls is None:
        calls = VidereCalls(client)
        client._videre_calls = calls  # type: ignore[attr-defined]
    return calls
