"""Describe what a finished Curate job wrote, as the target's :class:`DatasetMetadata`.

An XDAT target describes itself. The other targets store less than XDAT does (a CSV header
has only names; a Kilosort2 binary has no channel identities and no time origin), so their
description combines two things:

* **what the target file holds**, read back from it: its channels (the CSV header, the HDF5
  channel table, the NWB series' widths, ``params.py``'s ``n_channels_dat``) and its samples
  (the first and last CSV times, the HDF5 ``timestamps``, the NWB ``starting_time`` and
  series length, the binary's size);
* **who those channels are**, taken from the source the job read, through the same column rule
  the exporter used (:func:`~radiens_async.formats.kilosort2_export.kilosort2_columns`,
  :func:`~radiens_async.formats.nwb_export.nwb_series_columns`).

The two must agree (a source rewritten since the job no longer describes the target): a
mismatch is a :class:`~radiens_async.errors.FormatError`.

Examples
--------
>>> meta = describe_export(RadiensFileType.KILOSORT2, "/d/ks/rec.bin", "/d/rec.xdat")
... # doctest: +SKIP
>>> meta.channel_metadata.num_sigs_total()  # doctest: +SKIP
32
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from radiens_async.errors import FormatError
from radiens_async.formats.csv_export import csv_column_name
from radiens_async.formats.kilosort2_export import kilosort2_columns, kilosort2_outputs
from radiens_async.formats.kilosort_folder import read_params
from radiens_async.formats.nwb_export import nwb_series_columns
from radiens_async.formats.xdat_metadata import XdatChannel, XdatMetadata
from radiens_async.hub.datasets.describe import describe_dataset_file, describe_source
from radiens_async.hub.datasets.source import Columns, DatasetPath, resolve_dataset_path
from radiens_async.hub.datasets.xdat_source import XdatSource
from radiens_async.models.dataset_metadata import DatasetMetadata
from radiens_async.utils.enums import RadiensFileType

__all__ = ["WrittenExtent", "describe_export", "describe_job_target", "written_extent"]


@dataclass(frozen=True)
class WrittenExtent:
    """Which part of the source a target holds.

    Attributes
    ----------
    columns : list of int
        The source's data columns, in the target's channel order.
    start : int
        File position (sample) in the source of the target's first sample.
    n_samples : int
        Samples per channel in the target.
    """

    columns: list[int]
    start: int
    n_samples: int


def _mismatch(target: Path, what: str) -> FormatError:
    return FormatError(f"{target}: {what}; it does not match its source (rewritten since?)")


def _csv_extent(target: Path, md: XdatMetadata) -> WrittenExtent:
    """CSV: header ``time_s,<names>``, one row per sample; first and last rows give the span."""
    with open(target, "rb") as f:
        header = f.readline().decode()
        first = f.readline().decode()
        f.seek(0, io.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - max(65536, 4 * len(first))))  # holds the whole last row
        last = f.read().decode().rstrip("\n").rsplit("\n", 1)[-1]
    names = next(csv.reader([header.strip()]))
    if not names or names[0] != "time_s":
        raise FormatError(f"{target}: not a CSV export (no time_s column)")
    by_name = {csv_column_name(ch): i for i, ch in enumerate(md.channels)}
    missing = [n for n in names[1:] if n not in by_name]
    if missing:
        raise _mismatch(target, f"channels {missing[:3]} are not in the source")
    columns = [by_name[n] for n in names[1:]]
    if not first.strip():
        return WrittenExtent(columns, 0, 0)
    t_first, t_last = float(first.split(",", 1)[0]), float(last.split(",", 1)[0])
    start = round((t_first - md.t_range[0]) * md.fs)
    return WrittenExtent(columns, start, round((t_last - t_first) * md.fs) + 1)


def _hdf5_extent(target: Path, md: XdatMetadata) -> WrittenExtent:
    """HDF5: ``/channels`` names the columns of ``/signals``; ``/timestamps`` the samples."""
    import h5py  # the file was written with it: the hdf5 extra is installed

    with h5py.File(target, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["channels"]["chan_name"]]
        n_samples, width = f["signals"].shape
        first_ts = int(f["timestamps"][0]) if n_samples else md.timestamp_range[0]
    by_name = {ch.name: i for i, ch in enumerate(md.channels)}
    if width != len(names) or any(n not in by_name for n in names):
        raise _mismatch(target, "its channel table")
    return WrittenExtent([by_name[n] for n in names], first_ts - md.timestamp_range[0], n_samples)


def _nwb_extent(target: Path, md: XdatMetadata) -> WrittenExtent:
    """NWB: the acquisition series, each as wide as its share of the source's columns."""
    import h5py  # pynwb writes NWB through h5py

    series = nwb_series_columns(md)
    columns: list[int] = []
    lengths, starts = set(), set()
    with h5py.File(target, "r") as f:
        acquisition = f.get("acquisition", {})
        if set(acquisition) != set(series):
            raise _mismatch(target, f"series {sorted(acquisition)}, not {sorted(series)}")
        for name, cols in series.items():
            data = acquisition[name]["data"]
            n = data.shape[0]
            if (data.shape[1] if data.ndim > 1 else 1) != len(cols):
                raise _mismatch(target, f"{name} has {data.shape} values")
            lengths.add(n)
            starts.add(float(acquisition[name]["starting_time"][()]))
            columns += cols
    if len(lengths) != 1 or len(starts) != 1:
        raise FormatError(f"{target}: series of different lengths or start times")
    start = round((starts.pop() - md.t_range[0]) * md.fs)
    return WrittenExtent(columns, start, lengths.pop())


