"""Calls to the Videre, SignalMetrics and Summa services on a client's hub connection.

The transport builds stubs for any service (:meth:`HubTransport.stub`); these three are named
here so that any client — Videre, Allego, Curate — can reach them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol

from radiens_async._generated.radiens.v1 import videre_grpc
from radiens_async.client.transport import HubTransport

Service = Literal["videre", "metrics", "summa"]
_STUBS = {
    "videre": videre_grpc.VidereStub,
    "metrics": videre_grpc.SignalMetricsStub,
    "summa": videre_grpc.SummaStub,
}


class VidereCalls:
    """Unary calls and the signals stream of the Videre-side services of one connection."""

    def __init__(self, transport: HubTransport) -> None:
        self._transport = transport

    async def call(
        self, service: Service, method: str, request: Any, timeout: float | None = None
    ) -> Any:
        """One unary call with the client's deadline and error mapping."""
        stub = await self._transport.stub(_STUBS[service])
        return await self._transport.call(getattr(stub, method), request, timeout=timeout)

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, request: Any, window: int
    ) -> AsyncIterator[AsyncIterator[Any]]:
        """A server stream of the Videre service on a connection of its own."""
        async with self._transport.open_stream(
            videre_grpc.VidereStub, method, request, window=window
        ) as messages:
            yield messages


class _HasTransport(Protocol):
    _transport: HubTransport


def calls_for(client: _HasTransport) -> VidereCalls:
    """The :class:`VidereCalls` of a client (it holds nothing but the client's transport)."""
    return VidereCalls(client._transport)
