"""Load and check a Kilosort / phy output folder (the "template-gui" layout).

Files read (``n`` spikes, ``T`` templates, ``P`` points, ``C`` template channels)::

    params.py                 sample_rate (required), n_channels_dat, dat_path, dtype, offset ...
    spike_times.npy           (n,) or (n, 1) integer sample indices, non-decreasing   required
    spike_templates.npy       (n,) or (n, 1) template of each spike     } at least one of the
    spike_clusters.npy        (n,) or (n, 1) cluster of each spike      } two
    templates.npy             (T, P, C) float                                          required
    template_ind.npy          (T, C) row of each template column, -1 = none          (sparse)
    channel_map.npy           (C_all,) data-file column of each template channel row   required
    channel_positions.npy     (C_all, 2 or 3) µm                                        optional
    whitening_mat_inv.npy     (C_all, C_all) unwhitening matrix (Kilosort)              optional
    amplitudes.npy            (n,) or (n, 1) per-spike amplitude                        optional
    cluster_group.tsv         cluster_id, group (phy curation)                           optional
    cluster_KSLabel.tsv       cluster_id, KSLabel (Kilosort)                             optional

``params.py`` is parsed, never executed: only ``name = <literal>`` lines are read.
"""

from __future__ import annotations

import ast
import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from radiens_async.errors import FormatError

__all__ = ["KilosortOutput", "load_kilosort_output", "read_params"]

_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class KilosortOutput:
    """A checked Kilosort / phy output folder, reduced to what a ``.spikes`` set needs.

    Attributes
    ----------
    folder : Path
    params : dict
        The literal assignments of ``params.py``.
    fs : float
        ``sample_rate`` in Hz.
    n_channels_dat : int or None
        Columns of the data file the sorter read.
    spike_times, spike_templates, spike_clusters : ndarray of int64, shape (n,)
        Sample index (non-decreasing), template and cluster of every spike. A missing
        ``spike_clusters.npy`` gives the templates, a missing ``spike_templates.npy`` the
        clusters.
    amplitudes : ndarray of float64 or None
        ``amplitudes.npy``.
    channel_map : ndarray of int64, shape (C_all,)
        Data-file column of each template channel row.
    channel_positions : ndarray of float64, shape (C_all, 2 or 3), or None
    peak_rows : ndarray of intp, shape (T,)
        Template channel row of each template's peak channel: the largest peak-to-peak of the
        unwhitened template.
    peak_waveforms : ndarray of float64, shape (T, P)
        Each template, unwhitened, on its peak channel.
    cluster_groups, ks_labels : dict of int to str
        ``cluster_group.tsv`` and ``cluster_KSLabel.tsv``.
    unwhitened : bool
        Whether ``whitening_mat_inv.npy`` was applied.
    spikeinterface_export : bool
        Whether SpikeInterface's ``export_to_phy`` wrote the folder (``cluster_si_unit_ids.tsv``
        or ``channel_map_si.npy`` present): its amplitudes are µV, not scale factors.
    """

    folder: Path
    params: dict[str, Any]
    fs: float
    n_channels_dat: int | None
    spike_times: npt.NDArray[np.int64]
    spike_templates: npt.NDArray[np.int64]
    spike_clusters: npt.NDArray[np.int64]
    amplitudes: npt.NDArray[np.float64] | None
    channel_map: npt.NDArray[np.int64]
    channel_positions: npt.NDArray[np.float64] | None
    peak_rows: npt.NDArray[np.intp]
    peak_waveforms: npt.NDArray[np.float64]
    cluster_groups: dict[int, str]
    ks_labels: dict[int, str]
    unwhitened: bool
    spikeinterface_export: bool

    @property
    def n_spikes(self) -> int:
        """Number of spikes."""
        return int(self.spike_times.shape[0])

    @property
    def n_pts(self) -> int:
        """Points per template."""
        return int(self.peak_waveforms.shape[1])


