"""A linked dataset as users see it: its :class:`TimeRange` and :class:`DatasetMetadata`.

Time is *stream time*: seconds since acquisition streaming started, so a recording's
``TR.sec[0]`` is usually not 0. ``TR.timestamp`` holds the matching sample indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from radiens_async.errors import InvalidArgument
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.utils.enums import RadiensFileType, SignalType

__all__ = ["DatasetMetadata", "TimeRange", "make_time_range"]

NO_WALLTIME = datetime.min
"""``walltime`` of a time range with no wall clock recorded (year 1)."""

# sec * fs is truncated to a sample index; rounding to this many decimals first keeps
# 0.29 s * 100 Hz = 28.999999999999996 from truncating to 28
_TRUNCATE_DECIMALS = 6


def _pair(value: Any, dtype: type[np.generic], name: str) -> npt.NDArray[Any]:
    arr = np.array(value, dtype=dtype).reshape(-1)
    if arr.shape != (2,):
        raise InvalidArgument(f"{name} must have 2 elements [start, end], got {list(arr)}")
    arr.setflags(write=False)
    return arr


class TimeRange(BaseModel):
    """A ``[start, end)`` range of stream time, in seconds and in sample indices.

    Build one with :func:`make_time_range`. ``sec`` (float64) and ``timestamp`` (int64) are
    read-only numpy arrays of length 2; ``dur_sec = sec[1] - sec[0]`` and
    ``N = timestamp[1] - timestamp[0]``; ``walltime`` is the wall clock of ``sec[0]``
    (``datetime.min`` when unknown).

    Examples
    --------
    >>> tr = make_time_range([1.0, 3.5], fs=1000.0)
    >>> tr.timestamp.tolist(), tr.dur_sec, tr.N
    ([1000, 3500], 2.5, 2500)
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    sec: npt.NDArray[np.float64]
    timestamp: npt.NDArray[np.int64]
    fs: float = Field(gt=0)
    dur_sec: float
    walltime: datetime = NO_WALLTIME
    N: int

    @field_validator("sec", mode="before")
    @classmethod
    def _sec(cls, value: Any) -> npt.NDArray[np.float64]:
        return _pair(value, np.float64, "sec")

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp(cls, value: Any) -> npt.NDArray[np.int64]:
        return _pair(value, np.int64, "timestamp")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TimeRange):
            return NotImplemented
        return (
            np.array_equal(self.sec, other.sec)
            and np.array_equal(self.timestamp, other.timestamp)
            and self.fs == other.fs
            and self.walltime == other.walltime
        )

    def __hash__(self) -> int:
        return hash((tuple(self.timestamp.tolist()), self.fs, self.walltime))

    def __iter__(self) -> Any:
        # the documented TimeRange is a namedtuple: unpacking yields its fields in order
        return iter((self.sec, self.timestamp, self.fs, self.dur_sec, self.walltime, self.N))

    def __repr__(self) -> str:
        return (
            f"TimeRange(sec={self.sec.tolist()}, timestamp={self.timestamp.tolist()},"
            f" fs={self.fs:g}, dur_sec={self.dur_sec:g}, N={self.N})"
        )

    __str__ = __repr__


def make_time_range(
    time_range: Sequence[float] | npt.NDArray[Any] | None = None,
    timestamp: Sequence[int] | npt.NDArray[Any] | None = None,
    fs: float | None = None,
    walltime: datetime | None = None,
) -> TimeRange:
    """Make a :class:`TimeRange` from seconds or from sample indices.

    Parameters
    ----------
    time_range : list or ndarray, optional
        ``[start, end]`` in seconds of stream time (tuples are refused, as documented).
    timestamp : list or ndarray, optional
        ``[start, end]`` sample indices; wins over ``time_range`` when both are given.
    fs : float
        Sampling rate in Hz (required).
    walltime : datetime, optional
        Wall clock of the start (default ``datetime.min``: none recorded).

    Returns
    -------
    TimeRange
        ``sec = timestamp / fs`` when built from timestamps; ``timestamp = int64(sec * fs)``
        (truncated) when built from seconds.

    Raises
    ------
    InvalidArgument
        (a ``ValueError``) ``'missing fs'``; ``'missing both time_range and timestamp arg'``;
        a tuple, a value that is not 2 finite numbers, or ``fs <= 0``.

    Examples
    --------
    >>> make_time_range([0.5, 1.0], fs=30000.0).timestamp.tolist()
    [15000, 30000]
    >>> make_time_range(timestamp=[300, 600], fs=30000.0).sec.tolist()
    [0.01, 0.02]
    """
    if fs is None:
        raise InvalidArgument("missing fs")
    if not isinstance(fs, int | float | np.number) or not np.isfinite(fs) or fs <= 0:
        raise InvalidArgument(f"fs must be a positive number, got {fs!r}")
    fs = float(fs)
    if timestamp is not None:
        if not isinstance(timestamp, list | np.ndarray):
            raise InvalidArgument("timestamp must be a list or numpy array")
        ts_f = _pair(timestamp, np.float64, "timestamp")
        if not np.all(np.isfinite(ts_f)) or not np.array_equal(ts_f, np.round(ts_f)):
            raise InvalidArgument(f"timestamp must be 2 integers, got {list(timestamp)}")
        ts = ts_f.astype(np.int64)
        sec = ts / fs
    elif time_range is not None:
        if not isinstance(time_range, list | np.ndarray):
            raise InvalidArgument("time_range must be a list or numpy array (not a tuple)")
        sec = _pair(time_range, np.float64, "time_range")
        if not np.all(np.isfinite(sec)):
            raise InvalidArgument(f"time_range must be 2 finite numbers, got {sec.tolist()}")
        ts = np.trunc(np.round(sec * fs, _TRUNCATE_DECIMALS)).astype(np.int64)
    else:
        raise InvalidArgument("missing both time_range and timestamp arg")
    return TimeRange(
        sec=sec,
        timestamp=ts,
        fs=fs,
        dur_sec=float(sec[1] - sec[0]),
        walltime=NO_WALLTIME if walltime is None else walltime,
        N=int(ts[1] - ts[0]),
    )


