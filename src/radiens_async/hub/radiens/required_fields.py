"""Requests that miss a ``required`` field are refused the way an Allego refuses them.

The Radiens protocol is proto2. Python's protobuf parses a message that lacks a required field
without complaint (the field reads as its default), while the Radiens servers, built on Go's
protobuf, fail to unmarshal it and answer ``INTERNAL`` "grpc: error unmarshalling request: proto:
required field ... not set" before the method runs. An unknown enum value in a required enum field
ends the same way (proto2 keeps it as an unknown field, so the required field is unset). This
interceptor gives our Radiens ports that behaviour in one place, so no servicer ever sees a
half-filled request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import Message

UNMARSHAL_PREFIX = "grpc: error unmarshalling request: proto: required field"


def missing_required(request: Message) -> list[str]:
    """The dotted paths of the required fields ``request`` lacks (empty when complete)."""
    if request.IsInitialized():
        return []
    # every concrete message class has it; the stubs of the base class do not declare it
    errors: list[str] = request.FindInitializationErrors()  # type: ignore[attr-defined]
    return list(errors)


def refusal(request: Message) -> str | None:
    """The message an Allego answers for an incomplete request, or None if it is complete."""
    missing = missing_required(request)
    if not missing:
        return None
    fields = ", ".join(f"{request.DESCRIPTOR.full_name}.{name}" for name in missing)
    return f"{UNMARSHAL_PREFIX} {fields} not set"


def _checked_unary(
    behavior: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]],
) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    async def checked(request: Any, context: grpc.aio.ServicerContext) -> Any:
        message = refusal(request)
        if message is not None:
            await context.abort(grpc.StatusCode.INTERNAL, message)
        return await behavior(request, context)

    return checked


def _checked_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    async def checked(request: Any, context: grpc.aio.ServicerContext) -> Any:
        message = refusal(request)
        if message is not None:
            await context.abort(grpc.StatusCode.INTERNAL, message)
        async for reply in behavior(request, context):
            yield reply

    return checked


class RequiredFieldsInterceptor(grpc.aio.ServerInterceptor):
    """Refuse incomplete proto2 requests before any Radiens servicer method runs."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _checked_unary(handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _checked_stream(handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
