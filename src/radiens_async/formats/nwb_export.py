"""XDAT -> NWB 2 (pynwb, the optional ``nwb`` extra).

What goes where:

* amplifier channels: ``acquisition/ElectricalSeries`` -- float32 µV with ``conversion=1e-6``
  (NWB's unit is volts), one row per channel in the electrodes table (group per probe, site
  positions as ``rel_x`` / ``rel_y`` in µm, the native name as ``channel_name``),
* analog-in channels: ``acquisition/AnalogIn`` (a ``TimeSeries`` in V),
* digital in/out channels: ``acquisition/DigitalIn`` / ``DigitalOut`` (``TimeSeries``, 0/1).

Every series has ``starting_time`` (stream seconds) and ``rate``; samples are streamed from the
source chunk by chunk (an hdmf data-chunk iterator), so nothing holds the whole recording.

Examples
--------
>>> export_nwb("/data/rec_0.xdat", "/data/rec_0.nwb")  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np

from radiens_async.formats.export_control import ExportControl
from radiens_async.formats.staged_output import StagedOutput
from radiens_async.formats.xdat_metadata import XdatMetadata
from radiens_async.formats.xdat_reader import XdatReader

__all__ = ["NWB_SERIES", "export_nwb", "nwb_series_columns"]

_CHUNK_VALUES = 1 << 20
_UNKNOWN_SUBJECT: dict[str, Any] = {
    "subject_id": "unknown",
    "sex": "U",
    "description": "not recorded in the XDAT metadata",
}

#: ``(signal type, acquisition series name)`` in the order the series are written.
NWB_SERIES = (
    ("amp", "ElectricalSeries"),
    ("ain", "AnalogIn"),
    ("din", "DigitalIn"),
    ("dout", "DigitalOut"),
)


def nwb_series_columns(md: XdatMetadata) -> dict[str, list[int]]:
    """The source's data columns each acquisition series of an NWB export holds (series with
    no channel are not written), in :data:`NWB_SERIES` order.

    Examples
    --------
    >>> nwb_series_columns(reader.metadata)  # doctest: +SKIP
    {'ElectricalSeries': [0, 1, 2, 3], 'DigitalIn': [4]}
    """
    series = {
        name: [i for i, ch in enumerate(md.channels) if ch.signal_type == kind]
        for kind, name in NWB_SERIES
    }
    return {name: cols for name, cols in series.items() if cols}


def _subject_fields(subject: dict[str, Any] | None, extras: dict[str, Any]) -> dict[str, Any]:
    if subject:
        return dict(subject)
    stored = extras.get("subject")
    if isinstance(stored, dict) and stored.get("subject_id"):
        allowed = {"subject_id", "species", "sex", "age", "description", "strain", "genotype"}
        return {k: v for k, v in stored.items() if k in allowed and isinstance(v, str)}
    return dict(_UNKNOWN_SUBJECT)


def _series_iterator(reader: XdatReader, columns: list[int], control: ExportControl | None) -> Any:
    """An hdmf iterator over ``columns`` of the source, advancing ``control`` as it is read."""
    from hdmf.data_utils import GenericDataChunkIterator

    class _XdatColumns(GenericDataChunkIterator):
        def __init__(self) -> None:
            rows = max(1, min(reader.n_samples, _CHUNK_VALUES // max(1, len(columns))))
            super().__init__(
                buffer_shape=(rows, len(columns)),
                chunk_shape=(min(rows, 1 << 14), len(columns)),
                display_progress=False,
            )

        def _get_data(self, selection: tuple[slice, slice]) -> np.ndarray:
            rows, cols = selection
            i0, i1, _ = rows.indices(reader.n_samples)
            picked = columns[cols]
            block = reader.read(i0, i1, picked, layout="sample_major")
            if control is not None:
                control.advance((i1 - i0) / reader.fs)
            return block

        def _get_maxshape(self) -> tuple[int, int]:
            return (reader.n_samples, len(columns))

        def _get_dtype(self) -> np.dtype[Any]:
            return np.dtype(np.float32)

    return _XdatColumns()


def export_nwb(
    source: str | Path,
    target: str | Path,
    *,
    control: ExportControl | None = None,
    force: bool = False,
    tag: str = "",
    session_description: str = "Radiens recording exported from XDAT",
    subject: dict[str, Any] | None = None,
) -> Path:
    """Write the XDAT set ``source`` as the NWB file ``target``.

    Parameters
    ----------
    source : str or Path
        The XDAT set.
    target : str or Path
        The ``.nwb`` file to create.
    control : ExportControl, optional
        Stop flag and progress callback (progress counts the amplifier series).
    force : bool
        Replace an existing target.
    tag : str
        Makes the staging name unique.
    session_description : str
        NWB's required session description.
    subject : dict, optional
        Keyword arguments of ``pynwb.file.Subject`` (``subject_id``, ``species``, ``sex``,
        ``age`` ...). Default: a ``subject`` object in the XDAT metadata, if any; else the
        subject is described as unknown (``subject_id='unknown'``, ``sex='U'``), which
        nwbinspector reports as missing species and age -- pass the real subject (or store
        it in the ``.xdat.json``) for a file that passes it cleanly.

    Returns
    -------
    Path

    Raises
    ------
    ImportError
        If pynwb is not installed (``pip install radiens-async[nwb]``).
    JobCancelled, FileExistsError, FormatError
        As :func:`~radiens_async.formats.csv_export.export_csv`.

    Examples
    --------
    >>> from pynwb import NWBHDF5IO  # doctest: +SKIP
    >>> with NWBHDF5IO(export_nwb("/data/rec_0.xdat", "/data/rec_0.nwb"), "r") as io:
    ...     io.read().acquisition["ElectricalSeries"].data.shape  # doctest: +SKIP
    (600000, 32)
    """
    try:
        from pynwb import NWBHDF5IO, NWBFile, TimeSeries
        from pynwb.ecephys import ElectricalSeries
        from pynwb.file import Subject
    except ImportError as exc:  # optional dependency
        raise ImportError("NWB export needs pynwb: pip install 'radiens-async[nwb]'") from exc
    final = Path(target).absolute()
    with XdatReader(source) as reader, StagedOutput([final], tag=tag, force=force) as staged:
        md = reader.metadata
        chans = md.channels
        uid = md.extras.get("dataset_uid") if isinstance(md.extras.get("dataset_uid"), str) else ""
        nwb = NWBFile(
            session_description=session_description,
            identifier=uid or str(uuid.uuid4()),
            session_start_time=md.start_time,
            source_script="radiens-async file_convert",
            source_script_file_name="radiens_async/formats/nwb_export.py",
            subject=Subject(**_subject_fields(subject, md.extras)),
        )
        device = nwb.create_device(name="Radiens", description="recorded with Radiens Allego")
        columns = nwb_series_columns(md)
        amp = columns.get("ElectricalSeries", [])
        t0 = md.t_range[0]
        if amp:
            nwb.add_electrode_column(name="channel_name", description="native channel name")
            groups: dict[str, Any] = {}
            for i in amp:
                ch = chans[i]
                key = ch.probe_id or "probe"
                if key not in groups:
                    groups[key] = nwb.create_electrode_group(
                        name=key,
                        description=f"probe {key} on port {ch.port or '?'}",
                        location="unknown",
                        device=device,
                    )
                nwb.add_electrode(
                    group=groups[key],
                    location="unknown",
                    rel_x=float(ch.site_x_um) if ch.site_x_um is not None else np.nan,
                    rel_y=float(ch.site_y_um) if ch.site_y_um is not None else np.nan,
                    channel_name=ch.ntv_name,
                )
            region = nwb.create_electrode_table_region(
                list(range(len(amp))), "the amplifier channels"
            )
            nwb.add_acquisition(
                ElectricalSeries(
                    name="ElectricalSeries",
                    data=_series_iterator(reader, amp, control),
                    electrodes=region,
                    starting_time=t0,
                    rate=md.fs,
                    conversion=1e-6,
                    description="amplifier channels, stored in µV (conversion to V: 1e-6)",
                )
            )
        for name, unit in (("AnalogIn", "volts"), ("DigitalIn", "n.a."), ("DigitalOut", "n.a.")):
            cols = columns.get(name, [])
            if cols:
                nwb.add_acquisition(
                    TimeSeries(
                        name=name,
                        data=_series_iterator(reader, cols, None),
                        unit=unit,
                        starting_time=t0,
                        rate=md.fs,
                        description="channels " + ", ".join(chans[i].ntv_name for i in cols),
                    )
                )
        with NWBHDF5IO(str(staged.staged(final)), "w") as io:
            io.write(nwb)
        staged.commit()
    return final