def _empty_time_range() -> TimeRange:
    return make_time_range([0.0, 0.0], fs=1.0)


class DatasetMetadata(BaseModel):
    """A dataset linked to the hub: identity, time range, channels and backing files.

    ``id`` is the hub's dataset ID (mutable: a forced re-link makes a new one);
    ``dataset_uid`` is the immutable UID of the recording. ``path`` is the directory and
    ``base_name`` the file-set name without extension. ``spikes_ids`` lists the datasets of
    ``.spikes`` sets found beside the recording (linked as its spikes).

    Examples
    --------
    >>> async with AsyncVidereClient() as videre:  # doctest: +SKIP
    ...     meta = await videre.link_data_file("/data/rec_0.xdat")
    >>> meta.TR.fs, meta.channel_metadata.num_sigs(SignalType.AMP)  # doctest: +SKIP
    (30000.0, 32)
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    dsource_id: str = ""
    kpi_dsource_id: str = ""
    time_range: TimeRange = Field(default_factory=_empty_time_range)
    channel_metadata: ChannelMetadata = Field(default_factory=ChannelMetadata)
    dataset_uid: str = ""
    source_type: str = ""
    file_type: RadiensFileType = RadiensFileType.XDAT
    source_mode: str = ""
    label: str = ""
    path: str = ""
    base_name: str = ""
    spikes_ids: tuple[str, ...] = ()

    @field_validator("file_type", mode="before")
    @classmethod
    def _file_type(cls, value: Any) -> RadiensFileType:
        return RadiensFileType.parse(value)

    @property
    def id(self) -> str:
        """The hub's dataset ID."""
        return self.dsource_id

    @property
    def TR(self) -> TimeRange:
        """Alias of :attr:`time_range`."""
        return self.time_range

    @property
    def attributes(self) -> dict[str, Any]:
        """The documented ``attributes`` dict (``dsource_id``, ``TR``, ``path`` ...)."""
        return {
            "dsource_id": self.dsource_id,
            "kpi_dsource_id": self.kpi_dsource_id,
            "TR": self.time_range,
            "channel_metadata": self.channel_metadata,
            "dataset_uid": self.dataset_uid,
            "source_type": self.source_type,
            "file_type": self.file_type,
            "source_mode": self.source_mode,
            "label": self.label,
            "path": self.path,
            "base_name": self.base_name,
        }

    @property
    def table(self) -> pd.DataFrame:
        """One-column (``Value``) summary table, rows as documented.

        Examples
        --------
        >>> DatasetMetadata().table.loc['sample freq', 'Value']
        '1'
        """
        tr = self.time_range
        cm = self.channel_metadata
        rows = {
            "path": self.path,
            "name": self.base_name,
            "type": self.file_type.name,
            "time range (sec)": f"[{tr.sec[0]:.3f}, {tr.sec[1]:.3f}]",
            "duration (sec)": f"{tr.dur_sec:.3f}",
            "channels": cm.num_sigs(SignalType.AMP),
            "gpio": [
                cm.num_sigs(SignalType.AIN),
                cm.num_sigs(SignalType.DIN),
                cm.num_sigs(SignalType.DOUT),
            ],
            "sample freq": f"{tr.fs:.0f}",
            "dataset UID": self.dataset_uid,
            "label": self.label,
            "hub ID (mutable)": self.dsource_id,
        }
        return pd.DataFrame({"Value": list(rows.values())}, index=list(rows))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DatasetMetadata):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in type(self).model_fields)

    def __hash__(self) -> int:
        return hash((self.dsource_id, self.dataset_uid, self.path, self.base_name))

    def __repr__(self) -> str:
        return repr(self.table)

    def __str__(self) -> str:
        return str(self.table)
