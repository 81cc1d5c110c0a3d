"""Bulk samples: ``SampleBlock`` bytes -> read-only float32 ndarray, with no per-element work."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from radiens_async._generated.radiens.v1 import allego_pb2, common_pb2
from radiens_async.errors import RadiensError
from radiens_async.models.converters.signal_chunk_wire import DecodedSignalChunk
from radiens_async.models.signals import SignalChunk, Signals


def block_to_array(block: common_pb2.SampleBlock) -> npt.NDArray[np.float32]:
    """The block's samples as ``(n_channels, n_samples)`` float32, a view on the message bytes."""
    # Each access to a protobuf bytes field makes a new bytes object: read it once.
    samples = block.samples
    n_channels, n_samples = block.n_channels, block.n_samples
    if len(samples) != n_channels * n_samples * 4:
        raise RadiensError(
            f"malformed sample block: {len(samples)} bytes for "
            f"{n_channels} x {n_samples} float32 samples"
        )
    return np.frombuffer(samples, dtype="<f4").reshape(n_channels, n_samples)


def array_to_block(
    data: npt.NDArray[np.float32], first_sample: int, fs: float
) -> common_pb2.SampleBlock:
    """The inverse of :func:`block_to_array` (used by tests and by servers)."""
    data = np.ascontiguousarray(data, dtype="<f4")
    return common_pb2.SampleBlock(
        first_sample=first_sample,
        n_channels=data.shape[0],
        n_samples=data.shape[1],
        samples=data.tobytes(),
        fs=fs,
    )


def chunk_to_model(
    msg: allego_pb2.SignalChunk | DecodedSignalChunk, received_ns: int | None = None
) -> SignalChunk:
    """A stream message (parsed, or decoded without copying its samples) as a
    :class:`SignalChunk` stamped with the arrival time."""
    if isinstance(msg, allego_pb2.SignalChunk):
        block = msg.block
        msg = DecodedSignalChunk(
            block_to_array(block), block.first_sample, block.fs,
            msg.missed_samples, msg.acquired_ns, msg.sent_ns, msg.head_sample,
        )  # fmt: skip
    return SignalChunk(
        data=msg.data,
        first_sample=msg.first_sample,
        fs=msg.fs,
        missed_samples=msg.missed_samples,
        acquired_ns=msg.acquired_ns,
        sent_ns=msg.sent_ns,
        received_ns=time.monotonic_ns() if received_ns is None else received_ns,
        head_sample=msg.head_sample,
    )


def signals_to_model(msg: allego_pb2.SignalsReply) -> Signals:
    """A ``get_signals`` reply as :class:`Signals`."""
    return Signals(
        data=block_to_array(msg.block),
        first_sample=msg.block.first_sample,
        fs=msg.block.fs,
        missed_samples=msg.missed_samples,
        stream_epoch=msg.stream_epoch,
    )
