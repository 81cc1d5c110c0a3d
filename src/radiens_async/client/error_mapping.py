"""The one function that turns transport failures into :mod:`radiens_async.errors` exceptions."""

from __future__ import annotations

import asyncio

from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from radiens_async import errors

_BY_STATUS: dict[Status, type[errors.RemoteError]] = {
    Status.INVALID_ARGUMENT: errors.InvalidArgument,
    Status.OUT_OF_RANGE: errors.InvalidArgument,
    Status.NOT_FOUND: errors.NotFound,
    Status.ALREADY_EXISTS: errors.AlreadyExists,
    Status.FAILED_PRECONDITION: errors.FailedPrecondition,
    Status.UNAUTHENTICATED: errors.Unauthenticated,
    Status.PERMISSION_DENIED: errors.Unauthenticated,
    Status.RESOURCE_EXHAUSTED: errors.ResourceExhausted,
    Status.UNAVAILABLE: errors.Unavailable,
}


def map_error(exc: BaseException, *, where: str) -> errors.RadiensError:
    """Translate ``exc`` raised while talking to the hub at ``where`` (``"host:port"``).

    ``asyncio.CancelledError`` must never reach this function: callers let it propagate.

    Examples
    --------
    >>> from grpclib.const import Status
    >>> from grpclib.exceptions import GRPCError
    >>> map_error(GRPCError(Status.NOT_FOUND, "no such file"), where="127.0.0.1:50150")
    NotFound('no such file')
    """
    if isinstance(exc, errors.RadiensError):
        return exc
    if isinstance(exc, GRPCError):
        message = exc.message or exc.status.name
        if exc.status is Status.DEADLINE_EXCEEDED:
            return errors.DeadlineExceeded(f"hub at {where} did not answer in time: {message}")
        if exc.status is Status.UNAVAILABLE and "connect" in message.lower():
            return errors.ConnectError(f"cannot reach the hub at {where}: {message}")
        cls = _BY_STATUS.get(exc.status, errors.RemoteError)
        return cls(message, exc.status.name)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return errors.DeadlineExceeded(f"hub at {where} did not answer within the deadline")
    if isinstance(exc, ConnectionRefusedError):
        return errors.ConnectError(f"cannot reach the hub at {where}: connection refused")
    if isinstance(exc, OSError):
        return errors.ConnectError(f"cannot reach the hub at {where}: {exc.strerror or exc}")
    if isinstance(exc, AttributeError) and "_transport" in str(exc):
        # grpclib touches a connection whose socket is already gone (the hub went away)
        return errors.ConnectError(f"connection to the hub at {where} broke: {exc}")
    if isinstance(exc, StreamTerminatedError | ProtocolError):
        return errors.ConnectError(f"connection to the hub at {where} broke: {exc}")
    return errors.RadiensError(f"unexpected failure talking to the hub at {where}: {exc!r}")
