"""XDAT -> HDF5 (h5py, the optional ``hdf5`` extra).

Layout of the file:

* ``/signals``: float32 ``(n_samples, n_channels)``, chunked; values as stored (µV, V, 0/1),
* ``/timestamps``: int64 sample index of each sample,
* ``/channels``: a compound table (``chan_name``, ``ntv_chan_name``, ``chan_type``, ``units``,
  ``ntv_idx``, ``sys_idx``),
* root attributes: ``samp_freq``, ``t_range``, ``timestamp_range``, ``start_time`` and
  ``xdat_metadata`` (the source's ``.xdat.json`` with its shape, as JSON text).

Examples
--------
>>> export_hdf5("/data/rec_0.xdat", "/data/rec_0.h5")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from radiens_async.formats.export_control import ExportControl, sample_chunks
from radiens_async.formats.staged_output import StagedOutput
from radiens_async.formats.xdat_metadata import format_start_time
from radiens_async.formats.xdat_reader import XdatReader

__all__ = ["export_hdf5"]


def export_hdf5(
    source: str | Path,
    target: str | Path,
    *,
    control: ExportControl | None = None,
    force: bool = False,
    tag: str = "",
) -> Path:
    """Write the XDAT set ``source`` as the HDF5 file ``target``.

    Parameters
    ----------
    source : str or Path
        The XDAT set.
    target : str or Path
        The ``.h5`` file to create.
    control : ExportControl, optional
        Stop flag and progress callback.
    force : bool
        Replace an existing target.
    tag : str
        Makes the staging name unique.

    Returns
    -------
    Path

    Raises
    ------
    ImportError
        If h5py is not installed (``pip install radiens-async[hdf5]``).
    JobCancelled, FileExistsError, FormatError
        As :func:`~radiens_async.formats.csv_export.export_csv`.

    Examples
    --------
    >>> import h5py  # doctest: +SKIP
    >>> with h5py.File(export_hdf5("/data/rec_0.xdat", "/data/rec_0.h5")) as f:  # doctest: +SKIP
    ...     f["signals"].shape
    (600000, 40)
    """
    try:
        import h5py
    except ImportError as exc:  # optional dependency
        raise ImportError("HDF5 export needs h5py: pip install 'radiens-async[hdf5]'") from exc
    control = control or ExportControl()
    final = Path(target).absolute()
    with XdatReader(source) as reader, StagedOutput([final], tag=tag, force=force) as staged:
        md = reader.metadata
        n, n_ch = reader.n_samples, reader.n_channels
        rows = max(1, min(n, (1 << 18) // n_ch))
        with h5py.File(staged.staged(final), "w") as f:
            f.attrs["samp_freq"] = md.fs
            f.attrs["t_range"] = np.array(md.t_range)
            f.attrs["timestamp_range"] = np.array(md.timestamp_range, dtype=np.int64)
            f.attrs["start_time"] = format_start_time(md.start_time)
            f.attrs["xdat_metadata"] = json.dumps(md.to_json_dict())
            table = np.array(
                [
                    (ch.name, ch.ntv_name, ch.chan_type, ch.units, ch.ntv_idx, ch.sys_idx)
                    for ch in md.channels
                ],
                dtype=[
                    ("chan_name", h5py.string_dtype()),
                    ("ntv_chan_name", h5py.string_dtype()),
                    ("chan_type", h5py.string_dtype()),
                    ("units", h5py.string_dtype()),
                    ("ntv_idx", np.int64),
                    ("sys_idx", np.int64),
                ],
            )
            f.create_dataset("channels", data=table)
            sig = f.create_dataset(
                "signals", shape=(n, n_ch), dtype=np.float32, chunks=(rows, n_ch) if n else None
            )
            ts = f.create_dataset("timestamps", shape=(n,), dtype=np.int64)
            for i0, i1 in sample_chunks(reader):
                sig[i0:i1] = reader.read(i0, i1, layout="sample_major")
                ts[i0:i1] = reader.timestamps[i0:i1]
                control.advance((i1 - i0) / md.fs)
        staged.commit()
    return final
