"""XDAT -> Kilosort2 input: a flat int16 binary of the amplifier channels plus ``params.py``.

* ``<base>.bin``: int16, C order, shape ``(n_samples, n_amplifier_channels)`` (sample-major,
  what Kilosort reads), each value ``round(µV / gain_to_uV)``, clipped to the int16 range,
* ``params.py`` beside it (phy/Kilosort convention): ``dat_path``, ``n_channels_dat``,
  ``dtype``, ``offset``, ``sample_rate``, ``hp_filtered`` and ``gain_to_uV`` (the µV per
  count, so readers such as SpikeInterface's ``read_binary`` recover µV).

The gain is Intan's 0.195 µV per count unless the recording's peak needs a coarser step to fit
int16 (a first pass over the file finds the peak). Analog-in and digital channels are not
written: Kilosort reads probe channels only.

Examples
--------
>>> export_kilosort2("/data/rec_0.xdat", "/data/ks/rec_0.bin")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from radiens_async.errors import InvalidArgument
from radiens_async.formats.export_control import ExportControl, sample_chunks
from radiens_async.formats.staged_output import StagedOutput
from radiens_async.formats.xdat_metadata import XdatMetadata
from radiens_async.formats.xdat_reader import XdatReader

__all__ = ["INTAN_UV_PER_COUNT", "export_kilosort2", "kilosort2_columns", "kilosort2_outputs"]

#: Default µV per int16 count (Intan RHD amplifiers).
INTAN_UV_PER_COUNT = 0.195
_INT16_MAX = 32767


def kilosort2_outputs(target: str | Path) -> list[Path]:
    """The files a Kilosort2 export writes: ``<base>.bin`` and ``params.py`` beside it.

    Examples
    --------
    >>> [p.name for p in kilosort2_outputs("/data/rec_0.bin")]
    ['rec_0.bin', 'params.py']
    """
    final = Path(target).absolute()
    return [final, final.with_name("params.py")]


def kilosort2_columns(md: XdatMetadata) -> list[int]:
    """The source's data columns a Kilosort2 export writes, in order: the amplifier channels.

    Examples
    --------
    >>> kilosort2_columns(reader.metadata)  # doctest: +SKIP
    [0, 1, 2, 3]
    """
    return [i for i, ch in enumerate(md.channels) if ch.signal_type == "amp"]


def export_kilosort2(
    source: str | Path,
    target: str | Path,
    *,
    control: ExportControl | None = None,
    force: bool = False,
    tag: str = "",
) -> Path:
    """Write the amplifier channels of ``source`` as a Kilosort2 int16 binary and ``params.py``.

    Parameters
    ----------
    source : str or Path
        The XDAT set.
    target : str or Path
        The ``.bin`` file to create (``params.py`` goes beside it).
    control : ExportControl, optional
        Stop flag and progress callback.
    force : bool
        Replace existing files.
    tag : str
        Makes the staging name unique.

    Returns
    -------
    Path
        The ``.bin`` file.

    Raises
    ------
    InvalidArgument
        If the source has no amplifier channels.
    JobCancelled, FileExistsError, FormatError
        As :func:`~radiens_async.formats.csv_export.export_csv`.

    Examples
    --------
    >>> export_kilosort2("/data/rec_0.xdat", "/data/ks/rec_0.bin", force=True)  # doctest: +SKIP
    PosixPath('/data/ks/rec_0.bin')
    """
    control = control or ExportControl()
    bin_path, params_path = kilosort2_outputs(target)
    with (
        XdatReader(source) as reader,
        StagedOutput([bin_path, params_path], tag=tag, force=force) as staged,
    ):
        amp = kilosort2_columns(reader.metadata)
        if not amp:
            raise InvalidArgument(f"{source}: no amplifier channels to export for Kilosort")
        fs = reader.fs
        peak = 0.0
        for i0, i1 in sample_chunks(reader):  # first pass: the peak sets the gain
            block = reader.read(i0, i1, amp, layout="sample_major")
            peak = max(peak, float(np.max(np.abs(block))) if block.size else 0.0)
            control.check()
        gain = max(INTAN_UV_PER_COUNT, peak / _INT16_MAX)
        with open(staged.staged(bin_path), "wb") as out:
            for i0, i1 in sample_chunks(reader):
                block = reader.read(i0, i1, amp, layout="sample_major")
                counts = np.rint(block / np.float32(gain))
                np.clip(counts, -_INT16_MAX - 1, _INT16_MAX, out=counts)
                out.write(counts.astype("<i2").tobytes())
                control.advance((i1 - i0) / fs)
        staged.staged(params_path).write_text(
            f"dat_path = {bin_path.name!r}\n"
            f"n_channels_dat = {len(amp)}\n"
            "dtype = 'int16'\n"
            "offset = 0\n"
            f"sample_rate = {fs!r}\n"
            "hp_filtered = False\n"
            f"gain_to_uV = {gain!r}\n"
        )
        staged.commit()
    return bin_path
