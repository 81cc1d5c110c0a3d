"""NWB recordings through pynwb: the acquisition ``ElectricalSeries`` read lazily from HDF5.

pynwb (the NWB reference library) is an optional dependency of the hub
(``pip install radiens-async[nwb]``), imported only when an NWB file is linked. neo 0.14's
``NWBIO`` cannot read lazily (its proxies fail on append), and reading eagerly would load the
whole recording; pynwb hands out the h5py dataset, so only the requested window is read.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from radiens_async.errors import FailedPrecondition, FormatError
from radiens_async.formats.xdat_metadata import XdatChannel
from radiens_async.hub.datasets.source import Columns
from radiens_async.utils.enums import RadiensFileType


def _import_pynwb() -> Any:
    try:
        import pynwb
    except ImportError:
        raise FailedPrecondition(
            "reading NWB files needs pynwb on the hub: pip install 'radiens-async[nwb]'"
        ) from None
    return pynwb


class NwbSource:
    """The first ``ElectricalSeries`` in an NWB file's acquisition, as amplifier channels in µV.

    Raises
    ------
    FailedPrecondition
        When pynwb is not installed.
    FormatError
        When the file is not NWB, holds no ElectricalSeries, or uses timestamps instead of a
        rate (irregular sampling is not a continuous recording).
    """

    file_type = RadiensFileType.NWB

    def __init__(self, path: Path) -> None:
        pynwb = _import_pynwb()
        from pynwb.ecephys import ElectricalSeries

        try:
            self._io = pynwb.NWBHDF5IO(str(path), "r")
            nwb = self._io.read()
        except Exception as exc:
            raise FormatError(f"{path}: pynwb cannot read it as NWB: {exc}") from exc
        series = [s for s in nwb.acquisition.values() if isinstance(s, ElectricalSeries)]
        if not series:
            self._io.close()
            raise FormatError(f"{path}: no ElectricalSeries in the NWB file's acquisition")
        es = series[0]
        if es.rate is None:
            self._io.close()
            raise FormatError(f"{path}: {es.name} has timestamps, not a sampling rate")
        self._data = es.data
        if len(self._data.shape) != 2:
            self._io.close()
            raise FormatError(f"{path}: {es.name} data must be 2-D (samples, channels)")
        self.fs = float(es.rate)
        self.n_samples = int(self._data.shape[0])
        self.t0_sec = float(es.starting_time or 0.0)
        self.first_sample = round(self.t0_sec * self.fs)
        start: datetime | None = nwb.session_start_time
        self.start_time = start
        n_ch = int(self._data.shape[1])
        # volts = data * conversion (* channel_conversion) + offset; the API works in µV
        conv = np.full(n_ch, float(es.conversion), np.float64)
        if es.channel_conversion is not None:
            conv = conv * np.asarray(es.channel_conversion[:], np.float64)
        self._scale = conv * 1e6
        self._offset = float(getattr(es, "offset", 0.0) or 0.0) * 1e6
        ids = list(es.electrodes.data[:]) if es.electrodes is not None else list(range(n_ch))
        table = es.electrodes.table if es.electrodes is not None else None
        self.channels = []
        for col in range(n_ch):
            x = y = z = None
            if table is not None:
                row = int(ids[col])
                x, y, z = (_coord(table, c, row) for c in ("rel_x", "rel_y", "rel_z"))
                if x is None and y is None:
                    x, y, z = (_coord(table, c, row) for c in ("x", "y", "z"))
            name = f"ch-{int(ids[col]):03d}"
            self.channels.append(
                XdatChannel(
                    name=name,
                    ntv_name=name,
                    signal_type="amp",
                    ntv_idx=col,
                    sys_idx=col,
                    site_x_um=x,
                    site_y_um=y,
                    site_z_um=z,
                )
            )
        self.dataset_uid = str(nwb.identifier) or hashlib.sha1(str(path).encode()).hexdigest()[:16]

    def read(self, start: int, stop: int, columns: Columns) -> npt.NDArray[np.float32]:
        """Samples ``[start, stop)`` of ``columns``, channel-major float32 in µV."""
        block = np.asarray(self._data[start:stop], dtype=np.float64)
        cols = np.arange(block.shape[1])[columns]
        values = block[:, cols] * self._scale[cols] + self._offset
        return np.ascontiguousarray(values.T, dtype=np.float32)

    def close(self) -> None:
        self._io.close()


def _coord(table: Any, column: str, row: int) -> float | None:
    if column not in table.colnames:
        return None
    value = float(table[column][row])
    return value if np.isfinite(value) else None
