"""``SignalChunk`` stream messages in protobuf's wire format, without protobuf objects.

**Encoding (hub).** Building a 512 KiB ``SignalChunk`` the ordinary way (``samples =
data.tobytes()`` on a new message, then ``SerializeToString``) costs about 1.4 ms in protobuf's
upb runtime: the bytes are copied into the message's arena and out again, into freshly
allocated memory each time. That alone capped a backlog drain at about 0.36 GB/s per core of
the hub's event loop. :func:`encode_signal_chunk` writes the fields of ``SampleBlock`` and
``SignalChunk`` directly (in field-number order, proto3 defaults omitted, so the bytes are the
same as ``SerializeToString`` gives): one copy of the samples, about 0.1 ms per message. The
hub registers ``StreamSignals`` with :func:`radiens_async.hub.pre_encoded.add_servicer`, whose
serializer passes such bytes through unchanged.

**Decoding (client).** Parsing with the generated class copies the samples twice more (into
the message, and out as a new ``bytes`` on every access of ``block.samples``).
:func:`decode_signal_chunk` reads the few scalar fields and returns the samples as a read-only
ndarray *view* of the received message. It follows the protobuf rules any parser does: fields
in any order, the last value of a repeated scalar wins, unknown fields are skipped; malformed
input raises :class:`~radiens_async.errors.RadiensError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radiens_async.errors import RadiensError

_U64 = (1 << 64) - 1
_LEN = 2  # wire type of a length-delimited field
_FIXED64 = 1


def varint(value: int) -> bytes:
    """Protobuf base-128 varint; negative values as their 64-bit two's complement."""
    value &= _U64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _int_field(number: int, value: int) -> bytes:
    """A varint field, omitted when 0 (the proto3 default)."""
    return varint(number << 3) + varint(value) if value else b""


def encode_signal_chunk(
    first_sample: int,
    data: npt.NDArray[np.float32],
    fs: float,
    *,
    missed_samples: int = 0,
    acquired_ns: int = 0,
    sent_ns: int = 0,
    head_sample: int = 0,
) -> bytes:
    """The wire bytes of a ``SignalChunk`` holding ``data`` from ``first_sample`` on.

    Parameters
    ----------
    first_sample : int
        Stream sample of ``data[:, 0]``.
    data : ndarray of float32, shape (n_channels, n_samples)
        The samples (copied once, as little-endian float32 in C order).
    fs : float
        Sampling rate, samples per second.
    missed_samples, acquired_ns, sent_ns, head_sample : int
        The chunk's other fields (see ``protos/radiens/v1/allego.proto``).

    Returns
    -------
    bytes
        Byte for byte what ``SignalChunk.SerializeToString()`` gives for the same fields.

    Raises
    ------
    ValueError
        If ``data`` is not two-dimensional.

    Examples
    --------
    >>> from radiens_async._generated.radiens.v1 import allego_pb2
    >>> wire = encode_signal_chunk(7, np.ones((2, 3), np.float32), 30000.0, head_sample=10)
    >>> msg = allego_pb2.SignalChunk.FromString(wire)
    >>> msg.block.first_sample, msg.block.n_channels, msg.block.n_samples, msg.head_sample
    (7, 2, 3, 10)
    """
    if data.ndim != 2:
        raise ValueError(f"data must be (n_channels, n_samples), got shape {data.shape}")
    samples = np.ascontiguousarray(data, dtype="<f4")
    n_channels, n_samples = samples.shape
    nbytes = samples.nbytes
    block_head = (
        _int_field(1, first_sample)
        + _int_field(2, n_channels)
        + _int_field(3, n_samples)
        + (varint(4 << 3 | _LEN) + varint(nbytes) if nbytes else b"")
    )
    fs_bits = struct.pack("<d", fs)  # proto3 omits +0.0 only (-0.0 has a bit set)
    block_tail = bytes((5 << 3 | _FIXED64,)) + fs_bits if any(fs_bits) else b""
    block_len = len(block_head) + nbytes + len(block_tail)
    head = varint(1 << 3 | _LEN) + varint(block_len) + block_head
    tail = (
        block_tail
        + _int_field(2, missed_samples)
        + _int_field(3, acquired_ns)
        + _int_field(4, sent_ns)
        + _int_field(5, head_sample)
    )
    payload = samples.data.cast("B") if nbytes else b""  # (a view: join copies it once)
    return b"".join((head, payload, tail))


# ---------------------------------------------------------------------------------- decoding
_VARINT, _I32 = 0, 5
_DOUBLE = struct.Struct("<d")


@dataclass(frozen=True, slots=True)
class DecodedSignalChunk:
    """The fields of a ``SignalChunk``; ``data`` is a read-only view of the message bytes."""

    data: npt.NDArray[np.float32]
    first_sample: int
    fs: float
    missed_samples: int
    acquired_ns: int
    sent_ns: int
    head_sample: int


