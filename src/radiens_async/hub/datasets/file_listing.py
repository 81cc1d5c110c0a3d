"""The data file sets in a directory, as ``VidereClient.list_dir`` documents them.

XDAT and ``.spikes`` sets are described from their metadata files (cheap); other recordings
(RHD, NSx, NWB, Open Ephys) are listed by their files only, without opening them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.formats.spikes_metadata import load_spikes_metadata
from radiens_async.formats.xdat_metadata import XdatMetadata, xdat_paths

__all__ = ["SORT_KEYS", "FileSetEntry", "list_data_files"]

SORT_KEYS = ("date", "name", "size", "type")
_OTHER_TYPES = {".rhd": "rhd", ".nwb": "nwb", ".oebin": "oe_dat", ".h5": "hdf5", ".csv": "csv"}


@dataclass
class FileSetEntry:
    """One data file set (the documented ``list_dir`` columns; NaN/'' when unknown)."""

    path: str
    base_name: str
    type: str
    dataset_uid: str = ""
    num_files: int = 1
    bytes_primary_data: int = 0
    bytes_meta_data: int = 0
    bytes_total: int = 0
    timestamp: str = ""
    num_chan: int = 0
    dur_sec: float = float("nan")
    samp_freq: float = float("nan")
    checksum: str = ""
    provenance: str = ""
    mtime: float = 0.0


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _xdat(directory: Path, base: str) -> FileSetEntry:
    meta_path, *data = xdat_paths(directory / f"{base}.xdat.json")
    entry = FileSetEntry(str(directory), base, "xdat", num_files=1 + sum(p.exists() for p in data))
    entry.bytes_meta_data = _size(meta_path)
    entry.bytes_primary_data = sum(_size(p) for p in data)
    try:
        md = XdatMetadata.from_json_dict(json.loads(meta_path.read_bytes()), source=meta_path)
    except Exception:  # listed anyway: the user sees a set that does not open
        entry.provenance = "unreadable metadata"
        return entry
    entry.num_chan = md.n_channels
    entry.dur_sec = md.duration_s
    entry.samp_freq = md.fs
    entry.dataset_uid = str(md.extras.get("dataset_uid", ""))
    return entry


def _spikes(directory: Path, base: str) -> FileSetEntry:
    meta_path = directory / f"{base}.spikes.json"
    data = sorted(directory.glob(f"{base}_*.spikes"))
    entry = FileSetEntry(str(directory), base, "spikes", num_files=1 + len(data))
    entry.bytes_meta_data = _size(meta_path)
    entry.bytes_primary_data = sum(_size(p) for p in data)
    try:
        md = load_spikes_metadata(meta_path)
    except Exception:
        entry.provenance = "unreadable metadata"
        return entry
    entry.num_chan = len(md.channels)
    entry.dur_sec = md.time_range[1] - md.time_range[0]
    entry.samp_freq = md.fs
    entry.provenance = md.provenance.source
    return entry


def list_data_files(
    directory: str | Path, sort_by: str = "date", include: str = "all"
) -> list[FileSetEntry]:
    """The data file sets in ``directory`` (not recursive).

    Parameters
    ----------
    directory : str or Path
        The directory ('' means ``~/radix/data``).
    sort_by : {'date', 'name', 'size', 'type'}
        Newest first for ``date``, largest first for ``size``.
    include : str
        ``'all'`` or a lowercase type (``'xdat'``, ``'spikes'``, ``'nwb'`` ...).

    Raises
    ------
    InvalidArgument
        ``'<dir> is not a directory'`` or an unknown ``sort_by``.
    NotFound
        The directory does not exist.
    """
    d = Path(directory or "~/radix/data").expanduser().resolve()
    if sort_by not in SORT_KEYS:
        raise InvalidArgument(f"{sort_by} must be in {list(SORT_KEYS)}")
    if not d.exists():
        raise NotFound(f"{d}: directory not found")
    if not d.is_dir():
        raise InvalidArgument(f"{d} is not a directory")
    entries: list[FileSetEntry] = []
    for name in sorted(os.listdir(d)):
        p = d / name
        if name.endswith(".xdat.json"):
            e = _xdat(d, name.removesuffix(".xdat.json"))
        elif name.endswith(".spikes.json"):
            e = _spikes(d, name.removesuffix(".spikes.json"))
        else:
            suffix = p.suffix.lower()
            kind = _OTHER_TYPES.get(suffix) or ("nsx" if suffix[:3] == ".ns" else None)
            if kind is None or not p.is_file():
                continue
            e = FileSetEntry(str(d), p.stem, kind, bytes_primary_data=_size(p))
        e.bytes_total = e.bytes_primary_data + e.bytes_meta_data
        e.mtime = p.stat().st_mtime
        e.timestamp = datetime.fromtimestamp(e.mtime).strftime("%Y-%m-%d %H:%M:%S")
        if include in ("all", e.type):
            entries.append(e)
    keys = {
        "date": lambda e: -e.mtime,
        "name": lambda e: e.base_name,
        "size": lambda e: -e.bytes_total,
        "type": lambda e: (e.type, e.base_name),
    }
    return sorted(entries, key=keys[sort_by])
