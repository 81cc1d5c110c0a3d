"""A grpclib channel tuned for bulk sample streams.

Stock grpclib reads 16 KiB HTTP/2 frames with 4 MiB windows, and h2 formats every received frame
for a debug log line even when nobody logs: hyperframe hex-encodes the *whole* payload of each
DATA frame before truncating it to 20 characters. Together that caps a stream of samples at about
a third of what the hub sends. We advertise 1 MiB frames and 32/64 MiB windows, and give DATA
frames a cheap repr.

h2's frame buffer also copies every payload three times (into a bytearray that is resized as
reads arrive, out of it as a slice, and once more in ``DataFrame.parse_body``), which made those
copies half of the client's CPU time on a 1024-channel stream. :class:`BulkFrameBuffer` keeps the
received reads as they are and hands a DATA payload on as a view of them (copied only when it
straddles two reads); grpclib copies it once when it assembles a message. Draining a
1024-channel backlog, that cut the client's CPU per GB by 5-50% in side-by-side runs (most on a
busy machine, where every copy misses the caches).

All of this touches dependency internals, so each part is guarded by the versions it was checked
against and falls back to stock behaviour otherwise (tests cover both paths).

Every channel also sends HTTP/2 keepalive pings (:data:`KEEPALIVE_INTERVAL_S`, answered within
:data:`KEEPALIVE_TIMEOUT_S`), so a frozen or vanished hub closes the connection within
:func:`keepalive_bound_s` seconds and a stream on it fails with ``ConnectError`` instead of
waiting forever. ``RADIENS_HUB_KEEPALIVE_S`` overrides them (``"interval"`` or
``"interval,timeout"`` in seconds, ``"off"`` to disable).
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from grpclib.client import Channel, Handler
from grpclib.config import Configuration
from grpclib.protocol import H2Protocol
from h2.exceptions import FrameDataMissingError, ProtocolError
from h2.frame_buffer import FrameBuffer
from h2.settings import SettingCodes
from hyperframe.exceptions import InvalidDataError, InvalidFrameError
from hyperframe.frame import DataFrame, Frame

from radiens_async.errors import InvalidArgument

log = logging.getLogger(__name__)

MAX_FRAME_SIZE = 1 << 20
STREAM_WINDOW = 32 << 20
CONNECTION_WINDOW = 64 << 20
MIN_WINDOW = 256 << 10
MAX_WINDOW = 64 << 20

# versions the private hooks below were checked against (major.minor prefixes)
_GRPCLIB_CHECKED = ("0.4",)
_HYPERFRAME_CHECKED = ("6.0", "6.1")
_H2_CHECKED = ("4.4",)
FRAME_HEADER_BYTES = 9

#: seconds between keepalive pings on every hub connection (idle or streaming)
KEEPALIVE_INTERVAL_S = 2.0
#: seconds a ping may go unanswered before the connection is closed as dead
KEEPALIVE_TIMEOUT_S = 3.0
#: the shortest interval a client may choose: the hub accepts pings every 0.5 s or slower
MIN_KEEPALIVE_INTERVAL_S = 1.0
ENV_KEEPALIVE = "RADIENS_HUB_KEEPALIVE_S"


def keepalive_settings() -> tuple[float, float] | None:
    """``(interval, timeout)`` of the keepalive pings in seconds; ``None`` when disabled.

    Defaults to (:data:`KEEPALIVE_INTERVAL_S`, :data:`KEEPALIVE_TIMEOUT_S`);
    ``RADIENS_HUB_KEEPALIVE_S`` overrides them with ``"interval"``, ``"interval,timeout"`` or
    ``"off"``.

    Raises
    ------
    InvalidArgument
        The variable is not two finite numbers, or the interval is below
        :data:`MIN_KEEPALIVE_INTERVAL_S` (the hub would refuse such pings) or the timeout is
        not positive.

    Examples
    --------
    >>> keepalive_settings()  # doctest: +SKIP
    (2.0, 3.0)
    """
    raw = os.environ.get(ENV_KEEPALIVE, "").strip()
    if not raw:
        return KEEPALIVE_INTERVAL_S, KEEPALIVE_TIMEOUT_S
    if raw.lower() in ("off", "0", "none", "false"):
        return None
    parts = [part.strip() for part in raw.split(",")]
    try:
        if len(parts) > 2:
            raise ValueError(raw)
        interval = float(parts[0])
        timeout = float(parts[1]) if len(parts) == 2 else KEEPALIVE_TIMEOUT_S
    except ValueError:
        raise InvalidArgument(
            f"{ENV_KEEPALIVE}: expected 'interval[,timeout]' in seconds or 'off', got {raw!r}"
        ) from None
    if not (math.isfinite(interval) and interval >= MIN_KEEPALIVE_INTERVAL_S):
        raise InvalidArgument(
            f"{ENV_KEEPALIVE}: the interval must be >= {MIN_KEEPALIVE_INTERVAL_S:g} s, got {raw!r}"
        )
    if not (math.isfinite(timeout) and timeout > 0):
        raise InvalidArgument(f"{ENV_KEEPALIVE}: the timeout must be > 0 s, got {raw!r}")
    return interval, timeout


def keepalive_bound_s() -> float | None:
    """The longest a dead hub goes unnoticed on a connection (interval + timeout), or
    ``None`` when keepalive is off."""
    settings = keepalive_settings()
    return None if settings is None else settings[0] + settings[1]


def channel_config(window: int | None = None) -> Configuration:
    """The grpclib configuration of a hub connection: flow-control windows (``window`` bytes,
    default 32/64 MiB) and keepalive pings (:func:`keepalive_settings`).

    The pings go on while no data is sent and with no call open, so an idle control channel
    notices a dead hub too (the hub is configured to accept them).
    """
    windows: dict[str, Any] = {
        "http2_connection_window_size": CONNECTION_WINDOW if window is None else window,
        "http2_stream_window_size": STREAM_WINDOW if window is None else window,
    }
    settings = keepalive_settings()
    if settings is None:
        return Configuration(**windows)
    interval, timeout = settings
    return Configuration(
        _keepalive_time=interval,
        _keepalive_timeout=timeout,
        _keepalive_permit_without_calls=True,
        _http2_max_pings_without_data=0,  # 0: unlimited (a server stream never sends data)
        _http2_min_sent_ping_interval_without_data=interval,
        **windows,
    )


def _version_ok(package: str, checked: tuple[str, ...]) -> bool:
    try:
        v = version(package)
    except PackageNotFoundError:
        return False
    return any(v == c or v.startswith(c + ".") for c in checked)


def flow_window_bytes(nbytes: float) -> int:
    """A flow-control window for ``nbytes`` in transit, clamped to [256 KiB, 64 MiB].

    The window bounds how much a stream can hide between the hub and a slow consumer: grpclib
    acknowledges DATA only when the application reads it, so with a window sized to a time
    budget the hub notices a lagging subscriber (and reports what it skips) instead of the
    backlog piling up unseen in socket buffers.
    """
    return int(min(MAX_WINDOW, max(MIN_WINDOW, nbytes)))


def _data_frame_repr(self: Any) -> str:
    return f"<{len(self.data)} bytes>"


def patch_frame_repr() -> bool:
    """Make ``repr`` of a DATA frame O(1). Returns True when the patch is in place."""
    if not _version_ok("hyperframe", _HYPERFRAME_CHECKED):
        return False
    from hyperframe.frame import DataFrame

    if getattr(DataFrame, "_body_repr", None) is _data_frame_repr:
        return True
    if not hasattr(DataFrame, "_body_repr"):
        return False
    setattr(DataFrame, "_body_repr", _data_frame_repr)  # noqa: B010 (a method, on purpose)
    return True


class BulkFrameBuffer(FrameBuffer):
    """A client-side ``h2`` frame buffer that does not copy DATA payloads.

    Reads are queued as they arrive (``add_data`` keeps a view, no copy). A DATA frame's payload
    becomes a ``memoryview`` of the read that holds it, or one joined copy when it straddles
    reads; every other frame (and a padded DATA frame) is parsed by hyperframe as usual. The
    views keep their reads alive until grpclib has assembled the message, which the flow-control
    window bounds.
    """

    def __init__(self) -> None:
        super().__init__(server=False)
        self._reads: deque[memoryview] = deque()
        self._buffered = 0

    def add_data(self, data: Any) -> None:
        if not isinstance(data, bytes):  # a view must not change under us (asyncio gives bytes)
            data = bytes(data)
        view = memoryview(data)
        if len(view):
            self._reads.append(view)
            self._buffered += len(view)

    def _take(self, n: int) -> memoryview | bytes:
        """Remove the next ``n`` bytes: a view when one read holds them, else a joined copy."""
        if n == 0:
            return b""
        reads = self._reads
        self._buffered -= n
        first = reads[0]
        if len(first) > n:
            reads[0] = first[n:]
            return first[:n]
        if len(first) == n:
            return reads.popleft()
        parts: list[memoryview] = []
        while n:
            head = reads[0]
            if len(head) <= n:
                parts.append(reads.popleft())
                n -= len(head)
            else:
                parts.append(head[:n])
                reads[0] = head[n:]
                n = 0
        return b"".join(parts)

    def _peek(self, n: int) -> bytes:
        """The next ``n`` bytes (the caller checked they are buffered), left in place."""
        out = bytearray()
        for view in self._reads:
            out += view[: n - len(out)]
            if len(out) == n:
                break
        return bytes(out)

    def _next_frame(self) -> Frame | None:
        """Parse one whole frame; ``None`` when it is buffered as part of a header block."""
        try:
            frame, length = Frame.parse_frame_header(memoryview(self._peek(FRAME_HEADER_BYTES)))
        except (InvalidDataError, InvalidFrameError) as err:  # pragma: no cover
            raise ProtocolError(f"Received frame with invalid header: {err!s}") from err
        self._validate_frame_length(length)  # before buffering a frame we would refuse
        if self._buffered < FRAME_HEADER_BYTES + length:
            raise StopIteration
        self._take(FRAME_HEADER_BYTES)
        body = self._take(length)
        if isinstance(frame, DataFrame) and "PADDED" not in frame.flags:
            frame.data = body  # type: ignore[assignment]  # grpclib reads it as a buffer
            frame.body_len = length
        else:
            try:
                frame.parse_body(memoryview(body))
            except InvalidDataError as err:
                raise ProtocolError("Received frame with non-compliant data") from err
            except InvalidFrameError as err:
                raise FrameDataMissingError("Frame data missing or invalid") from err
        return self._update_header_buffer(frame)

    def __next__(self) -> Frame:
        while self._buffered >= FRAME_HEADER_BYTES:
            frame = self._next_frame()
            if frame is not None:
                return frame
        raise StopIteration


def can_use_bulk_buffer() -> bool:
    """True when the h2 and hyperframe internals :class:`BulkFrameBuffer` relies on are as
    checked."""
    return (
        _version_ok("h2", _H2_CHECKED)
        and _version_ok("hyperframe", _HYPERFRAME_CHECKED)
        and all(
            hasattr(FrameBuffer, name)
            for name in ("_validate_frame_length", "_update_header_buffer")
        )
    )


class _BulkH2Protocol(H2Protocol):
    """Advertises a large SETTINGS_MAX_FRAME_SIZE right after the connection preface, accepts
    such frames at once, and reads frames through :class:`BulkFrameBuffer` where it can."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        h2_conn = self.connection._connection
        h2_conn.update_settings({SettingCodes.MAX_FRAME_SIZE: MAX_FRAME_SIZE})
        # h2 raises its inbound limit only when the hub ACKs these settings, and checks the limit
        # once per read: large DATA frames in the same read as the ACK would be refused
        # (FrameTooLargeError, "Connection lost"). Accepting them before the ACK is allowed.
        h2_conn.max_inbound_frame_size = MAX_FRAME_SIZE
        if can_use_bulk_buffer():
            h2_conn.incoming_buffer = BulkFrameBuffer()
        self.connection.flush()


def can_tune_frames() -> bool:
    """True when grpclib's private hooks used by :class:`TunedChannel` are as expected."""
    return (
        _version_ok("grpclib", _GRPCLIB_CHECKED)
        and hasattr(Channel, "_protocol_factory")
        and hasattr(H2Protocol, "connection_made")
    )


class TunedChannel(Channel):
    """``grpclib.client.Channel`` with large frames and windows for sample streams, and
    keepalive pings (:func:`channel_config`).

    Must be created inside the running event loop (grpclib binds the loop at construction).

    Examples
    --------
    >>> async def main():
    ...     channel = TunedChannel("127.0.0.1", 50150)
    ...     channel.close()
    """

    def __init__(self, host: str, port: int, *, window: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("config", channel_config(window))
        super().__init__(host, port, **kwargs)
        self.tuned = can_tune_frames()
        if not self.tuned:
            log.info(
                "grpclib %s not checked for frame tuning; using stock frames", version("grpclib")
            )
        patch_frame_repr()

    def _protocol_factory(self) -> H2Protocol:
        if not self.tuned:
            return super()._protocol_factory()
        return _BulkH2Protocol(Handler(), self._config, self._h2_config)
