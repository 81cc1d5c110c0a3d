"""add_servicer: the generated method table, with pass-through serializers where asked."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from radiens_async._generated.radiens.v1 import allego_pb2, allego_pb2_grpc, common_pb2
from radiens_async.hub.pre_encoded import add_servicer, passthrough_serializer


class FakeServer:
    def __init__(self) -> None:
        self.generic: list[Any] = []
        self.registered: dict[str, dict[str, grpc.RpcMethodHandler]] = {}

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        self.generic.extend(handlers)

    def add_registered_method_handlers(self, service: str, handlers: Any) -> None:
        self.registered[service] = handlers


def test_named_methods_pass_bytes_through_and_the_rest_is_as_generated() -> None:
    server, stock = FakeServer(), FakeServer()
    servicer = allego_pb2_grpc.AllegoServicer()
    add_servicer(allego_pb2_grpc.add_AllegoServicer_to_server, servicer, server, {"StreamSignals"})  # type: ignore[arg-type]
    allego_pb2_grpc.add_AllegoServicer_to_server(servicer, stock)
    ours, theirs = server.registered["radiens.v1.Allego"], stock.registered["radiens.v1.Allego"]
    assert ours.keys() == theirs.keys() and len(server.generic) == 1
    stream = ours["StreamSignals"]
    assert stream.response_streaming and not stream.request_streaming
    assert stream.request_deserializer == theirs["StreamSignals"].request_deserializer
    wire = b"\x28\x05"
    assert stream.response_serializer(wire) is wire
    msg = allego_pb2.SignalChunk(head_sample=5)
    assert stream.response_serializer(msg) == msg.SerializeToString() == wire
    for name in ours.keys() - {"StreamSignals"}:
        assert ours[name] == theirs[name]


def test_an_unknown_method_name_is_refused_before_anything_is_registered() -> None:
    server = FakeServer()
    with pytest.raises(ValueError, match="NoSuchMethod"):
        add_servicer(
            allego_pb2_grpc.add_AllegoServicer_to_server,
            allego_pb2_grpc.AllegoServicer(),
            server,  # type: ignore[arg-type]
            {"NoSuchMethod"},
        )
    assert not server.generic and not server.registered


def test_passthrough_serializer_keeps_bytes_and_serializes_messages() -> None:
    ser = passthrough_serializer(common_pb2.Empty.SerializeToString)
    assert ser(b"abc") == b"abc"
    assert ser(common_pb2.Empty()) == b""
    with pytest.raises(TypeError):
        ser(bytearray(b"abc"))  # only bytes are taken as wire format
