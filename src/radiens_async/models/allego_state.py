"""``AllegoState``: what ``get_status()`` reports about streaming, recording and the hardware."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from radiens_async.errors import InvalidArgument
from radiens_async.utils.enums import Port, RecordMode, StreamMode, SystemMode

__all__ = [
    "AllegoState",
    "CableDelaySpec",
    "GPIOSpec",
    "RecordingConfig",
    "RecordingSpec",
    "StreamSpec",
    "parse_active_file_name",
]

_DETAILS: Final = ("brief", "verbose")
_UID_MARK: Final = "__uid"
_MIN_TIMESTAMP_LEN: Final = 6


class StreamSpec(NamedTuple):
    """Streaming state: ``mode`` is ``'S_ON'``/``'S_OFF'``, ``time_range`` the live cache
    ``[start, end]`` in s of stream time, ``hw_mem_level`` the hardware memory fill level (0..1)."""

    mode: str
    time_range: list[float]
    hw_mem_level: float


class RecordingSpec(NamedTuple):
    """Recording state: ``mode`` is ``'R_ON'``/``'R_OFF'``; ``file_name`` is the active file name
    as the hub reports it; ``path``, ``base_name``, ``index`` and ``timestamp`` are parsed from it
    (see :func:`parse_active_file_name`)."""

    mode: str
    file_name: str
    dur_sec: float
    error: str
    path: str
    base_name: str
    # The documented field name; it hides ``tuple.index`` on this NamedTuple.
    index: int  # type: ignore[assignment]
    timestamp: str


class RecordingConfig(BaseModel):
    """Where the next recording goes: directory, base name, index and the timestamp flag."""

    model_config = ConfigDict(frozen=True)

    path: str
    base_name: str
    index: int
    time_stamp: bool


class GPIOSpec(NamedTuple):
    """Number of analog-in, digital-in and digital-out channels."""

    ain: int
    din: int
    dout: int


class CableDelaySpec(TypedDict):
    """Cable delay of one port, in samples, and whether it is set automatically."""

    delay: int
    is_auto: bool


def _as_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def parse_active_file_name(file_name: str) -> tuple[str, str, int, str]:
    """Split an active recording file name into path, base name, index and timestamp.

    The rules of the documented client: ``path`` is the absolute parent directory (``~``
    expanded; the parent of the working directory for an empty name). The stem (name without
    its last extension) is ``<base>_<index>__uid<timestamp>`` when it holds ``__uid`` followed by
    at least 6 characters; otherwise ``<base>_<index>`` when the text after the last ``_`` is an
    integer; otherwise it is all base name, with ``index=-1`` and ``timestamp=''``.

    Parameters
    ----------
    file_name : str
        The active file name as the hub reports it.

    Returns
    -------
    tuple[str, str, int, str]
        ``(path, base_name, index, timestamp)``.

    Raises
    ------
    InvalidArgument
        (a ``ValueError``) when the name has a ``__uid`` timestamp but the text before it does not
        end in ``_<integer index>``.

    Examples
    --------
    >>> parse_active_file_name('/data/allego_0__uid0906-13-55-32.xdat')
    ('/data', 'allego', 0, '0906-13-55-32')
    >>> parse_active_file_name('/data/my_rec_12.xdat')
    ('/data', 'my_rec', 12, '')
    """
    file_path = Path(file_name).expanduser()
    path = str(file_path.absolute().parent)
    stem = file_path.stem
    uid_at = stem.rfind(_UID_MARK)
    if uid_at >= 0 and len(stem) - (uid_at + len(_UID_MARK)) >= _MIN_TIMESTAMP_LEN:
        timestamp = stem[uid_at + len(_UID_MARK) :]
        base_name, _, index_text = stem[:uid_at].rpartition("_")
        index = _as_int(index_text)
        if index is None:
            raise InvalidArgument(
                f"active file name {file_name!r}: index {index_text!r} before "
                f"'{_UID_MARK}' is not an integer"
            )
        return path, base_name, index, timestamp
    head, sep, tail = stem.rpartition("_")
    index = _as_int(tail) if sep else None
    if index is None:
        return path, stem, -1, ""
    return path, head, index, ""


def _all_ports(value: Any) -> dict[Port, Any]:
    given = {Port.parse(k): v for k, v in dict(value or {}).items()}
    return {port: given.get(port) for port in Port}


class AllegoState(BaseModel):
    """The status of Allego, as returned by ``get_status()``.

    Examples
    --------
    >>> async with AsyncAllegoClient() as client:
    ...     status = await client.get_status()
    >>> status.stream.mode, status.recording.base_name
    ('S_ON', 'allego')
    """

    model_config = ConfigDict(frozen=True)

    stream: StreamSpec
    recording: RecordingSpec
    sample_freq: float
    system_mode: SystemMode
    port_num_channels: dict[Port, int] = Field(default_factory=dict)
    cable_length_ft: dict[Port, int | None] = Field(default_factory=lambda: _all_ports({}))
    cable_delay_spec: dict[Port, CableDelaySpec | None] = Field(
        default_factory=lambda: _all_ports({})
    )
    connected: bool = False
    gpio: GPIOSpec = GPIOSpec(0, 0, 0)
    stream_loop_dur_ms: float = 0.0

    @field_validator("port_num_channels", mode="before")
    @classmethod
    def _port_keys(cls, value: Any) -> dict[Port, Any]:
        return {Port.parse(k): v for k, v in dict(value or {}).items()}

    @field_validator("cable_length_ft", "cable_delay_spec", mode="before")
    @classmethod
    def _every_port(cls, value: Any) -> dict[Port, Any]:
        return _all_ports(value)

    @classmethod
    def build(
        cls,
        *,
        stream_mode: bool | int | str | StreamMode,
        time_range: list[float] | tuple[float, float],
        hw_mem_level: float,
        recording_on: bool | int | str | RecordMode,
        active_file_name: str,
        dur_sec: float,
        error: str,
        sample_freq: float,
        system_mode: int | str | SystemMode,
        port_num_channels: Mapping[Port | str | int, int],
        gpio: GPIOSpec | tuple[int, int, int],
        stream_loop_dur_ms: float,
        cable_length_ft: Mapping[Port | str | int, int | None] | None = None,
        cable_delay_spec: Mapping[Port | str | int, CableDelaySpec | None] | None = None,
        connected: bool | None = None,
    ) -> AllegoState:
        """Assemble a state from the hub's values, parsing the active file name.

        Parameters
        ----------
        stream_mode, recording_on : bool, int, str or StreamMode/RecordMode
            Whether streaming / recording is on.
        time_range : list[float]
            Live cache ``[start, end]`` in s.
        hw_mem_level : float
            Hardware memory fill level, 0..1.
        active_file_name : str
            The active recording file name (path, base name, index and timestamp are parsed
            from it by :func:`parse_active_file_name`).
        dur_sec : float
            Recording duration in s.
        error : str
            Recording error text ('' when none).
        sample_freq : float
            Base sampling frequency in Hz.
        system_mode : SystemMode or int
            The system mode; an unknown value raises ``InvalidArgument("Invalid SystemMode
            value: <x>")``.
        port_num_channels : Mapping
            Channel count of each connected port (keys: ``Port``, letter or value).
        gpio : GPIOSpec or tuple
            ``(ain, din, dout)`` channel counts.
        stream_loop_dur_ms : float
            Duration of one acquisition loop in ms.
        cable_length_ft, cable_delay_spec : Mapping, optional
            Per-port values; ports not given are None.
        connected : bool, optional
            Whether any headstage is connected; by default, whether any port has channels.

        Returns
        -------
        AllegoState

        Examples
        --------
        >>> state = AllegoState.build(
        ...     stream_mode=True, time_range=[0.0, 12.5], hw_mem_level=0.0, recording_on=False,
        ...     active_file_name='/data/allego_0__uid0906-13-55-32.xdat', dur_sec=0.0, error='',
        ...     sample_freq=30000.0, system_mode=2, port_num_channels={'A': 32},
        ...     gpio=(2, 2, 2), stream_loop_dur_ms=50.0)
        >>> state.recording.index, state.stream.mode
        (0, 'S_ON')
        """
        path, base_name, index, timestamp = parse_active_file_name(active_file_name)
        ports = {Port.parse(k): int(v) for k, v in port_num_channels.items()}
        return cls(
            stream=StreamSpec(
                StreamMode.parse(stream_mode).status, list(time_range), float(hw_mem_level)
            ),
            recording=RecordingSpec(
                mode=RecordMode.parse(recording_on).status,
                file_name=active_file_name,
                dur_sec=float(dur_sec),
                error=error,
                path=path,
                base_name=base_name,
                index=index,
                timestamp=timestamp,
            ),
            sample_freq=float(sample_freq),
            # Parsed here, not in a validator, so an unknown mode raises the documented error.
            system_mode=SystemMode.parse(system_mode),
            port_num_channels=ports,
            cable_length_ft=_all_ports(cable_length_ft),
            cable_delay_spec=_all_ports(cable_delay_spec),
            connected=any(n > 0 for n in ports.values()) if connected is None else connected,
            gpio=GPIOSpec(*gpio),
            stream_loop_dur_ms=float(stream_loop_dur_ms),
        )

    @property
    def base_name(self) -> str:
        """Base name of the active recording file (``recording.base_name``).

        Examples
        --------
        >>> status.base_name
        'allego'
        """
        return self.recording.base_name

    @property
    def is_streaming(self) -> bool:
        """Whether signals are streaming.

        Examples
        --------
        >>> status.is_streaming
        True
        """
        return self.stream.mode == StreamMode.ON.status

    @property
    def is_recording(self) -> bool:
        """Whether a recording is being written.

        Examples
        --------
        >>> status.is_recording
        False
        """
        return self.recording.mode == RecordMode.ON.status

    def to_text(self, detail: str = "brief") -> str:
        """The status report that :meth:`print` writes, without the final newline.

        Parameters
        ----------
        detail : {'brief', 'verbose'}
            ``'verbose'`` adds the settings (sample rate, port channels, cable lengths).

        Raises
        ------
        ValueError
            ``'detail must be [`brief`, `verbose`]'`` for any other ``detail``.

        Examples
        --------
        >>> print(status.to_text().splitlines()[1])
        stream       : S_ON
        """
        if detail not in _DETAILS:
            raise InvalidArgument("detail must be [`brief`, `verbose`]")
        lines = ["ALLEGO status:"]
        if not self.connected:
            lines.append("not connected")
            return "\n".join(lines)
        stream, rec = self.stream, self.recording
        cache_end = stream.time_range[1] if len(stream.time_range) > 1 else 0.0
        lines += [
            f"stream       : {stream.mode}",
            # The start is always printed as 0.000, as the documented client does.
            f"  time range : [{0.0:.3f}, {cache_end:.3f}] sec",
            f"  HW memory  : {stream.hw_mem_level} ",
            f"recording         : {rec.mode}",
            f"  duration        : {rec.dur_sec:.3f} sec",
            f"  file name       : {Path(rec.file_name).stem}",
            f"  base name       : {rec.base_name}",
            f"  path            : {rec.path}",
            f"  index           : {rec.index}",
            f"  file timestamp  : {rec.timestamp}",
        ]
        if detail == "verbose":
            port_channels = {p.name: n for p, n in self.port_num_channels.items()}
            cable_lengths = {p.name: n for p, n in self.cable_length_ft.items()}
            lines += [
                "settings",
                f"  sample freq   : {self.sample_freq:.0f}",
                f"  port channels : {port_channels}",
                f"  cable lengths : {cable_lengths}",
            ]
        return "\n".join(lines)

    def print(self, detail: str = "brief") -> None:
        """Write the status report to standard output.

        Parameters
        ----------
        detail : {'brief', 'verbose'}
            ``'verbose'`` adds the settings (sample rate, port channels, cable lengths).

        Raises
        ------
        ValueError
            ``'detail must be [`brief`, `verbose`]'`` for any other ``detail``.

        Examples
        --------
        >>> async with AsyncAllegoClient() as client:
        ...     (await client.get_status()).print()
        ALLEGO status:
        stream       : S_ON
        ...
        """
        sys.stdout.write(self.to_text(detail) + "\n")

    def __str__(self) -> str:
        return self.to_text("brief")
