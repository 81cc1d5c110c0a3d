"""HDSnapshot2 written in wire format equals what protobuf serializes, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from radiens_async._generated.allego import common_pb2
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.radiens.hd_snapshot_wire import encode_hd_snapshot2
from radiens_async.hub.radiens.signal_group import signal_group, signal_group_bytes

RNG = np.random.default_rng(3)


def _reference(
    group: common_pb2.SignalGroup, tr: common_pb2.TimeRange, matrices: dict[str, np.ndarray]
) -> bytes:
    reply = common_pb2.HDSnapshot2(dsourceID="Live Signals")
    reply.sigs.sG.CopyFrom(group)
    reply.sigs.tR.CopyFrom(tr)
    for name, data in matrices.items():
        matrix = getattr(reply.sigs, name)
        matrix.data = data.astype("<f4").tobytes()
        matrix.shape.extend(data.shape)
    return reply.SerializeToString()


@pytest.mark.parametrize(
    "shapes",
    [
        {"amp": (32, 3000)},
        {"amp": (4, 10), "ain": (2, 10), "din": (1, 10), "dout": (2, 10)},
        {"dout": (2, 5), "amp": (3, 5)},  # any order in, field order out
        {"amp": (0, 0)},
        {"amp": (300, 1)},  # a shape whose varint needs two bytes
        {"ain": (2, 200_000)},  # lengths of three-byte varints
    ],
)
def test_bytes_equal_serialize_to_string(shapes: dict[str, tuple[int, int]]) -> None:
    device = AllegoDevice()
    tr = common_pb2.TimeRange(timeRangeSec=[1.0, 1.1], timestamp=[30000, 33000], fs=30000.0)
    matrices = {n: RNG.standard_normal(s).astype(np.float32) for n, s in shapes.items()}
    wire = encode_hd_snapshot2(
        "Live Signals", signal_group_bytes(device), tr, list(matrices.items())
    )
    ordered = dict(
        sorted(matrices.items(), key=lambda m: ["amp", "ain", "din", "dout"].index(m[0]))
    )
    assert wire == _reference(signal_group(device), tr, ordered)
    back = common_pb2.HDSnapshot2.FromString(wire)
    assert back.IsInitialized()
    for name, data in matrices.items():
        got = np.frombuffer(getattr(back.sigs, name).data, "<f4").reshape(data.shape)
        assert np.array_equal(got, data)


def test_a_strided_view_is_written_in_c_order() -> None:
    data = RNG.standard_normal((8, 20)).astype(np.float32)[::2, 3:15]
    tr = common_pb2.TimeRange(timeRangeSec=[0.0, 1.0], fs=12.0)
    group = common_pb2.SignalGroup(sensorPortSpec=common_pb2.SensorPortSpec())
    wire = encode_hd_snapshot2("Live Signals", group.SerializeToString(), tr, [("amp", data)])
    back = common_pb2.HDSnapshot2.FromString(wire)
    assert np.array_equal(np.frombuffer(back.sigs.amp.data, "<f4").reshape(4, 12), data)


def test_bad_matrices_are_refused() -> None:
    tr = common_pb2.TimeRange(fs=1.0)
    with pytest.raises(ValueError, match="unknown signal matrix"):
        encode_hd_snapshot2("x", b"", tr, [("lfp", np.zeros((1, 1), np.float32))])
    with pytest.raises(ValueError, match="channels, samples"):
        encode_hd_snapshot2("x", b"", tr, [("amp", np.zeros(3, np.float32))])


def test_the_group_bytes_follow_a_selection_change() -> None:
    device = AllegoDevice()
    before = signal_group_bytes(device)
    assert signal_group_bytes(device) is before  # serialized once per state
    device.channel_selection.deselect(StreamSignalType.AMP, [0])
    after = signal_group_bytes(device)
    assert after != before
    assert after == signal_group(device).SerializeToString()
