"""Render the Radiens wire protocol we use into ``protos/allego/`` from the installed radiens-core.

radiens-core (NeuroNexus, MIT licence, on PyPI) ships the protocol of the current Radiens servers as
serialized ``FileDescriptorProto``s in ``radiens_core/_generated/*_pb2.py`` (proto2, package
``allego``). This tool reads those descriptors and writes ``.proto`` sources that keep only the
services and methods radiens-async uses (``USED_METHODS``) and the messages and enums they reach,
each with the published names, numbers, types, labels and options. Nothing is typed by hand, so
the files cannot drift from what the servers speak; ``tests/official_client`` re-checks them
field by field against radiens-core's own descriptors.

radiens-core needs Python >= 3.12; run this in a venv that has it (``nox -s radiens_protos``)::

    python tools/render_radiens_protos.py [OUTPUT_DIR]   (default: protos/allego)

Then ``nox -s protos`` generates ``src/radiens_async/_generated/allego`` from the sources.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from google.protobuf import descriptor_pb2

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "protos" / "allego"
SOURCE_VERSION = "0.1.2"
PROTO_DIR = "allego"  # import path of the rendered files (protos/allego/<name>.proto)

# the published modules that hold the Allego-side protocol, in dependency order
SOURCE_MODULES = ("common", "biointerface", "datasource", "spikesorter", "allegoserver")

# service -> methods we serve and call: what radiens-core 0.1.2's AllegoClient and the documented
# radiens 4.0.1 API use on an Allego, plus the calls the hub answers for the hardware-only ones
USED_METHODS: dict[str, tuple[str, ...]] = {
    "AllegoLifecycle": ("Healthcheck", "GetVersion", "GetOfflineLicenseStatus"),
    "AllegoCore": (
        "Healthcheck",
        "Restart",
        "WorkspaceControl",
        "GetWorkspace",
        "SetConfigCore",
        "SetConfigRecording",
        "SetStreamState",
        "SetRecordState",
        "SetDIOEvents",
        "SetDIOManual",
        "SetDIOGated",
        "SetDIOPulse",
        "SetDACGain",
        "SetDACStream",
        "SetDACOff",
        "SetDACHighPass",
        "SetTriggerState",
        "SetDSPGroup",
        "SetStimParams",
        "GetStimParams",
        "SetStimStep",
        "GetStimStep",
        "ManualStimTrigger",
        "ManualStimTriggerToggle",
        "GetConfig",
        "GetConfigRecording",
        "GetStatus",
        "GetConfigAndStatus",
        "GetIntanImpedance",
        "GetDSPGroup",
        "GetDIOReg",
        "GetDACReg",
        "GetTriggerState",
        "ReadWireOut",
        "ListSensorSpecs",
        "GetSignalGroupIDs",
        "GetSpikeSorterIDs",
        "GetSignalGroup",
        "UpdateSignalGroup",
        "ScanPorts",
        "SetSensor",
        "LoadAllMosi",
        "TransmitMosi",
        "GetSinapsStatusRegisters",
        "FlashSinaps",
    ),
    "Pcache1": ("Healthcheck", "GetHDSnapshot2", "GetSignals", "SetTimeRangeToHead"),
    "Kpi1": ("Healthcheck", "KpiGetMetrics", "GetKpiStatus", "SetKpiPacketDur"),
    "Neurons1": (
        "Healthcheck",
        "SpikeSorterCommand",
        "SpikeSorterSetParam",
        "SpikeSorterSetParams",
        "SpikeSorterGetParam",
        "SpikeSorterGetState",
        "SpikeSorterGetDashboard",
        "SpikeSorterGetRasterData",
        "BiointerfaceGetSpikesDense",
        "BiointerfaceGetNeurons",
        "SpikesGetSpec",
    ),
}

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    _F.TYPE_DOUBLE: "double",
    _F.TYPE_FLOAT: "float",
    _F.TYPE_INT64: "int64",
    _F.TYPE_UINT64: "uint64",
    _F.TYPE_INT32: "int32",
    _F.TYPE_FIXED64: "fixed64",
    _F.TYPE_FIXED32: "fixed32",
    _F.TYPE_BOOL: "bool",
    _F.TYPE_STRING: "string",
    _F.TYPE_BYTES: "bytes",
    _F.TYPE_UINT32: "uint32",
    _F.TYPE_SFIXED32: "sfixed32",
    _F.TYPE_SFIXED64: "sfixed64",
    _F.TYPE_SINT32: "sint32",
    _F.TYPE_SINT64: "sint64",
}
_WELL_KNOWN = {
    ".google.protobuf.Timestamp": "timestamp",
    ".google.protobuf.Duration": "duration",
    ".google.protobuf.Empty": "empty",
    ".google.protobuf.Struct": "struct",
    ".google.protobuf.Any": "any",
}
_LABELS = {
    _F.LABEL_OPTIONAL: "optional",
    _F.LABEL_REQUIRED: "required",
    _F.LABEL_REPEATED: "repeated",
}


def load_published() -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """The published FileDescriptorProtos, by file name (``allegoserver.proto`` ...)."""
    files = {}
    for name in SOURCE_MODULES:
        module = importlib.import_module(f"radiens_core._generated.{name}_pb2")
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        files[proto.name] = proto
    return files


def _index(files: dict[str, descriptor_pb2.FileDescriptorProto]) -> dict[str, tuple[str, object]]:
    """Every top-level type's full name -> (file, descriptor); nested types map to their parent."""
    index: dict[str, tuple[str, object]] = {}

    def walk(prefix: str, msg: descriptor_pb2.DescriptorProto, top: str, fname: str) -> None:
        full = f"{prefix}.{msg.name}"
        index[full] = (fname, top)
        for nested in msg.nested_type:
            walk(full, nested, top, fname)
        for enum in msg.enum_type:
            index[f"{full}.{enum.name}"] = (fname, top)

    for fname, fd in files.items():
        pkg = f".{fd.package}"
        for msg in fd.message_type:
            walk(pkg, msg, f"{pkg}.{msg.name}", fname)
        for enum in fd.enum_type:
            index[f"{pkg}.{enum.name}"] = (fname, f"{pkg}.{enum.name}")
    return index


