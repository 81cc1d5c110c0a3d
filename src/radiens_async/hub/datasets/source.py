"""What the catalog needs from a recording file, whatever its format: :class:`DatasetSource`.

A source describes its samples (rate, first sample index, channels as
:class:`~radiens_async.formats.xdat_metadata.XdatChannel`) and reads a window of them for a
selection of data columns. XDAT is read natively (memory-mapped); other formats go through neo.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.formats.xdat_metadata import XdatChannel, xdat_paths
from radiens_async.utils.enums import RadiensFileType

__all__ = ["Columns", "DatasetPath", "DatasetSource", "open_source", "resolve_dataset_path"]

Columns = slice | npt.NDArray[np.intp]

# longest first: x.xdat.json, x_data.xdat and x_timestamp.xdat all name the set x
_XDAT_SUFFIXES = ("_timestamp.xdat", "_data.xdat", ".xdat.json", ".xdat")
NEO_TYPES = (
    RadiensFileType.RHD,
    RadiensFileType.NSX,
    RadiensFileType.NWB,
    RadiensFileType.OE_DAT,
)


class DatasetSource(Protocol):
    """A recording's samples, readable by window and data column."""

    file_type: RadiensFileType
    fs: float
    first_sample: int
    n_samples: int
    t0_sec: float
    start_time: datetime | None
    channels: list[XdatChannel]
    dataset_uid: str

    def read(self, start: int, stop: int, columns: Columns) -> npt.NDArray[np.float32]:
        """Samples ``[start, stop)`` (file positions) of ``columns``, shape (columns, samples)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class DatasetPath:
    """A recording named the way the Radiens API names it.

    ``path`` is the canonical name (``<dir>/<base>.xdat`` for XDAT, the file itself otherwise),
    ``files`` the files whose size and modification time identify the version linked.
    """

    path: Path
    directory: Path
    base_name: str
    file_type: RadiensFileType
    files: tuple[Path, ...]

    def fingerprint(self) -> list[list[Any]]:
        """``[[file, size, mtime_ns], ...]``: changes when any backing file is rewritten.

        Raises
        ------
        NotFound
            When a backing file has disappeared.
        """
        out: list[list[Any]] = []
        for f in self.files:
            try:
                st = f.stat()
            except FileNotFoundError:
                raise NotFound(f"{f}: file not found (the dataset's files are gone)") from None
            out.append([str(f), st.st_size, st.st_mtime_ns])
        return out


def resolve_dataset_path(path: str | Path) -> DatasetPath:
    """Normalise a user path into a :class:`DatasetPath` and check that its files exist.

    Raises
    ------
    InvalidArgument
        For an unknown or unsupported extension.
    NotFound
        When the file (set) does not exist.
    """
    p = Path(path).expanduser().resolve()
    name = p.name
    lower = name.lower()
    for suffix in _XDAT_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            base = name[: -len(suffix)]
            return _xdat_path(p.parent, base)
    if "." not in name:  # no suffix means XDAT
        return _xdat_path(p.parent, name)
    ftype = RadiensFileType.from_path(name)
    if ftype == RadiensFileType.NSX or (lower[-4:-1] == ".ns" and lower[-1].isdigit()):
        ftype = RadiensFileType.NSX
    if ftype not in NEO_TYPES:
        raise InvalidArgument(
            f"{p}: {ftype.name} files cannot be linked (supported: XDAT, RHD, NSX, NWB, OE_DAT)"
        )
    if not p.exists():
        raise NotFound(f"{p}: file not found")
    files: tuple[Path, ...] = (p,)
    if ftype == RadiensFileType.OE_DAT:  # structure.oebin: the data live beside it
        files = (p, *sorted(p.parent.rglob("continuous.dat")))
    return DatasetPath(p, p.parent, p.stem, ftype, files)


def _xdat_path(directory: Path, base: str) -> DatasetPath:
    files = tuple(xdat_paths(directory / f"{base}.xdat"))  # the files XdatReader opens
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise NotFound(f"{directory / base}.xdat: file not found ({', '.join(missing)} missing)")
    return DatasetPath(directory / f"{base}.xdat", directory, base, RadiensFileType.XDAT, files)


def open_source(dpath: DatasetPath) -> DatasetSource:
    """Open the reader of a resolved dataset path.

    Raises
    ------
    FormatError
        When the file is corrupt or not what its extension says.
    FailedPrecondition
        When the optional reader a format needs (neo, pynwb) is not installed.
    """
    if dpath.file_type == RadiensFileType.XDAT:
        from radiens_async.hub.datasets.xdat_source import XdatSource

        return XdatSource(dpath.path)
    if dpath.file_type == RadiensFileType.NWB:
        from radiens_async.hub.datasets.nwb_source import NwbSource

        return NwbSource(dpath.path)
    from radiens_async.hub.datasets.neo_source import NeoSource

    return NeoSource(dpath.path, dpath.file_type)
