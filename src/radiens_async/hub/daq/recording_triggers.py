"""Recording triggers: which digital channel may start and stop a recording.

An Allego starts or stops recording on a transition of an enabled trigger channel (a digital
input or output). Without ``split_files_by_port`` (which the hub's recording configuration does
not have) one trigger is active at a time: enabling one replaces any other, and disabling any
disables all. The hub holds and reports this state; its recordings are started and stopped by
``set_recording`` only (a trigger transition does not start one).

Plain domain code: no gRPC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.hub.daq.channel_layout import StreamSignalType

PORTS: Final = ("A", "B", "C", "D", "E", "F", "G", "H")
MAX_TRIGGER_NTV: Final = 15
"""Trigger channels are digital inputs and outputs with ntv index 0..15."""


@dataclass(frozen=True, slots=True)
class RecordingTrigger:
    """One enabled trigger: a digital input or output and the port whose recording it drives."""

    signal_type: StreamSignalType
    ntv_idx: int
    port: str = "A"


class RecordingTriggers:
    """The enabled recording triggers of a device with ``n_din`` inputs and ``n_dout`` outputs.

    Examples
    --------
    >>> triggers = RecordingTriggers(n_din=2, n_dout=2)
    >>> triggers.enable(StreamSignalType.DIN, 1)
    >>> [(t.signal_type.name, t.ntv_idx, t.port) for t in triggers.enabled]
    [('DIN', 1, 'A')]
    """

    def __init__(self, n_din: int = 2, n_dout: int = 2) -> None:
        self._counts = {StreamSignalType.DIN: n_din, StreamSignalType.DOUT: n_dout}
        self._enabled: tuple[RecordingTrigger, ...] = ()

    @property
    def enabled(self) -> tuple[RecordingTrigger, ...]:
        return self._enabled

    def resize(self, n_din: int, n_dout: int) -> None:
        """A new layout: triggers on channels it no longer has are disabled."""
        self._counts = {StreamSignalType.DIN: n_din, StreamSignalType.DOUT: n_dout}
        self._enabled = tuple(t for t in self._enabled if t.ntv_idx < self._counts[t.signal_type])

    def _checked(self, signal_type: StreamSignalType, ntv_idx: int, port: str) -> RecordingTrigger:
        if signal_type not in self._counts:
            raise InvalidArgument(
                f"a recording trigger is a digital input or output, not {signal_type.name}"
            )
        if isinstance(ntv_idx, bool) or not isinstance(ntv_idx, int):
            raise InvalidArgument(f"trigger channel index must be an int, got {ntv_idx!r}")
        if not 0 <= ntv_idx <= MAX_TRIGGER_NTV:
            raise InvalidArgument(
                f"trigger channel index must be in 0..{MAX_TRIGGER_NTV}, got {ntv_idx}"
            )
        n = self._counts[signal_type]
        if ntv_idx >= n:
            kind = "digital input" if signal_type == StreamSignalType.DIN else "digital output"
            raise NotFound(f"no {kind} {ntv_idx} on this device (it has ntv 0..{n - 1})")
        if port not in PORTS:
            raise InvalidArgument(f"unknown port {port!r}; expected one of {', '.join(PORTS)}")
        return RecordingTrigger(signal_type, ntv_idx, port)

    def enable(self, signal_type: StreamSignalType, ntv_idx: int, port: str = "A") -> None:
        """Enable a trigger channel; it replaces any other (one trigger at a time).

        Raises
        ------
        InvalidArgument
            Not a digital channel, an index out of 0..15, an unknown port.
        NotFound
            The device has no such channel.
        """
        self._enabled = (self._checked(signal_type, ntv_idx, port),)

    def disable(self, signal_type: StreamSignalType, ntv_idx: int, port: str = "A") -> None:
        """Disable a trigger channel: every trigger (one trigger at a time), once validated."""
        self._checked(signal_type, ntv_idx, port)
        self._enabled = ()

    def disable_all(self) -> None:
        self._enabled = ()

    # -- snapshots ----------------------------------------------------------------------------
    def as_list(self) -> list[dict[str, Any]]:
        return [
            {"signal_type": t.signal_type.name, "ntv_idx": t.ntv_idx, "port": t.port}
            for t in self._enabled
        ]

    def checked_list(self, saved: Sequence[Mapping[str, Any]]) -> tuple[RecordingTrigger, ...]:
        """Validate saved triggers for this device (ones on missing channels are dropped)."""
        out = []
        try:
            for t in saved:
                stype = StreamSignalType[str(t["signal_type"])]
                ntv, port = int(t["ntv_idx"]), str(t["port"])
                if stype in self._counts and ntv < self._counts[stype]:
                    out.append(self._checked(stype, ntv, port))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(f"malformed recording triggers: {exc!r}") from exc
        return tuple(out[-1:])  # one trigger at a time

    def apply(self, triggers: tuple[RecordingTrigger, ...]) -> None:
        self._enabled = triggers