def _type_refs(msg: descriptor_pb2.DescriptorProto) -> Iterator[str]:
    for field in msg.field:
        if field.type_name:
            yield field.type_name
    for nested in msg.nested_type:
        yield from _type_refs(nested)


def used_types(files: dict[str, descriptor_pb2.FileDescriptorProto]) -> set[str]:
    """Full names of the top-level messages and enums the used methods reach."""
    index = _index(files)
    tops: dict[str, object] = {}
    for fd in files.values():
        for msg in fd.message_type:
            tops[f".{fd.package}.{msg.name}"] = msg
        for enum in fd.enum_type:
            tops[f".{fd.package}.{enum.name}"] = enum
    pending: list[str] = []
    found_services = set()
    for fd in files.values():
        for service in fd.service:
            if service.name not in USED_METHODS:
                continue
            found_services.add(service.name)
            methods = {m.name: m for m in service.method}
            missing = set(USED_METHODS[service.name]) - set(methods)
            if missing:
                raise SystemExit(f"{service.name} has no method(s) {sorted(missing)}")
            for name in USED_METHODS[service.name]:
                pending += [methods[name].input_type, methods[name].output_type]
    if found_services != set(USED_METHODS):
        raise SystemExit(f"services not published: {sorted(set(USED_METHODS) - found_services)}")
    keep: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref.startswith(".google.protobuf."):
            continue  # a well-known type, imported from protobuf itself
        top = str(index[ref][1])
        if top in keep:
            continue
        keep.add(top)
        item = tops[top]
        if isinstance(item, descriptor_pb2.DescriptorProto):
            pending.extend(_type_refs(item))
    return keep


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _default(field: descriptor_pb2.FieldDescriptorProto) -> str:
    value = field.default_value
    if field.type in (_F.TYPE_STRING, _F.TYPE_BYTES):
        return _quote(value)
    if field.type in (_F.TYPE_DOUBLE, _F.TYPE_FLOAT):
        number = float(value)
        if math.isnan(number):
            return "nan"
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
    return value


def _field_options(field: descriptor_pb2.FieldDescriptorProto) -> str:
    opts = []
    if field.HasField("default_value"):
        opts.append(f"default = {_default(field)}")
    if field.options.HasField("packed"):
        opts.append(f"packed = {str(field.options.packed).lower()}")
    if field.options.deprecated:
        opts.append("deprecated = true")
    return f" [{', '.join(opts)}]" if opts else ""


def _type_name(field: descriptor_pb2.FieldDescriptorProto) -> str:
    if field.type in (_F.TYPE_MESSAGE, _F.TYPE_ENUM):
        return field.type_name
    if field.type == _F.TYPE_GROUP:
        raise SystemExit(f"groups are not supported (field {field.name})")
    return _SCALARS[field.type]


def _render_enum(enum: descriptor_pb2.EnumDescriptorProto, indent: str) -> Iterator[str]:
    yield f"{indent}enum {enum.name} {{"
    if enum.options.allow_alias:
        yield f"{indent}  option allow_alias = true;"
    for value in enum.value:
        yield f"{indent}  {value.name} = {value.number};"
    yield f"{indent}}}"