def load_kilosort_output(folder: str | Path) -> KilosortOutput:
    """Read and check a Kilosort / phy output folder.

    Parameters
    ----------
    folder : str or Path
        The folder holding ``params.py``, ``spike_times.npy`` ...

    Returns
    -------
    KilosortOutput

    Raises
    ------
    FormatError
        If the folder or a required file is missing, a file cannot be read, or the files
        disagree (lengths, shapes, indices out of range, decreasing spike times, ...). The
        message names the file and the problem.

    Examples
    --------
    >>> ks = load_kilosort_output("/data/kilosort4")  # doctest: +SKIP
    >>> ks.n_spikes, ks.fs, ks.peak_waveforms.shape  # doctest: +SKIP
    (183211, 30000.0, (412, 61))
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FormatError(f"{folder}: Kilosort output folder not found")
    params = read_params(folder / "params.py")
    fs: Any = params.get("sample_rate")
    if not _is_number(fs) or not (_finite(fs) and fs > 0):
        raise FormatError(
            f"{folder / 'params.py'}: sample_rate must be a positive number, found"
            f" {_short(fs) if 'sample_rate' in params else 'nothing'}"
        )
    n_dat = params.get("n_channels_dat")
    if n_dat is not None and (not _is_int(n_dat) or n_dat < 1):
        raise FormatError(
            f"{folder / 'params.py'}: n_channels_dat must be a positive int, found {_short(n_dat)}"
        )

    times = _vector(folder / "spike_times.npy", kind="int")
    n = times.shape[0]
    if n and int(times.min()) < 0:
        raise FormatError(f"{folder / 'spike_times.npy'}: negative sample index {times.min()}")
    if n and int(times.max()) > _INT64_MAX:
        raise FormatError(f"{folder / 'spike_times.npy'}: sample index beyond int64")
    times = times.astype(np.int64)
    steps = np.flatnonzero(np.diff(times) < 0)
    if steps.size:
        i = int(steps[0])
        raise FormatError(
            f"{folder / 'spike_times.npy'}: spike times decrease at spike {i + 1}"
            f" ({times[i]} then {times[i + 1]}); they must be sorted"
        )

    has_templates = (folder / "spike_templates.npy").exists()
    has_clusters = (folder / "spike_clusters.npy").exists()
    if not (has_templates or has_clusters):
        raise FormatError(f"{folder}: neither spike_clusters.npy nor spike_templates.npy found")
    spike_templates = spike_clusters = None
    if has_templates:
        spike_templates = _ids(folder / "spike_templates.npy", n)
    if has_clusters:
        spike_clusters = _ids(folder / "spike_clusters.npy", n)
    if spike_templates is None:
        assert spike_clusters is not None
        spike_templates = spike_clusters
    if spike_clusters is None:
        spike_clusters = spike_templates

    templates = _array(folder / "templates.npy")
    if templates.ndim != 3 or min(templates.shape) < 1 or templates.dtype.kind not in "fiu":
        raise FormatError(
            f"{folder / 'templates.npy'}: must be a real (n_templates, n_pts, n_channels) array,"
            f" found {templates.dtype} {templates.shape}"
        )
    templates = np.asarray(templates, dtype=np.float64)
    if not np.isfinite(templates).all():
        raise FormatError(f"{folder / 'templates.npy'}: holds NaN or infinite values")
    n_templates, _, n_cols = templates.shape
    if n and int(spike_templates.max()) >= n_templates:
        source = "spike_templates.npy" if has_templates else "spike_clusters.npy"
        raise FormatError(
            f"{folder / source}: template id {int(spike_templates.max())} but templates.npy"
            f" holds only {n_templates} templates"
        )

    channel_map = _vector(folder / "channel_map.npy", kind="int", allow_row=True)
    n_map = channel_map.shape[0]
    if n_map == 0:
        raise FormatError(f"{folder / 'channel_map.npy'}: is empty")
    if int(channel_map.min()) < 0:
        raise FormatError(f"{folder / 'channel_map.npy'}: negative channel {channel_map.min()}")
    if n_dat is not None and int(channel_map.max()) >= n_dat:
        raise FormatError(
            f"{folder / 'channel_map.npy'}: channel {int(channel_map.max())} but params.py says"
            f" n_channels_dat = {n_dat}"
        )
    if np.unique(channel_map).size != n_map:
        raise FormatError(f"{folder / 'channel_map.npy'}: repeats a channel")
    channel_map = channel_map.astype(np.int64)

    template_ind = _template_ind(folder, n_templates, n_cols, n_map)
    positions = _positions(folder / "channel_positions.npy", n_map)
    winv = _whitening(folder / "whitening_mat_inv.npy", n_map)
    peak_rows, peak_waveforms = _peaks(templates, template_ind, winv)

    amplitudes = None
    if (folder / "amplitudes.npy").exists():
        amp = _vector(folder / "amplitudes.npy", kind="real")
        if amp.shape[0] != n:
            raise FormatError(
                f"{folder / 'amplitudes.npy'}: {amp.shape[0]} amplitudes for {n} spikes"
            )
        amplitudes = np.asarray(amp, dtype=np.float64)
        if not np.isfinite(amplitudes).all():
            raise FormatError(f"{folder / 'amplitudes.npy'}: holds NaN or infinite values")

    return KilosortOutput(
        folder=folder,
        params=params,
        fs=float(fs),
        n_channels_dat=n_dat,
        spike_times=times,
        spike_templates=spike_templates,
        spike_clusters=spike_clusters,
        amplitudes=amplitudes,
        channel_map=channel_map,
        channel_positions=positions,
        peak_rows=peak_rows,
        peak_waveforms=peak_waveforms,
        cluster_groups=_read_tsv(folder / "cluster_group.tsv", "group"),
        ks_labels=_read_tsv(folder / "cluster_KSLabel.tsv", "KSLabel"),
        unwhitened=winv is not None,
        spikeinterface_export=(folder / "cluster_si_unit_ids.tsv").exists()
        or (folder / "channel_map_si.npy").exists(),
    )


def read_params(path: Path) -> dict[str, Any]:
    """Read the ``name = <literal>`` assignments of a phy ``params.py`` without running it.

    Parameters
    ----------
    path : Path
        The ``params.py`` file.

    Returns
    -------
    dict
        Name to value; assignments whose value is not a Python literal are skipped.

    Raises
    ------
    FormatError
        If the file is missing, unreadable or not Python.

    Examples
    --------
    >>> read_params(Path("/data/kilosort4/params.py"))["sample_rate"]  # doctest: +SKIP
    30000.0
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError(f"{path}: params file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: cannot read the params file ({exc})") from None
    try:
        tree = ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise FormatError(f"{path}: not a Python params file ({exc})") from None
    out: dict[str, Any] = {}
    for node in tree.body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            continue
        try:
            out[node.targets[0].id] = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            continue  # not a literal (e.g. an expression): phy would run it, we skip it
    return out