def _malformed(what: str) -> RadiensError:
    return RadiensError(f"malformed SignalChunk message: {what}")


def _read_varint(buf: bytes | memoryview, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while pos < end:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _U64, pos
        shift += 7
        if shift >= 70:
            break
    raise _malformed("truncated or overlong varint")


def _signed(value: int, bits: int = 64) -> int:
    """A varint as the signed integer it encodes (int64, or int32 sign-extended to 64 bits)."""
    value &= (1 << bits) - 1 if bits == 32 else _U64
    return value - (1 << bits) if value >> (bits - 1) else value


def _fields(buf: bytes | memoryview, pos: int, end: int) -> list[tuple[int, int, int, int]]:
    """Every field in ``buf[pos:end]`` as ``(number, wire type, value, start)``.

    ``value`` is the varint itself, or the length of a length-delimited field (whose bytes
    start at ``start``); fixed-width values start at ``start``.
    """
    out: list[tuple[int, int, int, int]] = []
    while pos < end:
        key, pos = _read_varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _malformed("field number 0")
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos, end)
            out.append((number, wire, value, pos))
        elif wire == _LEN:
            value, pos = _read_varint(buf, pos, end)
            if value > end - pos:
                raise _malformed(f"field {number} runs past the end of the message")
            out.append((number, wire, value, pos))
            pos += value
        elif wire in (_FIXED64, _I32):
            width = 8 if wire == _FIXED64 else 4
            if pos + width > end:
                raise _malformed(f"field {number} runs past the end of the message")
            out.append((number, wire, 0, pos))
            pos += width
        else:
            raise _malformed(f"unsupported wire type {wire} (field {number})")
    return out


def decode_signal_chunk(message: bytes) -> DecodedSignalChunk:
    """Decode the wire bytes of a ``SignalChunk``; the samples are not copied.

    Parameters
    ----------
    message : bytes
        One received message (kept alive by the returned ``data``).

    Returns
    -------
    DecodedSignalChunk

    Raises
    ------
    RadiensError
        If the bytes are not a well-formed ``SignalChunk``, or the samples do not match
        ``n_channels x n_samples``.

    Examples
    --------
    >>> wire = encode_signal_chunk(7, np.ones((2, 3), np.float32), 30000.0, head_sample=10)
    >>> chunk = decode_signal_chunk(wire)
    >>> chunk.data.shape, chunk.first_sample, chunk.fs, chunk.head_sample
    ((2, 3), 7, 30000.0, 10)
    """
    outer = {"missed": 0, "acquired": 0, "sent": 0, "head": 0}
    names = {2: "missed", 3: "acquired", 4: "sent", 5: "head"}
    block = {"first": 0, "n_channels": 0, "n_samples": 0}
    fs = 0.0
    samples_at, samples_len = 0, 0
    for number, wire, value, start in _fields(message, 0, len(message)):
        if number == 1 and wire == _LEN:  # the SampleBlock (occurrences merge)
            for b_number, b_wire, b_value, b_start in _fields(message, start, start + value):
                if b_wire == _VARINT and b_number == 1:
                    block["first"] = _signed(b_value)
                elif b_wire == _VARINT and b_number in (2, 3):
                    key = "n_channels" if b_number == 2 else "n_samples"
                    block[key] = _signed(b_value, 32)
                elif b_wire == _LEN and b_number == 4:
                    samples_at, samples_len = b_start, b_value
                elif b_wire == _FIXED64 and b_number == 5:
                    fs = _DOUBLE.unpack_from(message, b_start)[0]
        elif wire == _VARINT and number in names:
            outer[names[number]] = _signed(value)
    n_channels, n_samples = block["n_channels"], block["n_samples"]
    if n_channels < 0 or n_samples < 0 or samples_len != 4 * n_channels * n_samples:
        raise RadiensError(
            f"malformed sample block: {samples_len} bytes for "
            f"{n_channels} x {n_samples} float32 samples"
        )
    data = np.frombuffer(message, dtype="<f4", count=n_channels * n_samples, offset=samples_at)
    return DecodedSignalChunk(
        data=data.reshape(n_channels, n_samples),
        first_sample=block["first"],
        fs=fs,
        missed_samples=outer["missed"],
        acquired_ns=outer["acquired"],
        sent_ns=outer["sent"],
        head_sample=outer["head"],
    )


class SignalChunkWire:
    """A reply type for a grpclib stub: decodes ``SignalChunk`` messages with
    :func:`decode_signal_chunk` instead of the generated class.

    Examples
    --------
    >>> stub = allego_grpc.AllegoStub(channel)  # doctest: +SKIP
    >>> stub.StreamSignals.reply_type = SignalChunkWire  # doctest: +SKIP
    """

    FromString = staticmethod(decode_signal_chunk)
