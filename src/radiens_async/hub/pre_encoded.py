"""Register a generated servicer so that chosen methods may return pre-encoded messages.

``grpc.aio`` serializes every response with the generated ``SerializeToString``. A bulk stream
whose messages are cheaper to write directly in the wire format (see
:mod:`radiens_async.hub.servicers.signal_chunk_wire`) yields ``bytes`` instead; the serializer
installed here passes ``bytes`` through unchanged and serializes anything else as before.

The handlers are taken from the generated ``add_<Service>Servicer_to_server`` function (so the
method table stays generated) by handing it a recorder in place of the server; only the public
``grpc`` server API (``add_generic_rpc_handlers``, ``add_registered_method_handlers``) is used.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import grpc


class _HandlerRecorder:
    """Stands in for a server: keeps the method table a generated function registers."""

    def __init__(self) -> None:
        self.service = ""
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        """The same table is passed to ``add_registered_method_handlers`` (kept there)."""

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self.service, self.handlers = service, dict(handlers)


def passthrough_serializer(serialize: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """A response serializer that returns ``bytes`` as they are and serializes the rest.

    Examples
    --------
    >>> from radiens_async._generated.radiens.v1 import common_pb2
    >>> ser = passthrough_serializer(common_pb2.Empty.SerializeToString)
    >>> ser(b"\\x08\\x01"), ser(common_pb2.Empty())
    (b'\\x08\\x01', b'')
    """

    def serializer(message: Any) -> bytes:
        if type(message) is bytes:
            return message
        return serialize(message)

    return serializer


def add_servicer(
    register: Callable[[Any, Any], None],
    servicer: object,
    server: grpc.aio.Server,
    pre_encoded: Collection[str],
) -> None:
    """Register ``servicer`` like ``register(servicer, server)`` would, except that the methods
    named in ``pre_encoded`` may return (or yield) wire-format ``bytes``.

    Parameters
    ----------
    register : callable
        The generated ``add_<Service>Servicer_to_server``.
    servicer : object
        The servicer instance.
    server : grpc.aio.Server
        The server to add it to.
    pre_encoded : collection of str
        Method names (as in the service definition) whose responses may be ``bytes``.

    Raises
    ------
    ValueError
        If a name in ``pre_encoded`` is not a method of the service.

    Examples
    --------
    >>> add_servicer(  # doctest: +SKIP
    ...     allego_pb2_grpc.add_AllegoServicer_to_server, service, server, {"StreamSignals"}
    ... )
    """
    recorder = _HandlerRecorder()
    register(servicer, recorder)
    handlers = recorder.handlers
    unknown = sorted(set(pre_encoded) - set(handlers))
    if unknown:
        raise ValueError(f"{recorder.service or 'the service'} has no method {unknown}")
    for name in pre_encoded:
        handler = handlers[name]
        handlers[name] = handler._replace(
            response_serializer=passthrough_serializer(handler.response_serializer)
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(recorder.service, handlers),)
    )
    server.add_registered_method_handlers(recorder.service, handlers)
