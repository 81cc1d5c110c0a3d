"""Convert Kilosort / phy output into a ``.spikes`` set (``convert_kilosort_output``).

Mapping (documented in ``docs/spikes-format.md``):

* **time**: sample index = ``spike_times`` + the recording's first sample index (0 without a
  recording), exactly; the searched span is the recording's, else the data file's, else up to
  the last spike.
* **channel**: the peak channel of the spike's template (largest peak-to-peak of the unwhitened
  template), through ``channel_map`` to a data-file column, then to the ntv index of that
  amplifier channel of the recording (the column itself without a recording).
* **label** = ``cluster_id + 1`` (0 means unlabeled in a ``.spikes`` set), unless the cluster's
  group is in ``unlabeled_groups``; the units table keeps every cluster id, group and KSLabel.
* **waveform**: the spike's template on its peak channel, scaled per ``amplitude_scaling``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from radiens_async.errors import FormatError, InvalidArgument
from radiens_async.formats.kilosort_folder import KilosortOutput, load_kilosort_output
from radiens_async.formats.spikes_metadata import (
    INT32_MAX,
    SPIKES_SUFFIX,
    SpikesChannel,
    SpikesPaths,
    SpikesUnit,
    spikes_paths,
)
from radiens_async.formats.spikes_writer import SpikesWriter
from radiens_async.formats.xdat_metadata import XdatMetadata, xdat_paths
from radiens_async.formats.xdat_reader import XdatReader

__all__ = ["KILOSORT_PROVENANCE", "AmplitudeScaling", "convert_kilosort_output"]

#: ``provenance.source`` of the sets this module writes.
KILOSORT_PROVENANCE = "kilosort"

AmplitudeScaling = Literal["auto", "kilosort", "spikeinterface", "none"]
_SCALINGS = ("auto", "kilosort", "spikeinterface", "none")
# Spikes converted per write: bounds memory at ~_CHUNK * n_pts * 12 bytes.
_CHUNK = 1 << 16


def convert_kilosort_output(
    source_bio_path: str | Path = "",
    source_bio_basename: str = "",
    source_vex_path: str | Path = "",
    source_vex_basename: str = "",
    sink_bio_path: str | Path = "",
    sink_bio_basename: str = "",
    *,
    amplitude_scaling: AmplitudeScaling = "auto",
    gain_to_uv: float = 1.0,
    pre_pts: int | None = None,
    unlabeled_groups: Collection[str] = (),
    note: str = "",
) -> SpikesPaths:
    """Convert a Kilosort / phy output folder into a new ``.spikes`` set.

    The parameters mirror the documented ``spikes().convert_kilosort_output``: *bio* is spike
    data, *vex* the voltage recording.

    Parameters
    ----------
    source_bio_path : str or Path
        The Kilosort output folder (``params.py``, ``spike_times.npy`` ...), or its parent
        when ``source_bio_basename`` names a sub-folder of it. Required.
    source_bio_basename : str
        Name of the output folder inside ``source_bio_path`` (if it is one); otherwise only
        recorded in the provenance (e.g. the base name of the ``.bin`` that was sorted).
    source_vex_path, source_vex_basename : str or Path, str
        The XDAT recording that was sorted: ``<source_vex_path>/<source_vex_basename>.xdat``
        (or ``source_vex_path`` alone naming the recording). Optional; when given, the sample
        rate must match, its amplifier channels give the spikes' ntv indices, names and
        dataset indices, and its first sample index is added to the spike times.
    sink_bio_path, sink_bio_basename : str or Path, str
        Directory and base name of the ``.spikes`` set to create. Default: the recording's
        directory and base name (the set sits next to the recording), else the Kilosort folder
        and its name.
    amplitude_scaling : {'auto', 'kilosort', 'spikeinterface', 'none'}
        How a spike's waveform is derived from its template ``w`` (unwhitened, on the peak
        channel) and ``amplitudes.npy``: ``'kilosort'``: ``gain_to_uv * amplitude * w``
        (Kilosort's amplitudes are scale factors); ``'spikeinterface'``:
        ``w * amplitude / w[peak]`` (SpikeInterface exports the spike's µV value at the
        template's peak); ``'none'``: ``gain_to_uv * w``. ``'auto'`` picks ``'spikeinterface'``
        for a folder written by SpikeInterface's ``export_to_phy``, else ``'kilosort'`` when
        ``amplitudes.npy`` exists, else ``'none'``.
    gain_to_uv : float
        µV per unit of the sorted data file (templates are in its units). Default 1 (data in
        µV, as Radiens' KILOSORT2 export writes it).
    pre_pts : int, optional
        Waveform points before the spike time. Default: the median position of the templates'
        extremum on their peak channel (Kilosort aligns templates there).
    unlabeled_groups : collection of str
        Curation groups (``cluster_group.tsv``, else ``cluster_KSLabel.tsv``) whose spikes are
        stored unlabeled (label 0), e.g. ``{'noise'}``. Default none: every cluster is a unit.
    note : str
        Free text stored in the provenance.

    Returns
    -------
    SpikesPaths
        The files of the new set.

    Raises
    ------
    InvalidArgument
        If an argument is missing or out of range (also a ``ValueError``).
    FormatError
        If a Kilosort file or the recording is missing, unreadable or inconsistent (lengths,
        ids, sample rate, channel counts, spikes outside the recording ...). Nothing is written.
    FileExistsError
        If any file of the target set exists (a set is never overwritten).
    FileNotFoundError, NotADirectoryError, PermissionError
        If the target directory does not exist or is not writable.

    Notes
    -----
    The units table of the set lists every cluster: ``label``, the original ``cluster_id``,
    ``group``, ``ks_label``, its spike count and the channel most of its spikes are on. The
    inverse mapping is ``cluster_id = label - 1`` for every labeled spike.

    Examples
    --------
    >>> paths = convert_kilosort_output(
    ...     "/data/rec_0_kilosort", source_vex_path="/data", source_vex_basename="rec_0",
    ...     unlabeled_groups={"noise"})  # doctest: +SKIP
    >>> paths.json.name  # doctest: +SKIP
    'rec_0.spikes.json'
    """
    if amplitude_scaling not in _SCALINGS:
        raise InvalidArgument(
            f"amplitude_scaling must be one of {list(_SCALINGS)}, not {amplitude_scaling!r}"
        )
    if (
        isinstance(gain_to_uv, bool)
        or not isinstance(gain_to_uv, int | float)
        or not (math.isfinite(gain_to_uv) and gain_to_uv > 0)
    ):
        raise InvalidArgument(f"gain_to_uv must be a positive number, not {gain_to_uv!r}")
    if isinstance(unlabeled_groups, str) or not all(isinstance(g, str) for g in unlabeled_groups):
        raise InvalidArgument("unlabeled_groups must be a collection of group names (str)")
    folder = _kilosort_folder(source_bio_path, source_bio_basename)
    recording = _open_recording(source_vex_path, source_vex_basename)
    target = _sink(sink_bio_path, sink_bio_basename, recording, folder)

    ks = load_kilosort_output(folder)
    if pre_pts is None:
        pre_pts = _default_pre_pts(ks)
    elif isinstance(pre_pts, bool) or not isinstance(pre_pts, int) or not 0 <= pre_pts < ks.n_pts:
        raise InvalidArgument(f"pre_pts must be an int in [0, {ks.n_pts}), not {pre_pts!r}")
    mode = _scaling_mode(amplitude_scaling, ks)
    layout = _layout(ks, recording)
    units, labels_of_cluster = _units(ks, layout, set(unlabeled_groups))

    details: dict[str, Any] = {
        "sorter_output": str(folder),
        "source_bio_basename": source_bio_basename,
        "params": {k: v for k, v in ks.params.items() if _is_json_scalar(v)},
        "amplitude_scaling": mode,
        "gain_to_uv": float(gain_to_uv),
        "unwhitened": ks.unwhitened,
        "spikeinterface_export": ks.spikeinterface_export,
        "sample_offset": layout.offset,
        "label_rule": "label = cluster_id + 1",
        "unlabeled_groups": sorted(unlabeled_groups),
    }
    if note:
        details["note"] = note
    writer = SpikesWriter(
        target,
        ks.fs,
        ks.n_pts,
        pre_pts,
        channels=layout.channels,
        units=units,
        source_recording=recording.paths.json.name.split(".")[0] if recording else None,
        provenance=KILOSORT_PROVENANCE,
        provenance_details=details,
        start_sample=layout.span[0],
    )
    try:
        _write_spikes(writer, ks, layout, labels_of_cluster, mode, float(gain_to_uv))
        writer.close()
    except BaseException:
        writer.close()
        for path in writer.paths:
            path.unlink(missing_ok=True)
        raise
    return writer.paths


@dataclass(frozen=True)
class _Layout:
    """Where the sorter's channels and samples sit in the recording (or in the data file)."""

    ntv_of_row: npt.NDArray[np.int64]  # ntv index of each channel_map row
    channels: list[SpikesChannel]
    offset: int  # added to spike_times
    span: tuple[int, int]  # [first, stop) samples searched


@dataclass(frozen=True)
class _Recording:
    paths: Any
    metadata: XdatMetadata
    first_sample: int


def _kilosort_folder(path: str | Path, basename: str) -> Path:
    if not str(path):
        raise InvalidArgument("source_bio_path (the Kilosort output folder) is required")
    folder = Path(path)
    if basename and (folder / basename).is_dir():
        return folder / basename
    return folder


def _open_recording(path: str | Path, basename: str) -> _Recording | None:
    if not str(path) and not basename:
        return None
    target = Path(path) / basename if basename else Path(path)
    try:
        paths = xdat_paths(target)
    except ValueError as exc:
        raise InvalidArgument(f"source_vex: {exc}") from None
    with XdatReader(target) as rec:
        first = int(rec.timestamps[0]) if rec.n_samples else rec.metadata.timestamp_range[0]
        return _Recording(paths, rec.metadata, first)


def _sink(path: str | Path, basename: str, recording: _Recording | None, folder: Path) -> Path:
    if basename:
        base = basename.removesuffix(".json").removesuffix(SPIKES_SUFFIX)
    elif recording is not None:
        base = recording.paths.json.name.split(".")[0]
    else:
        base = folder.resolve().name
    if not base or "." in base or "/" in base or "\\" in base:
        raise InvalidArgument(
            f"sink_bio_basename {base!r} is not a valid spikes base name (non-empty, no '.' or"
            " path separators); give one explicitly"
        )
    if str(path):
        directory = Path(path)
    elif recording is not None:
        directory = recording.paths.json.parent
    else:
        directory = folder
    # the suffix keeps the writer from taking a directory of the same name for the target
    target = directory / (base + SPIKES_SUFFIX)
    for existing in spikes_paths(target):
        if existing.exists():
            raise FileExistsError(f"{existing} already exists; a spikes set is never overwritten")
    return target


def _default_pre_pts(ks: KilosortOutput) -> int:
    peaks = np.argmax(np.abs(ks.peak_waveforms), axis=1)
    return int(min(np.median(peaks), ks.n_pts - 1))


def _scaling_mode(requested: str, ks: KilosortOutput) -> str:
    if requested in ("kilosort", "spikeinterface") and ks.amplitudes is None:
        raise FormatError(
            f"{ks.folder / 'amplitudes.npy'}: file not found (needed by amplitude_scaling="
            f"{requested!r})"
        )
    if requested != "auto":
        return requested
    if ks.amplitudes is None:
        return "none"
    return "spikeinterface" if ks.spikeinterface_export else "kilosort"


def _layout(ks: KilosortOutput, recording: _Recording | None) -> _Layout:
    columns = ks.channel_map
    pos = ks.channel_positions
    last = int(ks.spike_times[-1]) if ks.n_spikes else -1
    if recording is None:
        names = [""] * columns.size
        ntv = columns
        dset = columns
        offset = 0
        n_samples = _dat_samples(ks)
        if n_samples is not None and last >= n_samples:
            raise FormatError(
                f"{ks.folder / 'spike_times.npy'}: spike at sample {last} but the data file"
                f" {ks.params.get('dat_path')} holds {n_samples} samples"
            )
        span = (0, max(n_samples or 0, last + 1))
    else:
        md = recording.metadata
        if not math.isclose(md.fs, ks.fs, rel_tol=1e-9):
            raise FormatError(
                f"{ks.folder / 'params.py'}: sample_rate {ks.fs:g} Hz but the recording"
                f" {recording.paths.json.name} is at {md.fs:g} Hz"
            )
        amp = [col for col, ch in enumerate(md.channels) if ch.signal_type == "amp"]
        n_dat = ks.n_channels_dat
        if n_dat is None or n_dat == len(amp):
            file_cols = amp  # the sorted data file holds the amplifier channels only
        elif n_dat == md.n_channels:
            file_cols = list(range(md.n_channels))
        else:
            raise FormatError(
                f"{ks.folder / 'params.py'}: n_channels_dat = {n_dat} but the recording"
                f" {recording.paths.json.name} has {len(amp)} amplifier channels"
                f" ({md.n_channels} in all)"
            )
        if int(columns.max()) >= len(file_cols):
            raise FormatError(
                f"{ks.folder / 'channel_map.npy'}: channel {int(columns.max())} but the"
                f" recording {recording.paths.json.name} has {len(file_cols)}"
            )
        rec_cols = [file_cols[c] for c in columns.tolist()]
        not_amp = [c for c in rec_cols if md.channels[c].signal_type != "amp"]
        if not_amp:
            raise FormatError(
                f"{ks.folder / 'channel_map.npy'}: maps to non-amplifier channel(s)"
                f" {[md.channels[c].name for c in not_amp[:5]]} of {recording.paths.json.name}"
            )
        dset_of_col = {col: i for i, col in enumerate(amp)}
        names = [md.channels[c].name for c in rec_cols]
        ntv = np.array([md.channels[c].ntv_idx for c in rec_cols], np.int64)
        dset = np.array([dset_of_col[c] for c in rec_cols], np.int64)
        if np.unique(ntv).size != ntv.size:
            raise FormatError(
                f"{recording.paths.json}: amplifier channels mapped by channel_map.npy repeat an"
                " ntv index"
            )
        offset = recording.first_sample
        if last >= md.n_samples:
            raise FormatError(
                f"{ks.folder / 'spike_times.npy'}: spike at sample {last} but the recording"
                f" {recording.paths.json.name} holds {md.n_samples} samples"
            )
        span = (offset, offset + md.n_samples)
    channels = [
        SpikesChannel(
            ntv_idx=int(ntv[i]),
            dset_idx=int(dset[i]),
            name=names[i],
            x_um=None if pos is None else float(pos[i, 0]),
            y_um=None if pos is None else float(pos[i, 1]),
            z_um=None if pos is None or pos.shape[1] < 3 else float(pos[i, 2]),
        )
        for i in range(columns.size)
    ]
    if int(ntv.max()) > INT32_MAX:
        raise FormatError(f"{ks.folder / 'channel_map.npy'}: channel index beyond int32")
    return _Layout(np.asarray(ntv, np.int64), channels, offset, span)


def _dat_samples(ks: KilosortOutput) -> int | None:
    """Samples in the data file ``params.py`` names, if it can be found and sized."""
    dat, n_dat = ks.params.get("dat_path"), ks.n_channels_dat
    if isinstance(dat, list | tuple) and len(dat) == 1:
        dat = dat[0]
    if not isinstance(dat, str) or not dat or n_dat is None:
        return None
    path = Path(dat) if Path(dat).is_absolute() else ks.folder / dat
    try:
        itemsize = np.dtype(ks.params.get("dtype", "int16")).itemsize
        size = path.stat().st_size - int(ks.params.get("offset", 0) or 0)
    except (TypeError, ValueError, OSError):
        return None
    return max(size, 0) // (itemsize * n_dat)


def _units(
    ks: KilosortOutput, layout: _Layout, unlabeled: set[str]
) -> tuple[list[SpikesUnit], dict[int, int]]:
    """The units table and the label of every cluster id."""
    clusters, counts = np.unique(ks.spike_clusters, return_counts=True)
    n_rows = layout.ntv_of_row.size
    key = ks.spike_clusters * n_rows + ks.peak_rows[ks.spike_templates]
    pairs, pair_counts = np.unique(key, return_counts=True)
    best: dict[int, tuple[int, int]] = {}
    for k, c in zip(pairs.tolist(), pair_counts.tolist(), strict=True):
        cid, row = divmod(k, n_rows)
        if cid not in best or c > best[cid][1]:
            best[cid] = (row, c)
    units: list[SpikesUnit] = []
    labels: dict[int, int] = {}
    for cid, count in zip(clusters.tolist(), counts.tolist(), strict=True):
        group = ks.cluster_groups.get(cid)
        ks_label = ks.ks_labels.get(cid)
        curated = group if group is not None else ks_label
        label = 0 if curated in unlabeled else cid + 1
        labels[cid] = label
        units.append(
            SpikesUnit(
                label=label,
                cluster_id=cid,
                group=group,
                ks_label=ks_label,
                channel=int(layout.ntv_of_row[best[cid][0]]),
                n_spikes=count,
            )
        )
    return units, labels


def _write_spikes(
    writer: SpikesWriter,
    ks: KilosortOutput,
    layout: _Layout,
    labels_of_cluster: dict[int, int],
    mode: str,
    gain: float,
) -> None:
    ntv_of_template = layout.ntv_of_row[ks.peak_rows]
    waves = ks.peak_waveforms
    if mode == "spikeinterface":
        # SpikeInterface's amplitude is the spike's value at the template's extremum
        peak_value = waves[np.arange(waves.shape[0]), np.argmax(np.abs(waves), axis=1)]
        per_template = np.divide(
            1.0, peak_value, out=np.zeros_like(peak_value), where=peak_value != 0
        )
    else:
        waves = waves * gain
        per_template = np.ones(waves.shape[0])
    cluster_ids = np.array(sorted(labels_of_cluster), np.int64)
    label_values = np.array([labels_of_cluster[c] for c in cluster_ids.tolist()], np.int64)
    for start in range(0, ks.n_spikes, _CHUNK):
        stop = min(start + _CHUNK, ks.n_spikes)
        tmpl = ks.spike_templates[start:stop]
        scale = per_template[tmpl]
        if mode != "none":
            assert ks.amplitudes is not None
            scale = scale * ks.amplitudes[start:stop]
        labels = label_values[np.searchsorted(cluster_ids, ks.spike_clusters[start:stop])]
        writer.append(
            ks.spike_times[start:stop] + layout.offset,
            ntv_of_template[tmpl],
            labels,
            (waves[tmpl] * scale[:, None]).astype(np.float32),
        )
    writer.append([], 0, 0, [], until_sample=layout.span[1])


def _is_json_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)
