"""A grpclib channel tuned for bulk sample streams.

Stock grpclib reads 16 KiB HTTP/2 frames with 4 MiB windows, and h2 formats every received frame
for a debug log line even when nobody logs: hyperframe hex-encodes the *whole* payload of each
DATA frame before truncating it to 20 characters. Together that caps a stream of samples at about
a third of what the hub sends. We advertise 1 MiB frames and 32/64 MiB windows, and give DATA
frames a cheap repr. Both touch dependency internals, so each is guarded by the versions it was
checked against and falls back to stock behaviour otherwise (tests cover both paths).
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from grpclib.client import Channel, Handler
from grpclib.config import Configuration
from grpclib.protocol import H2Protocol
from h2.settings import SettingCodes

log = logging.getLogger(__name__)

MAX_FRAME_SIZE = 1 << 20
STREAM_WINDOW = 32 << 20
CONNECTION_WINDOW = 64 << 20
MIN_WINDOW = 256 << 10
MAX_WINDOW = 64 << 20

# versions the private hooks below were checked against (major.minor prefixes)
_GRPCLIB_CHECKED = ("0.4",)
_HYPERFRAME_CHECKED = ("6.0", "6.1")


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


class _BulkH2Protocol(H2Protocol):
    """Advertises a large SETTINGS_MAX_FRAME_SIZE right after the connection preface."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.connection._connection.update_settings({SettingCodes.MAX_FRAME_SIZE: MAX_FRAME_SIZE})
        self.connection.flush()


def can_tune_frames() -> bool:
    """True when grpclib's private hooks used by :class:`TunedChannel` are as expected."""
    return (
        _version_ok("grpclib", _GRPCLIB_CHECKED)
        and hasattr(Channel, "_protocol_factory")
        and hasattr(H2Protocol, "connection_made")
    )


class TunedChannel(Channel):
    """``grpclib.client.Channel`` with large frames and windows for sample streams.

    Must be created inside the running event loop (grpclib binds the loop at construction).

    Examples
    --------
    >>> async def main():
    ...     channel = TunedChannel("127.0.0.1", 50150)
    ...     channel.close()
    """

    def __init__(self, host: str, port: int, *, window: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault(
            "config",
            Configuration(
                http2_connection_window_size=CONNECTION_WINDOW if window is None else window,
                http2_stream_window_size=STREAM_WINDOW if window is None else window,
            ),
        )
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
