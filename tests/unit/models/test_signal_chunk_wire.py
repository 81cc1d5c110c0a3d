"""SignalChunk wire codec: byte-identical to protobuf's encoder, readable by its parser, and
the decoder reads what protobuf writes (any field order, unknown fields) and refuses garbage."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radiens_async._generated.radiens.v1 import allego_pb2, common_pb2
from radiens_async.errors import RadiensError
from radiens_async.models.converters.samples import chunk_to_model
from radiens_async.models.converters.signal_chunk_wire import (
    DecodedSignalChunk,
    SignalChunkWire,
    decode_signal_chunk,
    encode_signal_chunk,
)

INT64 = st.one_of(
    st.sampled_from([0, 1, 127, 128, 2**31, 2**62, 2**63 - 1, -1, -(2**63)]),
    st.integers(-(2**63), 2**63 - 1),
)
FS = st.one_of(st.sampled_from([0.0, -0.0, 30000.0, 1.5]), st.floats(allow_nan=False))


def _proto(first: int, data: np.ndarray, fs: float, other: tuple[int, ...]) -> bytes:
    msg = allego_pb2.SignalChunk(
        missed_samples=other[0], acquired_ns=other[1], sent_ns=other[2], head_sample=other[3]
    )
    block = msg.block
    block.first_sample = first
    block.n_channels, block.n_samples = data.shape
    block.samples = data.tobytes()
    block.fs = fs
    return msg.SerializeToString()


@settings(max_examples=300, deadline=None)
@given(
    first=INT64,
    shape=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    fs=FS,
    other=st.tuples(INT64, INT64, INT64, INT64),
    seed=st.integers(0, 2**32 - 1),
)
def test_encoding_is_byte_identical_to_protobuf_and_decodes_back(
    first: int, shape: tuple[int, int], fs: float, other: tuple[int, ...], seed: int
) -> None:
    data = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    wire = encode_signal_chunk(
        first,
        data,
        fs,
        missed_samples=other[0],
        acquired_ns=other[1],
        sent_ns=other[2],
        head_sample=other[3],
    )
    assert wire == _proto(first, data, fs, other)
    back = decode_signal_chunk(wire)
    assert (back.first_sample, back.missed_samples, back.acquired_ns) == (first, *other[:2])
    assert (back.sent_ns, back.head_sample) == other[2:]
    assert back.fs == fs
    np.testing.assert_array_equal(back.data, data)
    assert back.data.shape == shape and back.data.dtype == np.float32


def test_encoder_takes_any_layout_and_decoded_samples_are_a_read_only_view() -> None:
    ring = np.arange(40, dtype=np.float64).reshape(4, 10)
    window = ring[:, 3:8]  # strided, and float64: stored as float32 like the cache gives
    wire = encode_signal_chunk(3, window, 30000.0)  # type: ignore[arg-type]
    parsed = allego_pb2.SignalChunk.FromString(wire)
    assert parsed.block.n_channels == 4 and parsed.block.n_samples == 5
    got = decode_signal_chunk(wire)
    np.testing.assert_array_equal(got.data, window.astype(np.float32))
    assert not got.data.flags.writeable
    assert got.data.base is not None  # a view of the message bytes, not a copy


def test_decoder_reads_fields_in_any_order_skips_unknown_ones_and_merges_blocks() -> None:
    data = np.ones((2, 3), np.float32)
    block = common_pb2.SampleBlock(
        first_sample=5, n_channels=2, n_samples=3, samples=data.tobytes(), fs=2.0
    ).SerializeToString()
    fs_only = common_pb2.SampleBlock(fs=30000.0).SerializeToString()
    unknown = bytes([0x30 | 0, 7]) + bytes([0x3D]) + b"abcd" + bytes([0x42, 2]) + b"xy"
    # head_sample (5) first, then the block, an unknown varint/fixed32/bytes, a second
    # occurrence of the block (fs only: merged), missed_samples twice (the last one wins)
    wire = (
        bytes([0x28, 9])
        + bytes([0x0A, len(block)])
        + block
        + unknown
        + bytes([0x0A, len(fs_only)])
        + fs_only
        + bytes([0x10, 1, 0x10, 4])
    )
    reference = allego_pb2.SignalChunk.FromString(wire)
    got = decode_signal_chunk(wire)
    assert got.head_sample == reference.head_sample == 9
    assert got.missed_samples == reference.missed_samples == 4
    assert got.fs == reference.block.fs == 30000.0
    assert got.first_sample == reference.block.first_sample == 5
    np.testing.assert_array_equal(got.data, data)


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        (b"\x28", "truncated"),  # a key with no value
        (b"\x28" + b"\xff" * 11, "varint"),
        (b"\x0a\x10\x08", "past the end"),  # a block longer than the message
        (b"\x00\x01", "field number 0"),
        (b"\x0b", "wire type 3"),  # groups are not used by proto3
        (b"\x31\x00\x00", "past the end"),  # a fixed64 cut short
    ],
)
def test_malformed_messages_are_refused(wire: bytes, match: str) -> None:
    with pytest.raises(RadiensError, match=match):
        decode_signal_chunk(wire)


@pytest.mark.parametrize(
    ("n_channels", "n_samples", "nbytes"), [(2, 3, 20), (2, 3, 28), (-1, 3, 0)]
)
def test_samples_that_do_not_fit_the_shape_are_refused(
    n_channels: int, n_samples: int, nbytes: int
) -> None:
    msg = allego_pb2.SignalChunk()
    msg.block.n_channels, msg.block.n_samples = n_channels, n_samples
    msg.block.samples = bytes(nbytes)
    with pytest.raises(RadiensError, match="malformed sample block"):
        decode_signal_chunk(msg.SerializeToString())


def test_encoder_refuses_data_that_is_not_two_dimensional() -> None:
    with pytest.raises(ValueError, match="n_channels, n_samples"):
        encode_signal_chunk(0, np.ones(3, np.float32), 30000.0)


def test_grpclib_reply_type_and_model_conversion() -> None:
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    wire = encode_signal_chunk(10, data, 30000.0, missed_samples=2, acquired_ns=5, head_sample=13)
    decoded = SignalChunkWire.FromString(wire)
    assert isinstance(decoded, DecodedSignalChunk)
    before = time.monotonic_ns()
    fast = chunk_to_model(decoded)
    slow = chunk_to_model(allego_pb2.SignalChunk.FromString(wire), received_ns=fast.received_ns)
    assert fast.received_ns >= before
    assert fast.model_dump(exclude={"data"}) == slow.model_dump(exclude={"data"})
    np.testing.assert_array_equal(fast.data, slow.data)
    assert fast.stop_sample == 13 and fast.missed_samples == 2