def _array(path: Path) -> npt.NDArray[Any]:
    if not path.exists():
        raise FormatError(f"{path}: file not found")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError, TypeError) as exc:
        raise FormatError(f"{path}: cannot read the .npy file ({exc})") from None


def _vector(path: Path, *, kind: str, allow_row: bool = False) -> npt.NDArray[Any]:
    arr = _array(path)
    kinds = "iu" if kind == "int" else "fiu"
    shape = arr.shape
    ok_shape = arr.ndim == 1 or (arr.ndim == 2 and (shape[1] == 1 or (allow_row and shape[0] == 1)))
    if not ok_shape or arr.dtype.kind not in kinds:
        what = "integers" if kind == "int" else "real numbers"
        raise FormatError(f"{path}: must be a vector of {what}, found {arr.dtype} {shape}")
    return np.asarray(arr).reshape(-1)


def _ids(path: Path, n: int) -> npt.NDArray[np.int64]:
    ids = _vector(path, kind="int")
    if ids.shape[0] != n:
        raise FormatError(f"{path}: {ids.shape[0]} entries for {n} spikes in spike_times.npy")
    if n and int(ids.min()) < 0:
        raise FormatError(f"{path}: negative id {int(ids.min())}")
    if n and int(ids.max()) > 2**31 - 2:
        raise FormatError(f"{path}: id {int(ids.max())} is too large")
    return ids.astype(np.int64)