def _render_message(msg: descriptor_pb2.DescriptorProto, indent: str) -> Iterator[str]:
    if msg.extension or msg.extension_range:
        raise SystemExit(f"extensions are not supported ({msg.name})")
    yield f"{indent}message {msg.name} {{"
    inner = indent + "  "
    maps = {n.name: n for n in msg.nested_type if n.options.map_entry}
    for nested in msg.nested_type:
        if nested.name not in maps:
            yield from _render_message(nested, inner)
    for enum in msg.enum_type:
        yield from _render_enum(enum, inner)
    oneofs: dict[int, list[descriptor_pb2.FieldDescriptorProto]] = {}
    for field in msg.field:
        if field.HasField("oneof_index") and not field.proto3_optional:
            if field.oneof_index not in oneofs:
                oneofs[field.oneof_index] = []
                yield f"{inner}oneof {msg.oneof_decl[field.oneof_index].name} {{"
                yield from (
                    f"{inner}  {_type_name(f)} {f.name} = {f.number}{_field_options(f)};"
                    for f in msg.field
                    if f.HasField("oneof_index") and f.oneof_index == field.oneof_index
                )
                yield f"{inner}}}"
            continue
        entry = maps.get(field.type_name.rsplit(".", 1)[-1]) if field.type_name else None
        if entry is not None and field.label == _F.LABEL_REPEATED:
            key, value = entry.field
            yield (
                f"{inner}map<{_type_name(key)}, {_type_name(value)}> {field.name} = "
                f"{field.number}{_field_options(field)};"
            )
            continue
        yield (
            f"{inner}{_LABELS[field.label]} {_type_name(field)} {field.name} = {field.number}"
            f"{_field_options(field)};"
        )
    for r in msg.reserved_range:
        yield f"{inner}reserved {r.start} to {r.end - 1};"
    if msg.reserved_name:
        yield f"{inner}reserved {', '.join(_quote(n) for n in msg.reserved_name)};"
    yield f"{indent}}}"


def _render_service(service: descriptor_pb2.ServiceDescriptorProto) -> Iterator[str]:
    methods = {m.name: m for m in service.method}
    yield f"service {service.name} {{"
    for name in USED_METHODS[service.name]:
        m = methods[name]
        stream_in = "stream " if m.client_streaming else ""
        stream_out = "stream " if m.server_streaming else ""
        yield f"  rpc {m.name}({stream_in}{m.input_type}) returns ({stream_out}{m.output_type});"
    yield "}"


HEADER = """\
// Rendered by tools/render_radiens_protos.py from radiens-core {version}'s published descriptors
// ({source}) -- DO NOT EDIT; re-render instead.
//
// This is the Radiens wire protocol (proto2, package allego) as published by NeuroNexus in
// radiens-core, MIT licence (see LICENSE-radiens-core beside this file). Only the services,
// methods, messages and enums radiens-async uses are kept; every kept item is identical to the
// published descriptor (tests/official_client checks it field by field).
"""


def render(files: dict[str, descriptor_pb2.FileDescriptorProto]) -> dict[str, str]:
    """``{file name: .proto text}`` of the kept subset (files left empty are dropped)."""
    keep = used_types(files)
    index = _index(files)
    out: dict[str, str] = {}
    for fname, fd in files.items():
        pkg = f".{fd.package}"
        body: list[str] = []
        items: list[tuple[int, str, object]] = []
        for i, msg in enumerate(fd.message_type):
            if f"{pkg}.{msg.name}" in keep:
                items.append((i, "m", msg))
        for i, enum in enumerate(fd.enum_type):
            if f"{pkg}.{enum.name}" in keep:
                items.append((10_000 + i, "e", enum))
        for _, kind, item in items:
            if kind == "m":
                body.extend(_render_message(item, ""))  # type: ignore[arg-type]
            else:
                body.extend(_render_enum(item, ""))  # type: ignore[arg-type]
            body.append("")
        services = [s for s in fd.service if s.name in USED_METHODS]
        for service in services:
            body.extend(_render_service(service))
            body.append("")
        if not body:
            continue
        refs = set(_refs_of_file(fd, keep, services))
        deps = sorted({index[r][0] for r in refs if r in index and index[r][0] != fname})
        wkt = sorted(f"google/protobuf/{_WELL_KNOWN[r]}.proto" for r in refs if r in _WELL_KNOWN)
        lines = [HEADER.format(version=SOURCE_VERSION, source=f"{Path(fname).stem}_pb2.py")]
        lines += ['syntax = "proto2";', "", f"package {fd.package};", ""]
        lines += [f'import "{path}";' for path in wkt]
        lines += [f'import "{PROTO_DIR}/{dep}";' for dep in deps]
        if deps or wkt:
            lines.append("")
        out[fname] = "\n".join(lines + body).rstrip("\n") + "\n"
    return out


def _refs_of_file(
    fd: descriptor_pb2.FileDescriptorProto,
    keep: set[str],
    services: Iterable[descriptor_pb2.ServiceDescriptorProto],
) -> Iterator[str]:
    pkg = f".{fd.package}"
    for msg in fd.message_type:
        if f"{pkg}.{msg.name}" in keep:
            yield from _type_refs(msg)
    for service in services:
        methods = {m.name: m for m in service.method}
        for name in USED_METHODS[service.name]:
            yield methods[name].input_type
            yield methods[name].output_type


def main(out_dir: Path) -> None:
    import radiens_core

    if getattr(radiens_core, "__version__", SOURCE_VERSION) != SOURCE_VERSION:
        raise SystemExit(
            f"expected radiens-core {SOURCE_VERSION}, found {radiens_core.__version__}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    rendered = render(load_published())
    for old in out_dir.glob("*.proto"):
        if old.name not in rendered:
            old.unlink()
    for name, text in rendered.items():
        (out_dir / name).write_text(text)
        print(out_dir / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