def _kilosort2_extent(target: Path, md: XdatMetadata) -> WrittenExtent:
    """Kilosort2: ``params.py`` gives the channel count; the binary's size the samples."""
    bin_path, params_path = kilosort2_outputs(target)
    n_chan = read_params(params_path).get("n_channels_dat")
    columns = kilosort2_columns(md)
    if not isinstance(n_chan, int) or n_chan != len(columns):
        raise _mismatch(target, f"params.py n_channels_dat = {n_chan!r}")
    n_samples, rest = divmod(bin_path.stat().st_size, 2 * n_chan)
    if rest:
        raise FormatError(f"{bin_path}: size is not a whole number of int16 x {n_chan} rows")
    return WrittenExtent(columns, 0, n_samples)  # the export starts at the source's first sample


_EXTENT_READERS: dict[RadiensFileType, Callable[[Path, XdatMetadata], WrittenExtent]] = {
    RadiensFileType.CSV: _csv_extent,
    RadiensFileType.HDF5: _hdf5_extent,
    RadiensFileType.NWB: _nwb_extent,
    RadiensFileType.KILOSORT2: _kilosort2_extent,
}


def written_extent(kind: RadiensFileType, target: str | Path, md: XdatMetadata) -> WrittenExtent:
    """Read back which channels and samples of the source ``md`` a ``kind`` target holds.

    Parameters
    ----------
    kind : RadiensFileType
        CSV, HDF5, NWB or KILOSORT2.
    target : str or Path
        The written file (Kilosort2: the ``.bin``).
    md : XdatMetadata
        The source's metadata.

    Returns
    -------
    WrittenExtent

    Raises
    ------
    FormatError
        If the target does not match the source, or ``kind`` is not an export type.

    Examples
    --------
    >>> written_extent(RadiensFileType.CSV, "/d/rec.csv", md).n_samples  # doctest: +SKIP
    600000
    """
    reader = _EXTENT_READERS.get(kind)
    if reader is None:
        raise FormatError(f"{kind.name} is not an export target type")
    extent = reader(Path(target), md)
    if extent.start < 0 or extent.start + extent.n_samples > md.n_samples:
        raise _mismatch(Path(target), f"samples [{extent.start}, +{extent.n_samples})")
    return extent


class _WrittenWindow:
    """The part of a source a target holds, as a :class:`DatasetSource` (channels in the
    target's order, samples counted from the target's first)."""

    def __init__(self, source: XdatSource, extent: WrittenExtent, kind: RadiensFileType) -> None:
        self._source = source
        self._extent = extent
        self.file_type = kind
        self.fs: float = source.fs
        self.first_sample: int = source.first_sample + extent.start
        self.n_samples: int = extent.n_samples
        self.t0_sec: float = source.t0_sec + extent.start / source.fs
        self.start_time: datetime | None = source.start_time
        self.channels: list[XdatChannel] = [source.channels[c] for c in extent.columns]
        self.dataset_uid: str = source.dataset_uid

    def read(self, start: int, stop: int, columns: Columns) -> npt.NDArray[np.float32]:
        """Samples ``[start, stop)`` of the target's ``columns``, as the source holds them."""
        picked = np.asarray(self._extent.columns, dtype=np.intp)[columns]
        offset = self._extent.start
        return self._source.read(offset + start, offset + stop, picked)

    def close(self) -> None:
        self._source.close()


def describe_export(
    kind: RadiensFileType, target: str | Path, source: str | Path
) -> DatasetMetadata:
    """The :class:`DatasetMetadata` of an exported ``target``: its channels and time range.

    Parameters
    ----------
    kind : RadiensFileType
        The target's type (CSV, HDF5, NWB, KILOSORT2).
    target : str or Path
        The written file; its stem is the dataset id, label and base name.
    source : str or Path
        The XDAT set the export read.

    Returns
    -------
    DatasetMetadata
        ``file_type`` ``kind``, the channels the target holds (renumbered in its order),
        ``TR`` spanning its samples.

    Raises
    ------
    NotFound
        If the source is gone.
    FormatError
        If the target does not match the source.

    Examples
    --------
    >>> describe_export(RadiensFileType.CSV, "/d/rec.csv", "/d/rec.xdat").TR.N  # doctest: +SKIP
    600000
    """
    result = Path(target).absolute()
    xdat = XdatSource(resolve_dataset_path(source).path)  # NotFound if it is gone
    try:
        window = _WrittenWindow(xdat, written_extent(kind, result, xdat.reader.metadata), kind)
        files = tuple(kilosort2_outputs(result)) if kind is RadiensFileType.KILOSORT2 else (result,)
        dpath = DatasetPath(result, result.parent, result.stem, kind, files)
        return describe_source(window, dpath, result.stem)
    finally:
        xdat.close()


def describe_job_target(result_path: str | Path, source: str | Path) -> DatasetMetadata:
    """The metadata of a finished job's target: an XDAT set read, or an export described.

    Examples
    --------
    >>> describe_job_target("/d/rec_bp.xdat.json", "/d/rec.xdat").TR.fs  # doctest: +SKIP
    30000.0
    """
    result = Path(result_path)
    if result.name.endswith(".xdat.json"):
        return describe_dataset_file(result, result.name[: -len(".xdat.json")])
    return describe_export(RadiensFileType.from_path(result.name), result, source)
