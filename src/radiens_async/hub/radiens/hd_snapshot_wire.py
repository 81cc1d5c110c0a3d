"""``HDSnapshot2`` replies written in protobuf's wire format, the samples copied once.

A 1024-channel, 100 ms snapshot carries 12 MB of samples. Built the ordinary way (``tobytes``
of the window, assigned into the message's arena, then ``SerializeToString``) the samples are
copied three times after the cache read, and the 1,030 channel records of the signal group every
reply carries are serialized again on each call. :func:`encode_hd_snapshot2` writes the reply's
fields directly, in field-number order as ``SerializeToString`` does (proto2: set fields only,
repeated scalars unpacked), so the bytes are identical: the samples are copied once (the final
``join``) and the signal group's bytes are the ones serialized when the group last changed
(:func:`~radiens_async.hub.radiens.signal_group.signal_group_bytes`). The Pcache1 servicer is
registered with :func:`radiens_async.hub.pre_encoded.add_servicer`, which passes these bytes
through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from radiens_async._generated.allego import common_pb2
from radiens_async.models.converters.signal_chunk_wire import varint

_LEN = 2  # wire type of a length-delimited field
_VARINT = 0

# Signals2's matrix fields by the name of the signal type they carry
MATRIX_FIELDS = {"amp": 3, "ain": 4, "din": 5, "dout": 6}


def _tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def _length_delimited(number: int, size: int) -> bytes:
    """The key and length prefix of a length-delimited field of ``size`` bytes."""
    return _tag(number, _LEN) + varint(size)


def _matrix_parts(number: int, data: npt.NDArray[np.float32]) -> tuple[list[object], int]:
    """The pieces of one ``RadixMatrixBytes`` field (a view of the samples among them)."""
    samples = np.ascontiguousarray(data, dtype="<f4")
    nbytes = samples.nbytes
    payload = samples.data.cast("B") if nbytes else b""
    data_head = _length_delimited(1, nbytes)
    shape = b"".join(_tag(2, _VARINT) + varint(int(n)) for n in samples.shape)
    body_len = len(data_head) + nbytes + len(shape)
    head = _length_delimited(number, body_len) + data_head
    return [head, payload, shape], len(head) + nbytes + len(shape)


def encode_hd_snapshot2(
    dsource_id: str,
    signal_group: bytes,
    time_range: common_pb2.TimeRange,
    matrices: Sequence[tuple[str, npt.NDArray[np.float32]]],
) -> bytes:
    """The wire bytes of an ``HDSnapshot2`` reply.

    Parameters
    ----------
    dsource_id : str
        ``HDSnapshot2.dsourceID``.
    signal_group : bytes
        The serialized ``SignalGroup`` (``sigs.sG``).
    time_range : common_pb2.TimeRange
        The range served (``sigs.tR``).
    matrices : sequence of (name, ndarray)
        ``("amp" | "ain" | "din" | "dout", samples)`` with samples float32 (channels, samples),
        in any order; each becomes that ``RadixMatrixBytes`` field.

    Returns
    -------
    bytes
        Byte for byte what ``HDSnapshot2.SerializeToString()`` gives for the same fields.

    Raises
    ------
    ValueError
        A matrix name that is not a signal type, or a matrix that is not two-dimensional.

    Examples
    --------
    >>> tr = common_pb2.TimeRange(timeRangeSec=[0.0, 1e-4], timestamp=[0, 3], fs=30000.0)
    >>> group = common_pb2.SignalGroup(sensorPortSpec=common_pb2.SensorPortSpec())
    >>> amp = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> wire = encode_hd_snapshot2("Live Signals", group.SerializeToString(), tr, [("amp", amp)])
    >>> msg = common_pb2.HDSnapshot2.FromString(wire)
    >>> list(msg.sigs.amp.shape), msg.sigs.tR.timestamp[1], msg.IsInitialized()
    ([2, 3], 3, True)
    """
    parts: list[object] = []
    sigs_len = 0
    for number, body in ((1, signal_group), (2, time_range.SerializeToString())):
        head = _length_delimited(number, len(body))
        parts += [head, body]
        sigs_len += len(head) + len(body)
    for name, data in sorted(matrices, key=lambda m: MATRIX_FIELDS.get(m[0], 0)):
        if name not in MATRIX_FIELDS:
            raise ValueError(f"unknown signal matrix {name!r} (expected {sorted(MATRIX_FIELDS)})")
        if data.ndim != 2:
            raise ValueError(f"{name} must be (channels, samples), got shape {data.shape}")
        pieces, size = _matrix_parts(MATRIX_FIELDS[name], data)
        parts += pieces
        sigs_len += size
    source = dsource_id.encode()
    head = _length_delimited(1, len(source)) + source + _length_delimited(2, sigs_len)
    return b"".join([head, *parts])  # type: ignore[list-item]
