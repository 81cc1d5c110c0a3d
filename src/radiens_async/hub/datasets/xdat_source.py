"""XDAT as a :class:`~radiens_async.hub.datasets.source.DatasetSource`: memory-mapped, native."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from radiens_async.formats.xdat_metadata import XdatChannel
from radiens_async.formats.xdat_reader import XdatReader
from radiens_async.hub.datasets.source import Columns
from radiens_async.utils.enums import RadiensFileType


class XdatSource:
    """An XDAT file set read through :class:`XdatReader` (nothing is loaded into memory).

    Parameters
    ----------
    path : Path
        ``<dir>/<base>.xdat`` (or any name :func:`xdat_paths` accepts).
    """

    file_type = RadiensFileType.XDAT

    def __init__(self, path: Path) -> None:
        self.reader = XdatReader(path)
        md = self.reader.metadata
        self.fs: float = md.fs
        self.first_sample: int = md.timestamp_range[0] if md.n_samples else 0
        self.n_samples: int = md.n_samples
        self.t0_sec: float = md.t_range[0]
        self.start_time: datetime | None = md.start_time
        self.channels: list[XdatChannel] = list(md.channels)
        uid = md.extras.get("dataset_uid") if isinstance(md.extras, dict) else None
        self.dataset_uid: str = str(uid) if uid else _derived_uid(md.start_time, self.fs, path)

    def read(self, start: int, stop: int, columns: Columns) -> npt.NDArray[np.float32]:
        """Samples ``[start, stop)`` of ``columns``, channel-major float32."""
        return self.reader.read(start, stop, columns)

    def close(self) -> None:
        self.reader.close()


def _derived_uid(start_time: datetime, fs: float, path: Path) -> str:
    """A stable UID for a set that stores none: its start time, rate and base name."""
    key = f"{start_time.isoformat()}|{fs:g}|{Path(path).name}".encode()
    return hashlib.sha1(key).hexdigest()[:16]
