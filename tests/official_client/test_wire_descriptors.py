"""Our Radiens protocol (protos/allego) equals radiens-core's published descriptors, field by
field."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, EnumDescriptor

from radiens_async._generated.allego import _wire_pool

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import render_radiens_protos  # noqa: E402

OUR_MODULES = ("common", "biointerface", "datasource", "spikesorter", "allegoserver")


def _ours() -> list:
    files = []
    for name in OUR_MODULES:
        module = importlib.import_module(f"radiens_async._generated.allego.{name}_pb2")
        files.append(module.DESCRIPTOR)
    return files


def _theirs(full_name: str) -> Descriptor | EnumDescriptor:
    importlib.import_module("radiens_core._generated.allegoserver_pb2")
    pool = descriptor_pool.Default()
    try:
        return pool.FindMessageTypeByName(full_name)
    except KeyError:
        return pool.FindEnumTypeByName(full_name)


def _normalised(desc: Descriptor) -> descriptor_pb2.DescriptorProto:
    """A message's descriptor as a proto, fields in number order, json names dropped (protoc
    derives them from the names)."""
    proto = descriptor_pb2.DescriptorProto()
    desc.CopyToProto(proto)

    def tidy(msg: descriptor_pb2.DescriptorProto) -> None:
        fields = sorted(msg.field, key=lambda f: f.number)
        del msg.field[:]
        for field in fields:
            field.ClearField("json_name")
            msg.field.add().CopyFrom(field)
        for nested in msg.nested_type:
            tidy(nested)

    tidy(proto)
    return proto


def _compare_enum(ours: EnumDescriptor, theirs: EnumDescriptor) -> None:
    assert [(v.name, v.number) for v in ours.values] == [
        (v.name, v.number) for v in theirs.values
    ], ours.full_name


def _compare_message(ours: Descriptor, theirs: Descriptor) -> None:
    """Names, numbers, types, labels, defaults, oneofs, options and nested types all equal."""
    assert ours.full_name == theirs.full_name
    assert _normalised(ours) == _normalised(theirs), ours.full_name
    assert len(ours.fields) > 0 or len(theirs.fields) == 0


def test_our_pool_is_not_the_default_pool() -> None:
    """radiens-core registers the same names in the default pool; ours must not collide."""
    assert _wire_pool.POOL is not descriptor_pool.Default()


@pytest.mark.parametrize("module", OUR_MODULES)
def test_every_message_and_enum_matches_the_published_one(module: str) -> None:
    fd = importlib.import_module(f"radiens_async._generated.allego.{module}_pb2").DESCRIPTOR
    assert fd.package == "allego"
    assert fd.message_types_by_name or fd.enum_types_by_name or fd.services_by_name
    for msg in fd.message_types_by_name.values():
        theirs = _theirs(msg.full_name)
        assert isinstance(theirs, Descriptor), msg.full_name
        _compare_message(msg, theirs)
    for enum in fd.enum_types_by_name.values():
        theirs = _theirs(enum.full_name)
        assert isinstance(theirs, EnumDescriptor), enum.full_name
        _compare_enum(enum, theirs)


def test_every_method_matches_the_published_service() -> None:
    importlib.import_module("radiens_core._generated.allegoserver_pb2")
    pool = descriptor_pool.Default()
    services = 0
    for fd in _ours():
        for service in fd.services_by_name.values():
            services += 1
            theirs = pool.FindServiceByName(service.full_name)
            for method in service.methods:
                other = theirs.methods_by_name[method.name]
                assert method.input_type.full_name == other.input_type.full_name
                assert method.output_type.full_name == other.output_type.full_name
                assert method.server_streaming == other.server_streaming
                assert method.client_streaming == other.client_streaming
    assert services == 5


def test_rendered_sources_are_current() -> None:
    """protos/allego is what the render tool makes of the installed radiens-core."""
    rendered = render_radiens_protos.render(render_radiens_protos.load_published())
    on_disk = {p.name: p.read_text() for p in (ROOT / "protos" / "allego").glob("*.proto")}
    assert rendered == on_disk, "protos/allego is stale: run nox -s radiens_protos, then protos"


def test_a_published_message_parses_ours_and_back() -> None:
    from radiens_core._generated import common_pb2 as theirs

    from radiens_async._generated.allego import common_pb2 as ours

    msg = ours.HDSnapshotRequest2(dsourceID="Live Signals", applyDSPstage2=True)
    msg.tR.fs = 30000.0
    msg.tR.timeRangeSec.extend([1.0, 2.0])
    msg.sigSel.ampNtvIdxs.extend([3, 1, 2])
    back = theirs.HDSnapshotRequest2.FromString(msg.SerializeToString())
    assert list(back.tR.timeRangeSec) == [1.0, 2.0]
    assert list(back.sigSel.ampNtvIdxs) == [3, 1, 2]
    assert ours.HDSnapshotRequest2.FromString(back.SerializeToString()) == msg
