"""XDAT reader: memory-maps a file set and reads any time range x channel selection.

The reader trusts ``status.shape`` in the metadata and ignores bytes beyond it, so a set that is
still being written (or whose writer was killed) opens with the samples that the last metadata
rewrite describes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from radiens_async.errors import FormatError
from radiens_async.formats.xdat_metadata import (
    XdatMetadata,
    XdatPaths,
    check_ranges,
    xdat_paths,
)
from radiens_async.formats.xdat_transpose import transpose_into

if TYPE_CHECKING:
    from probeinterface import Probe, ProbeGroup

__all__ = ["ChannelSelection", "Layout", "XdatReader"]

DATA_DTYPE = np.dtype("<f4")
TIMESTAMP_DTYPE = np.dtype("<i8")

Layout = Literal["channel_major", "sample_major"]
ChannelSelection = (
    int | slice | Sequence[int] | npt.NDArray[np.integer[Any]] | npt.NDArray[np.bool_] | None
)


class XdatReader:
    """Read an XDAT file set without loading it into memory.

    Parameters
    ----------
    path : str or Path
        ``<dir>/<base>.xdat.json``, ``<dir>/<base>.xdat`` or ``<dir>/<base>`` (see
        :func:`xdat_paths`).

    Raises
    ------
    FormatError
        If the metadata file is missing, not JSON, or has a missing, mistyped or inconsistent key;
        if the data or timestamp file is missing or shorter than ``status.shape`` says; or if the
        first / last timestamp disagrees with ``status.timestamp_range``.

    Notes
    -----
    Bytes beyond ``status.shape`` are ignored: they are samples a writer appended after its last
    metadata rewrite. The reader sees the set as it was when it was opened; open a new reader to
    see later samples.

    Examples
    --------
    >>> with XdatReader("/data/allego_0.xdat.json") as rec:  # doctest: +SKIP
    ...     window = rec.read(time_range=(rec.time_range[0], rec.time_range[0] + 0.1),
    ...                       channels=slice(0, 32))
    ...     window.shape  # (channels, samples)
    (32, 3000)
    """

    def __init__(self, path: str | Path) -> None:
        self.paths: XdatPaths = xdat_paths(path)
        self._metadata = _load_metadata(self.paths.json)
        md = self._metadata
        n, n_ch = md.n_samples, md.n_channels
        _check_size(self.paths.data, n * n_ch * DATA_DTYPE.itemsize, "data", md)
        _check_size(self.paths.timestamp, n * TIMESTAMP_DTYPE.itemsize, "timestamp", md)
        check_ranges(md, f"{self.paths.json}: ")
        self._data: npt.NDArray[np.float32] | None
        self._timestamps: npt.NDArray[np.int64] | None
        if n == 0:
            self._data = np.empty((0, n_ch), DATA_DTYPE)
            self._timestamps = np.empty(0, TIMESTAMP_DTYPE)
        else:
            try:
                self._data = np.memmap(self.paths.data, DATA_DTYPE, "r", shape=(n, n_ch))
                self._timestamps = np.memmap(self.paths.timestamp, TIMESTAMP_DTYPE, "r", shape=(n,))
            except (OSError, ValueError) as exc:
                raise FormatError(
                    f"{self.paths.data.parent}: cannot map the XDAT files: {exc}"
                ) from exc
            first, last = int(self._timestamps[0]), int(self._timestamps[-1])
            if (first, last) != md.timestamp_range:
                raise FormatError(
                    f"{self.paths.timestamp}: holds sample indices {first}..{last} but"
                    f" {self.paths.json.name} says status.timestamp_range ="
                    f" {list(md.timestamp_range)}"
                )

    # ---------------------------------------------------------------- properties
    @property
    def metadata(self) -> XdatMetadata:
        """The parsed ``.xdat.json``."""
        return self._metadata

    @property
    def fs(self) -> float:
        """Sampling rate in Hz."""
        return self._metadata.fs

    @property
    def n_samples(self) -> int:
        """Number of samples per channel (``status.shape[0]``)."""
        return self._metadata.n_samples

    @property
    def n_channels(self) -> int:
        """Number of channels (``status.shape[1]``)."""
        return self._metadata.n_channels

    @property
    def time_range(self) -> tuple[float, float]:
        """``status.t_range``: start and stop in seconds of stream time."""
        return self._metadata.t_range

    @property
    def timestamps(self) -> npt.NDArray[np.int64]:
        """Sample index of every sample (read-only memory map, ``n_samples`` long)."""
        return self._mapped()[1]

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._data is None

    # ---------------------------------------------------------------- reading
    def read(
        self,
        start: int | None = None,
        stop: int | None = None,
        channels: ChannelSelection = None,
        *,
        time_range: tuple[float, float] | None = None,
        layout: Layout = "channel_major",
    ) -> npt.NDArray[np.float32]:
        """Read a window of samples for a selection of channels.

        Parameters
        ----------
        start, stop : int, optional
            Sample positions in the file (0 is the first stored sample), half-open; default the
            whole file. Not allowed together with ``time_range``.
        channels : int, slice, sequence of int or bool mask, optional
            Data-column indices to read (default all). A contiguous selection (slice, or a list of
            consecutive indices) is the fastest.
        time_range : tuple of float, optional
            ``(t_start, t_stop)`` in seconds of stream time; mapped to sample positions by
            ``round((t - t_range[0]) * fs)``.
        layout : {'channel_major', 'sample_major'}
            ``'channel_major'`` (default) returns shape ``(n_channels, n_samples)`` like the
            Radiens API's signals; ``'sample_major'`` returns ``(n_samples, n_channels)``, the
            file's own layout, which saves a transpose.

        Returns
        -------
        ndarray of float32
            A new C-contiguous array (not a view into the file). Units: µV for amplifier
            channels, V for analog in, 0/1 for digital.

        Raises
        ------
        ValueError
            If the window is outside the file, both ``start``/``stop`` and ``time_range`` are
            given, a channel index is out of range, or ``layout`` is unknown.

        Examples
        --------
        >>> with XdatReader("/data/allego_0.xdat") as rec:  # doctest: +SKIP
        ...     rec.read(0, 300, channels=[0, 5, 9]).shape
        (3, 300)
        """
        data = self._mapped()[0]
        i0, i1 = self._window(start, stop, time_range)
        sel = self._channels(channels)
        block = data[i0:i1]
        if layout == "sample_major":
            if isinstance(sel, slice):
                return np.array(block[:, sel], dtype=np.float32, order="C")
            return np.take(block, sel, axis=1).view(np.ndarray)
        if layout == "channel_major":
            if isinstance(sel, slice):
                part = block[:, sel]
                out = np.empty(part.shape[::-1], np.float32)
                transpose_into(out, part)  # SIMD when available: faster than numpy's .T copy
                return out
            return np.take(block.T, sel, axis=0).view(np.ndarray)
        raise ValueError(f"layout must be 'channel_major' or 'sample_major', not {layout!r}")

    def sample_index(self, t: float) -> int:
        """Return the file position of stream time ``t`` (seconds).

        Parameters
        ----------
        t : float
            Seconds of stream time.

        Returns
        -------
        int
            ``round((t - t_range[0]) * fs)``; not clipped to the file.

        Examples
        --------
        >>> with XdatReader("/data/allego_0.xdat") as rec:  # doctest: +SKIP
        ...     rec.sample_index(rec.time_range[0] + 1.0)
        30000
        """
        return round((t - self._metadata.t_range[0]) * self._metadata.fs)

    def _window(
        self, start: int | None, stop: int | None, time_range: tuple[float, float] | None
    ) -> tuple[int, int]:
        n = self._metadata.n_samples
        if time_range is not None:
            if start is not None or stop is not None:
                raise ValueError("give either start/stop or time_range, not both")
            t0, t1 = time_range
            start, stop = self.sample_index(t0), self.sample_index(t1)
        i0 = 0 if start is None else int(start)
        i1 = n if stop is None else int(stop)
        if not 0 <= i0 <= i1 <= n:
            raise ValueError(
                f"window [{i0}, {i1}) is outside the file's {n} samples"
                f" (time range {list(self._metadata.t_range)} s)"
            )
        return i0, i1

    def _channels(self, channels: ChannelSelection) -> slice | npt.NDArray[np.intp]:
        n_ch = self._metadata.n_channels
        if channels is None:
            return slice(None)
        if isinstance(channels, slice):
            return channels
        idx = np.asarray(channels)
        if idx.dtype == np.bool_:
            if idx.shape != (n_ch,):
                raise ValueError(f"a channel mask must have {n_ch} entries, not {idx.shape}")
            idx = np.flatnonzero(idx)
        elif idx.ndim > 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise ValueError(f"channels must be indices, a slice or a mask, not {channels!r}")
        idx = idx.astype(np.intp).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= n_ch):
            raise ValueError(
                f"channel indices must be in [0, {n_ch}), got {idx.min()}..{idx.max()}"
            )
        if idx.size and np.array_equal(idx, np.arange(idx[0], idx[0] + idx.size)):
            return slice(int(idx[0]), int(idx[0]) + idx.size)
        return idx

    def _mapped(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        if self._data is None or self._timestamps is None:
            raise ValueError(f"XdatReader({self.paths.json.name}) is closed")
        return self._data, self._timestamps

    # ---------------------------------------------------------------- geometry
    def to_probeinterface(self) -> Probe | ProbeGroup:
        """Return the amplifier channels' sites as a probeinterface probe.

        Returns
        -------
        probeinterface.Probe or probeinterface.ProbeGroup
            A 2-D probe in µm (one per distinct ``probe_id``; a ``ProbeGroup`` when there are
            several). Contact ids are the native channel names, device channel indices the data
            columns, shank ids the shanks.

        Raises
        ------
        ImportError
            If probeinterface is not installed (it is an optional dependency).
        FormatError
            If there are no amplifier channels or a site has no x/y position.

        Examples
        --------
        >>> with XdatReader("/data/allego_0.xdat") as rec:  # doctest: +SKIP
        ...     probe = rec.to_probeinterface()
        ...     probe.contact_positions.shape
        (32, 2)
        """
        try:
            import probeinterface
        except ImportError as exc:  # optional dependency
            raise ImportError("to_probeinterface() needs probeinterface installed") from exc
        amp = [
            (col, ch) for col, ch in enumerate(self._metadata.channels) if ch.signal_type == "amp"
        ]
        if not amp:
            raise FormatError(f"{self.paths.json}: no amplifier channels to export as a probe")
        unplaced = [ch.name for _, ch in amp if ch.site_x_um is None or ch.site_y_um is None]
        if unplaced:
            raise FormatError(
                f"{self.paths.json}: sapiens_base.biointerface_map has no site_x/site_y for"
                f" channel(s) {unplaced[:5]}"
            )
        ids = [ch.ntv_name for _, ch in amp]
        if len(set(ids)) != len(ids):
            raise FormatError(
                f"{self.paths.json}: sapiens_base.biointerface_map.ntv_chan_name repeats a name"
                " among the amplifier channels; contact ids must be unique"
            )
        probes = []
        for probe_id in dict.fromkeys(ch.probe_id for _, ch in amp):
            members = [(col, ch) for col, ch in amp if ch.probe_id == probe_id]
            probe = probeinterface.Probe(ndim=2, si_units="um", model_name=probe_id or None)
            shapes, params = zip(
                *(_contact_shape(ch.site_shape, ch.site_area_um2) for _, ch in members), strict=True
            )
            probe.set_contacts(
                positions=np.array([[ch.site_x_um, ch.site_y_um] for _, ch in members]),
                shapes=np.array(shapes),
                shape_params=list(params),
                contact_ids=[ch.ntv_name for _, ch in members],
                shank_ids=["" if ch.shank is None else str(ch.shank) for _, ch in members],
            )
            probe.set_device_channel_indices([col for col, _ in members])
            probes.append(probe)
        if len(probes) == 1:
            return probes[0]
        group = probeinterface.ProbeGroup()
        for probe in probes:
            group.add_probe(probe)
        return group

    # ---------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Release the memory maps. Arrays returned by :meth:`read` stay valid.

        Examples
        --------
        >>> rec = XdatReader("/data/allego_0.xdat")  # doctest: +SKIP
        >>> rec.close()  # doctest: +SKIP
        """
        self._data = None
        self._timestamps = None

    def __enter__(self) -> XdatReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        md = self._metadata
        return (
            f"XdatReader({str(self.paths.json)!r}, fs={md.fs:g}, n_samples={md.n_samples},"
            f" n_channels={md.n_channels})"
        )


def _load_metadata(path: Path) -> XdatMetadata:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{path}: metadata file not found") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot read the metadata file ({exc})") from None
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"{path}: not valid JSON ({exc})") from None
    return XdatMetadata.from_json_dict(doc, source=path)


def _check_size(path: Path, need: int, what: str, md: XdatMetadata) -> None:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise FormatError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot stat the {what} file ({exc})") from None
    if size < need:
        raise FormatError(
            f"{path}: {what} file is truncated: {size} bytes, status.shape"
            f" {[md.n_samples, md.n_channels]} needs {need}"
        )


def _contact_shape(shape: str | None, area_um2: float | None) -> tuple[str, dict[str, float]]:
    kind = (shape or "circle").lower()
    area = area_um2 if area_um2 is not None and area_um2 > 0 else None
    if kind in ("square", "rect", "rectangle"):
        width = float(np.sqrt(area)) if area else 10.0
        return "square", {"width": width}
    radius = float(np.sqrt(area / np.pi)) if area else 5.0
    return "circle", {"radius": radius}
