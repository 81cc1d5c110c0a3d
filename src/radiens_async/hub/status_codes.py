"""The hub's one place that turns domain errors into gRPC status codes.

Domain code raises :mod:`radiens_async.errors` exceptions; a servicer method wrapped with
:func:`unary` or :func:`server_stream` aborts the call with the matching status and the message.
Anything unexpected becomes INTERNAL and is logged: a client can never take the hub down.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from radiens_async import errors

log = logging.getLogger(__name__)

_STATUS_OF: list[tuple[type[BaseException], grpc.StatusCode]] = [
    (errors.OutOfRange, grpc.StatusCode.OUT_OF_RANGE),  # before its base, InvalidArgument
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.FormatError, grpc.StatusCode.INVALID_ARGUMENT),
]

Req = TypeVar("Req")
Rep = TypeVar("Rep")
Self = TypeVar("Self")


def status_for(exc: BaseException) -> grpc.StatusCode:
    """The status code a domain exception travels as."""
    for cls, code in _STATUS_OF:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.INTERNAL


async def _abort(context: grpc.aio.ServicerContext, exc: Exception, method: str) -> None:
    code = status_for(exc)
    if code is grpc.StatusCode.INTERNAL:
        log.exception("%s failed", method)
        message = f"internal hub error in {method}: {type(exc).__name__}: {exc}"
    else:
        message = str(exc)
    await context.abort(code, message)


def unary(
    fn: Callable[[Self, Req, grpc.aio.ServicerContext], Awaitable[Rep]],
) -> Callable[[Self, Req, grpc.aio.ServicerContext], Awaitable[Rep]]:
    """Wrap a unary servicer method so domain errors become status codes."""

    @functools.wraps(fn)
    async def wrapper(self: Self, request: Req, context: grpc.aio.ServicerContext) -> Rep:
        try:
            return await fn(self, request, context)
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception as exc:
            await _abort(context, exc, fn.__qualname__)
            raise AssertionError("unreachable: abort raises") from exc

    return wrapper


def server_stream(
    fn: Callable[[Self, Req, grpc.aio.ServicerContext], AsyncIterator[Rep]],
) -> Callable[[Self, Req, grpc.aio.ServicerContext], AsyncIterator[Rep]]:
    """Wrap a server-streaming servicer method (an async generator) the same way."""

    @functools.wraps(fn)
    async def wrapper(self: Self, request: Req, context: grpc.aio.ServicerContext) -> Any:
        try:
            async for item in fn(self, request, context):
                yield item
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception as exc:
            await _abort(context, exc, fn.__qualname__)

    return wrapper