def _template_ind(
    folder: Path, n_templates: int, n_cols: int, n_map: int
) -> npt.NDArray[np.int64] | None:
    path = folder / "template_ind.npy"
    if not path.exists():
        if n_cols != n_map:
            raise FormatError(
                f"{folder / 'templates.npy'}: {n_cols} channels per template but channel_map.npy"
                f" has {n_map} (and there is no template_ind.npy)"
            )
        return None
    ind = _array(path)
    if ind.shape != (n_templates, n_cols) or ind.dtype.kind not in "iu":
        raise FormatError(
            f"{path}: must be integers of shape {(n_templates, n_cols)} like templates.npy,"
            f" found {ind.dtype} {ind.shape}"
        )
    ind = np.asarray(ind, dtype=np.int64)
    if int(ind.min()) < -1 or int(ind.max()) >= n_map:
        raise FormatError(f"{path}: channel rows must be in [-1, {n_map}), found {ind.min()}..")
    if (ind[:, 0] < 0).any():
        raise FormatError(f"{path}: a template has no channel")
    return ind


def _positions(path: Path, n_map: int) -> npt.NDArray[np.float64] | None:
    if not path.exists():
        return None
    pos = _array(path)
    if pos.ndim != 2 or pos.shape[0] != n_map or pos.shape[1] not in (2, 3):
        raise FormatError(f"{path}: must have shape ({n_map}, 2 or 3), found {pos.shape}")
    if pos.dtype.kind not in "fiu":
        raise FormatError(f"{path}: must hold real numbers, found {pos.dtype}")
    pos = np.asarray(pos, dtype=np.float64)
    if not np.isfinite(pos).all():
        raise FormatError(f"{path}: holds NaN or infinite values")
    return pos


def _whitening(path: Path, n_map: int) -> npt.NDArray[np.float64] | None:
    if not path.exists():
        return None
    mat = _array(path)
    if mat.shape != (n_map, n_map) or mat.dtype.kind not in "fiu":
        raise FormatError(
            f"{path}: must be a real ({n_map}, {n_map}) matrix, found {mat.dtype} {mat.shape}"
        )
    mat = np.asarray(mat, dtype=np.float64)
    if not np.isfinite(mat).all():
        raise FormatError(f"{path}: holds NaN or infinite values")
    return mat


def _peaks(
    templates: npt.NDArray[np.float64],
    template_ind: npt.NDArray[np.int64] | None,
    winv: npt.NDArray[np.float64] | None,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Peak channel row and peak-channel waveform of every (unwhitened) template."""
    n_templates, n_pts, _ = templates.shape
    rows = np.empty(n_templates, np.intp)
    waves = np.empty((n_templates, n_pts), np.float64)
    for t in range(n_templates):
        tmpl = templates[t]
        if template_ind is None:
            chan_rows = np.arange(tmpl.shape[1])
        else:
            valid = template_ind[t] >= 0
            chan_rows = template_ind[t][valid]
            tmpl = tmpl[:, valid]
        if winv is not None:
            # phy's convention: unwhitened = whitened @ inverse whitening (on the template's rows)
            tmpl = tmpl @ winv[np.ix_(chan_rows, chan_rows)]
        col = int(np.argmax(tmpl.max(axis=0) - tmpl.min(axis=0)))
        rows[t] = chan_rows[col]
        waves[t] = tmpl[:, col]
    return rows, waves


def _read_tsv(path: Path, column: str) -> dict[int, str]:
    if not path.exists():
        return {}
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(f"{path}: cannot read the table ({exc})") from None
    if not rows:
        return {}
    header = [h.strip() for h in rows[0]]
    if "cluster_id" not in header or column not in header:
        raise FormatError(f"{path}: needs columns cluster_id and {column}, found {header}")
    i_id, i_val = header.index("cluster_id"), header.index(column)
    out: dict[int, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        try:
            out[int(row[i_id])] = row[i_val].strip()
        except (ValueError, IndexError):
            raise FormatError(f"{path}: line {line} is not '<cluster_id>\\t<{column}>'") from None
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
