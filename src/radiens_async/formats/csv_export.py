"""XDAT -> CSV: one row per sample, a time column then one column per channel.

The header is ``time_s`` followed by the channel names; ``time_s`` is stream time in seconds
(``t_range[0] + i / fs``), values are as stored (µV, V, 0/1) with 7 significant digits (float32
precision). Written under a staging name and moved into place when complete.

Examples
--------
>>> export_csv("/data/rec_0.xdat", "/data/rec_0.csv")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from radiens_async.formats.export_control import ExportControl, sample_chunks
from radiens_async.formats.staged_output import StagedOutput
from radiens_async.formats.xdat_metadata import XdatChannel
from radiens_async.formats.xdat_reader import XdatReader

__all__ = ["csv_column_name", "export_csv"]

# Formatting text is slow (~1-2 M values/s): small chunks keep a cancel prompt.
_CSV_CHUNK_VALUES = 1 << 17


def csv_column_name(channel: XdatChannel) -> str:
    """The CSV header name of ``channel``: its name, commas replaced (they separate columns).

    Examples
    --------
    >>> csv_column_name(reader.metadata.channels[0])  # doctest: +SKIP
    'A-000'
    """
    return channel.name.replace(",", "_")


def export_csv(
    source: str | Path,
    target: str | Path,
    *,
    control: ExportControl | None = None,
    force: bool = False,
    tag: str = "",
) -> Path:
    """Write the XDAT set ``source`` as the CSV file ``target``.

    Parameters
    ----------
    source : str or Path
        The XDAT set.
    target : str or Path
        The ``.csv`` file to create.
    control : ExportControl, optional
        Stop flag and progress callback.
    force : bool
        Replace an existing target.
    tag : str
        Makes the staging name unique.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    JobCancelled
        If cancelled (no target is left).
    FileExistsError
        If the target exists and ``force`` is false.
    FormatError
        If the source is not a readable XDAT set.

    Examples
    --------
    >>> export_csv("/data/rec_0.xdat", "/data/rec_0.csv", force=True)  # doctest: +SKIP
    PosixPath('/data/rec_0.csv')
    """
    control = control or ExportControl()
    final = Path(target).absolute()
    with XdatReader(source) as reader, StagedOutput([final], tag=tag, force=force) as staged:
        names = [csv_column_name(ch) for ch in reader.metadata.channels]
        t0, fs = reader.time_range[0], reader.fs
        fmt = ["%.9f"] + ["%.7g"] * reader.n_channels
        with open(staged.staged(final), "w", newline="") as out:
            out.write(",".join(["time_s", *names]) + "\n")
            for i0, i1 in sample_chunks(reader, _CSV_CHUNK_VALUES):
                block = reader.read(i0, i1, layout="sample_major")
                times = t0 + np.arange(i0, i1, dtype=np.float64) / fs
                np.savetxt(out, np.column_stack([times, block]), fmt=fmt, delimiter=",")
                control.advance((i1 - i0) / fs)
        staged.commit()
    return final
