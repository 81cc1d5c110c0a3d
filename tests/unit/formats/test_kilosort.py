"""Kilosort / phy output -> ``.spikes``: exact times and counts, channel and waveform mapping."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import radiens_async.formats.kilosort as kilosort_module
from radiens_async.errors import FormatError, InvalidArgument
from radiens_async.formats.kilosort import convert_kilosort_output
from radiens_async.formats.kilosort_folder import read_params
from radiens_async.formats.spikes_file import SpikesReader, SpikesWriter, spikes_paths
from radiens_async.formats.xdat import XdatChannel, XdatWriter

FS = 30000.0


def listing(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


# ------------------------------------------------------------------ SpikeInterface export
@dataclass
class PhyExport:
    folder: Path
    sorting: Any
    recording: Any
    analyzer: Any


@pytest.fixture(scope="module")
def phy(tmp_path_factory: pytest.TempPathFactory) -> PhyExport:
    """A phy folder written by SpikeInterface's ``export_to_phy`` from known spikes."""
    si = pytest.importorskip("spikeinterface.core")
    exporters = pytest.importorskip("spikeinterface.exporters")
    recording, sorting = si.generate_ground_truth_recording(
        durations=[10.0], num_units=5, num_channels=8, seed=2205
    )
    analyzer = si.create_sorting_analyzer(sorting, recording, format="memory", sparse=False)
    analyzer.compute(
        ["random_spikes", "templates", "spike_amplitudes"], n_jobs=1, progress_bar=False
    )
    folder = tmp_path_factory.mktemp("phy") / "phy_out"
    exporters.export_to_phy(
        analyzer,
        folder,
        compute_pc_features=False,
        add_quality_metrics=False,
        add_template_metrics=False,
        n_jobs=1,
        verbose=False,
        progress_bar=False,
    )
    return PhyExport(folder, sorting, recording, analyzer)


def test_spikeinterface_export_survives_exactly(phy: PhyExport, tmp_path: Path) -> None:
    paths = convert_kilosort_output(str(phy.folder), sink_bio_path=tmp_path, sink_bio_basename="si")
    assert paths.json == tmp_path / "si.spikes.json"
    sorting = phy.sorting
    fs = sorting.sampling_frequency
    with SpikesReader(paths.json) as reader:
        assert reader.fs == fs and reader.metadata.complete
        assert reader.n_spikes == sum(
            len(sorting.get_unit_spike_train(u)) for u in sorting.unit_ids
        )
        ts, labels = reader.timestamps(), np.asarray(reader.labels)
        assert np.all(labels > 0)
        for index, unit in enumerate(sorting.unit_ids):  # phy cluster id = unit index
            np.testing.assert_array_equal(
                ts[labels == index + 1], sorting.get_unit_spike_train(unit)
            )
        counts = {u.cluster_id: u.n_spikes for u in reader.metadata.units}
        assert counts == {
            i: len(sorting.get_unit_spike_train(u)) for i, u in enumerate(sorting.unit_ids)
        }
        assert [u.label for u in reader.metadata.units] == [1, 2, 3, 4, 5]
        assert {u.group for u in reader.metadata.units} == {"unsorted"}
        assert reader.time_range == (0.0, phy.recording.get_num_samples() / fs)  # recording.dat
        provenance = reader.metadata.provenance
        assert provenance.source == "kilosort"
        assert provenance.details["amplitude_scaling"] == "spikeinterface"
        assert provenance.details["label_rule"] == "label = cluster_id + 1"
        channels, waveforms = np.asarray(reader.channels), reader.waveforms()
        pre_pts = reader.pre_pts
        positions = [(c.x_um, c.y_um) for c in reader.metadata.channels]

    # the channel is the template's peak-to-peak extremum channel, from the analyzer's templates
    templates = phy.analyzer.get_extension("templates").get_templates()
    main = dict(zip(sorting.unit_ids, np.ptp(templates, axis=1).argmax(axis=1), strict=True))
    for index, unit in enumerate(sorting.unit_ids):
        assert set(channels[labels == index + 1].tolist()) == {main[unit]}
    np.testing.assert_array_equal(positions, phy.recording.get_channel_locations())
    # SpikeInterface's amplitude is the spike's value at the template peak: the waveform
    # there equals it, and the peak is where SpikeInterface aligned the templates
    assert pre_pts == phy.analyzer.get_extension("templates").nbefore
    amplitudes = np.load(phy.folder / "amplitudes.npy").reshape(-1)
    np.testing.assert_allclose(waveforms[:, pre_pts], amplitudes, rtol=1e-6)
    for index in range(len(sorting.unit_ids)):
        rows = waveforms[labels == index + 1]
        shape = templates[index][:, main[sorting.unit_ids[index]]]
        np.testing.assert_allclose(
            rows / rows[:, pre_pts : pre_pts + 1],
            np.broadcast_to(shape / shape[pre_pts], rows.shape),
            rtol=1e-4,
            atol=1e-5,
        )


def test_spikeinterface_export_with_its_xdat_recording(phy: PhyExport, tmp_path: Path) -> None:
    rec = phy.recording
    n_ch = rec.get_num_channels()
    chans = [
        XdatChannel(
            name=f"A-{i:03d}", ntv_name=f"A-{i:03d}", signal_type="amp", ntv_idx=40 + i, sys_idx=i
        )
        for i in range(n_ch)
    ]
    with XdatWriter(tmp_path / "rec_0", rec.sampling_frequency, chans, first_sample=777) as w:
        w.append_sample_major(rec.get_traces())
    paths = convert_kilosort_output(
        phy.folder, source_vex_path=tmp_path, source_vex_basename="rec_0"
    )
    assert paths.json == tmp_path / "rec_0.spikes.json"  # next to the recording by default
    with SpikesReader(tmp_path / "rec_0.xdat") as reader:
        spike_vector = phy.sorting.to_spike_vector()
        np.testing.assert_array_equal(reader.timestamps(), spike_vector["sample_index"] + 777)
        np.testing.assert_array_equal(reader.labels, spike_vector["unit_index"] + 1)
        assert set(np.unique(reader.channels).tolist()) <= set(range(40, 40 + n_ch))
        assert reader.metadata.source_recording == "rec_0"
        assert reader.metadata.sample_range == (777, 777 + rec.get_num_samples())
        table = reader.spike_timestamps_table()
        np.testing.assert_array_equal(table["dset_idxs"], np.asarray(reader.channels) - 40)
        assert [c.name for c in reader.metadata.channels] == [c.name for c in chans]


# ------------------------------------------------------------------ a Kilosort-style folder
N_MAP = 6
N_PTS = 21
N_SPIKES = 500


@dataclass
class KsFolder:
    folder: Path
    times: npt.NDArray[np.int64]
    templates: npt.NDArray[np.int64]  # per spike
    clusters: npt.NDArray[np.int64]
    amplitudes: npt.NDArray[np.float64]
    channel_map: npt.NDArray[np.int64]
    peak_rows: list[int]  # designed peak row of each template
    unwhitened: npt.NDArray[np.float64]  # (T, P, C)
    files: dict[str, Any] = field(default_factory=dict)


def write_ks_folder(folder: Path, **overrides: Any) -> KsFolder:
    """A Kilosort 2-4 style folder: whitened templates, a phy merge, curation tables.

    ``overrides`` replace a file's content (an array, text, bytes, or None to leave it out).
    """
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    peak_rows = [4, 0, 2, 5]
    n_templates = len(peak_rows)
    shape = np.exp(-0.5 * ((np.arange(N_PTS) - 8) / 1.5) ** 2)
    unwhitened = rng.normal(0, 0.02, (n_templates, N_PTS, N_MAP))
    for t, row in enumerate(peak_rows):
        unwhitened[t, :, row] -= (1.0 + t) * shape
    winv = np.eye(N_MAP) + rng.normal(0, 0.05, (N_MAP, N_MAP))
    whitened = unwhitened @ np.linalg.inv(winv)
    times = np.sort(rng.integers(0, 60_000, N_SPIKES)).astype(np.uint64)
    templates = rng.integers(0, n_templates, N_SPIKES).astype(np.uint32)
    clusters = templates.astype(np.int64)
    clusters[np.isin(templates, [2, 3])] = 7  # phy merged templates 2 and 3 into cluster 7
    amplitudes = rng.uniform(10, 30, N_SPIKES)
    channel_map = np.array([5, 0, 1, 2, 3, 4], np.int32)  # data column 6 was not sorted
    files: dict[str, Any] = {
        "params.py": (
            "dat_path = 'rec.bin'\nn_channels_dat = 7\ndtype = 'int16'\noffset = 0\n"
            "sample_rate = 30000.\nhp_filtered = False\n"
        ),
        "spike_times.npy": times[:, None],
        "spike_templates.npy": templates[:, None],
        "spike_clusters.npy": clusters.astype(np.int32),
        "templates.npy": whitened.astype(np.float32),
        "whitening_mat_inv.npy": winv,
        "amplitudes.npy": amplitudes[:, None].astype(np.float32),
        "channel_map.npy": channel_map[None, :],
        "channel_positions.npy": np.column_stack([np.arange(N_MAP) * 10.0, np.arange(N_MAP)]),
        "cluster_group.tsv": "cluster_id\tgroup\n0\tgood\n1\tnoise\n7\tmua\n",
        "cluster_KSLabel.tsv": "cluster_id\tKSLabel\n0\tgood\n1\tmua\n2\tgood\n3\tgood\n",
    }
    files.update(overrides)
    for name, content in files.items():
        path = folder / name
        if content is None:
            continue
        if isinstance(content, str):
            path.write_text(content)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            np.save(path, content)
    return KsFolder(
        folder,
        times.astype(np.int64),
        templates.astype(np.int64),
        clusters,
        amplitudes.astype(np.float32).astype(np.float64),
        channel_map.astype(np.int64),
        peak_rows,
        unwhitened.astype(np.float32) @ winv @ np.linalg.inv(winv),  # float32 round trip
        files,
    )


@pytest.fixture
def ks(tmp_path: Path) -> KsFolder:
    return write_ks_folder(tmp_path / "ks_out")


def test_kilosort_folder_mapping(ks: KsFolder, tmp_path: Path) -> None:
    paths = convert_kilosort_output(tmp_path, "ks_out", sink_bio_path=tmp_path)
    assert paths.json == tmp_path / "ks_out.spikes.json"  # named after the folder
    peak_column = ks.channel_map[ks.peak_rows]  # no recording: ntv index = data column
    with SpikesReader(paths.json) as reader:
        np.testing.assert_array_equal(reader.timestamps(), ks.times)
        np.testing.assert_array_equal(reader.labels, ks.clusters + 1)
        np.testing.assert_array_equal(reader.channels, peak_column[ks.templates])
        waves = reader.waveforms()
        md = reader.metadata
    expect = np.stack(
        [
            ks.amplitudes[i] * ks.unwhitened[t, :, ks.peak_rows[t]]
            for i, t in enumerate(ks.templates)
        ]
    )
    np.testing.assert_allclose(waves, expect, rtol=1e-4, atol=1e-5)
    assert md.pre_pts == 8  # the templates' extremum
    assert md.sample_range == (0, int(ks.times[-1]) + 1)  # rec.bin is not there
    assert md.provenance.details["amplitude_scaling"] == "kilosort"
    assert md.provenance.details["unwhitened"] is True
    assert md.provenance.details["params"]["dat_path"] == "rec.bin"
    units = {u.cluster_id: u for u in md.units}
    assert set(units) == {0, 1, 7}
    assert (units[0].group, units[0].ks_label, units[0].label) == ("good", "good", 1)
    assert (units[1].group, units[1].ks_label, units[1].label) == ("noise", "mua", 2)
    assert (units[7].group, units[7].ks_label, units[7].label) == ("mua", None, 8)
    assert units[0].channel == peak_column[0] and units[1].channel == peak_column[1]
    assert units[7].channel in (peak_column[2], peak_column[3])
    assert sum(u.n_spikes or 0 for u in units.values()) == N_SPIKES
    assert [(c.ntv_idx, c.dset_idx, c.x_um, c.y_um) for c in md.channels] == [
        (int(col), int(col), 10.0 * row, float(row)) for row, col in enumerate(ks.channel_map)
    ]


def test_options_scaling_gain_pre_pts_and_unlabeled_groups(ks: KsFolder, tmp_path: Path) -> None:
    paths = convert_kilosort_output(
        ks.folder,
        sink_bio_path=tmp_path,
        sink_bio_basename="opt",
        amplitude_scaling="none",
        gain_to_uv=0.195,
        pre_pts=3,
        unlabeled_groups={"noise"},
        note="curated",
    )
    with SpikesReader(paths.json) as reader:
        labels = np.asarray(reader.labels)
        np.testing.assert_array_equal(labels, np.where(ks.clusters == 1, 0, ks.clusters + 1))
        assert reader.pre_pts == 3
        t = ks.templates[0]
        np.testing.assert_allclose(
            reader.waveforms()[0],
            0.195 * ks.unwhitened[t, :, ks.peak_rows[t]],
            rtol=1e-4,
            atol=1e-6,
        )
        units = {u.cluster_id: u.label for u in reader.metadata.units}
        assert units == {0: 1, 1: 0, 7: 8}
        assert reader.metadata.provenance.details["note"] == "curated"
        assert len(reader.spike_timestamps_table()["labels"]) == int((ks.clusters != 1).sum())


def test_one_of_spike_clusters_or_spike_templates_is_enough(tmp_path: Path) -> None:
    only_templates = write_ks_folder(tmp_path / "a", **{"spike_clusters.npy": None})
    with SpikesReader(convert_kilosort_output(only_templates.folder).json) as reader:
        np.testing.assert_array_equal(reader.labels, only_templates.templates + 1)
    clusters = np.random.default_rng(1).integers(0, 4, N_SPIKES)
    only_clusters = write_ks_folder(
        tmp_path / "b", **{"spike_templates.npy": None, "spike_clusters.npy": clusters}
    )
    with SpikesReader(convert_kilosort_output(only_clusters.folder).json) as reader:
        np.testing.assert_array_equal(reader.labels, clusters + 1)
        peak_column = only_clusters.channel_map[only_clusters.peak_rows]
        np.testing.assert_array_equal(reader.channels, peak_column[clusters])


def test_sparse_templates_with_template_ind(tmp_path: Path) -> None:
    dense = write_ks_folder(tmp_path / "dense", **{"whitening_mat_inv.npy": None})
    whitened = np.load(dense.folder / "templates.npy")
    # keep 3 rows per template, padded with -1 in the last column of template 0
    ind = np.array([[4, 3, -1], [0, 1, 2], [2, 1, 0], [5, 4, 3]])
    sparse = np.zeros((4, N_PTS, 3), np.float32)
    for t in range(4):
        for j, row in enumerate(ind[t]):
            if row >= 0:
                sparse[t, :, j] = whitened[t, :, row]
    folder = write_ks_folder(
        tmp_path / "sparse",
        **{"whitening_mat_inv.npy": None, "templates.npy": sparse, "template_ind.npy": ind},
    )
    with (
        SpikesReader(convert_kilosort_output(dense.folder).json) as a,
        SpikesReader(convert_kilosort_output(folder.folder).json) as b,
    ):
        np.testing.assert_array_equal(a.channels, b.channels)
        np.testing.assert_array_equal(a.waveforms(), b.waveforms())


# ------------------------------------------------------------------ with the XDAT recording
def write_recording(directory: Path, n_samples: int = 61_000, fs: float = FS) -> list[XdatChannel]:
    """7 amplifier channels (ntv 30, 29, ...) with a digital-in channel between them."""
    chans = [
        XdatChannel(
            name=f"C-{i:03d}",
            ntv_name=f"C-{i:03d}",
            signal_type="amp",
            ntv_idx=30 - i,
            sys_idx=i,
            site_x_um=float(i),
            site_y_um=0.0,
        )
        for i in range(7)
    ]
    chans.insert(3, XdatChannel(name="DIN-00", ntv_name="DIN-00", signal_type="din", sys_idx=7))
    with XdatWriter(directory / "rec_0", fs, chans, first_sample=5000) as writer:
        writer.append(np.zeros((len(chans), n_samples), np.float32))
    return chans


def test_recording_gives_ntv_indices_offset_and_location(ks: KsFolder, tmp_path: Path) -> None:
    write_recording(tmp_path)
    paths = convert_kilosort_output(ks.folder, "", str(tmp_path), "rec_0")
    assert paths.json == tmp_path / "rec_0.spikes.json"
    peak_column = ks.channel_map[ks.peak_rows]  # column among the amplifier channels
    with SpikesReader(tmp_path / "rec_0.xdat") as reader:
        np.testing.assert_array_equal(reader.timestamps(), ks.times + 5000)
        np.testing.assert_array_equal(reader.channels, 30 - peak_column[ks.templates])
        md = reader.metadata
        table = reader.spike_timestamps_table()
    np.testing.assert_array_equal(table["dset_idxs"], peak_column[ks.templates])
    assert md.source_recording == "rec_0" and md.sample_range == (5000, 5000 + 61_000)
    assert [(c.ntv_idx, c.dset_idx, c.name) for c in md.channels] == [
        (30 - int(col), int(col), f"C-{int(col):03d}") for col in ks.channel_map
    ]
    assert md.provenance.details["sample_offset"] == 5000


def test_data_file_with_every_recording_channel(tmp_path: Path) -> None:
    write_recording(tmp_path)
    params = "sample_rate = 30000.0\nn_channels_dat = 8\n"
    good = write_ks_folder(
        tmp_path / "all", **{"params.py": params, "channel_map.npy": np.array([0, 1, 2, 4, 5, 6])}
    )
    convert_kilosort_output(
        good.folder,
        source_vex_path=tmp_path / "rec_0.xdat",
        sink_bio_path=tmp_path,
        sink_bio_basename="all",
    )
    with SpikesReader(tmp_path / "all") as reader:
        ntv = {0: 30, 1: 29, 2: 28, 4: 27, 5: 26, 6: 25}  # column 3 is the digital input
        expect = [ntv[c] for c in (0, 1, 2, 4, 5, 6)]
        assert [c.ntv_idx for c in reader.metadata.channels] == expect
    bad = write_ks_folder(
        tmp_path / "din", **{"params.py": params, "channel_map.npy": np.arange(6)}
    )
    before = listing(tmp_path)
    with pytest.raises(FormatError, match=r"maps to non-amplifier channel\(s\) \['DIN-00'\]"):
        convert_kilosort_output(bad.folder, source_vex_path=tmp_path / "rec_0.xdat")
    assert listing(tmp_path) == before


@pytest.mark.parametrize(
    ("recording", "message"),
    [
        ({"fs": 20000.0}, r"sample_rate 30000 Hz but the recording rec_0\.xdat\.json is at 20000"),
        ({"n_samples": 50_000}, r"spike at sample \d+ but the recording .* holds 50000 samples"),
    ],
)
def test_recording_mismatch(
    ks: KsFolder, tmp_path: Path, recording: dict[str, Any], message: str
) -> None:
    rec_dir = tmp_path / "rec"
    rec_dir.mkdir()
    write_recording(rec_dir, **recording)
    before = listing(rec_dir)
    with pytest.raises(FormatError, match=message):
        convert_kilosort_output(ks.folder, source_vex_path=rec_dir, source_vex_basename="rec_0")
    assert listing(rec_dir) == before


def test_channel_count_mismatch_with_recording(tmp_path: Path) -> None:
    write_recording(tmp_path)
    ks = write_ks_folder(tmp_path / "ks", **{"params.py": "sample_rate = 3e4\nn_channels_dat = 6"})
    with pytest.raises(FormatError, match=r"n_channels_dat = 6 but the recording rec_0"):
        convert_kilosort_output(ks.folder, source_vex_path=tmp_path / "rec_0")
    with pytest.raises(FormatError, match=r"rec_9\.xdat\.json: metadata file not found"):
        convert_kilosort_output(ks.folder, source_vex_path=tmp_path / "rec_9")


# ------------------------------------------------------------------ bad folders
BAD_FOLDERS: list[tuple[dict[str, Any], str]] = [
    ({"spike_times.npy": None}, r"spike_times\.npy: file not found"),
    ({"spike_clusters.npy": np.zeros(N_SPIKES - 1, np.int32)}, r"499 entries for 500 spikes"),
    ({"spike_templates.npy": np.zeros((N_SPIKES, 2), np.int32)}, r"must be a vector of integers"),
    (
        {"spike_templates.npy": np.full(N_SPIKES, 4), "spike_clusters.npy": None},
        r"template id 4 but templates\.npy holds only 4 templates",
    ),
    ({"spike_clusters.npy": None, "spike_templates.npy": None}, r"neither spike_clusters"),
    ({"spike_clusters.npy": np.full(N_SPIKES, -1)}, r"negative id -1"),
    ({"spike_times.npy": np.arange(N_SPIKES)[::-1].copy()}, r"spike times decrease at spike 1"),
    ({"spike_times.npy": np.arange(N_SPIKES, dtype=float)}, r"must be a vector of integers"),
    ({"spike_times.npy": np.arange(N_SPIKES) - 3}, r"negative sample index -3"),
    ({"spike_times.npy": b"\x93NUMPY garbage"}, r"spike_times\.npy: cannot read the \.npy file"),
    ({"templates.npy": b"not numpy"}, r"templates\.npy: cannot read the \.npy file"),
    ({"templates.npy": np.zeros((4, N_PTS))}, r"must be a real \(n_templates, n_pts, n_channels"),
    ({"templates.npy": np.full((4, N_PTS, N_MAP), np.nan)}, r"NaN or infinite"),
    ({"templates.npy": np.zeros((4, N_PTS, 5))}, r"5 channels per template but channel_map"),
    ({"templates.npy": None}, r"templates\.npy: file not found"),
    ({"channel_map.npy": np.array([0, 1, 2, 3, 4, 7])}, r"channel 7 but params\.py says"),
    ({"channel_map.npy": np.array([0, 1, 2, 3, 4, 4])}, r"repeats a channel"),
    ({"channel_map.npy": None}, r"channel_map\.npy: file not found"),
    ({"channel_positions.npy": np.zeros((N_MAP, 4))}, r"must have shape \(6, 2 or 3\)"),
    ({"whitening_mat_inv.npy": np.eye(3)}, r"must be a real \(6, 6\) matrix"),
    ({"amplitudes.npy": np.ones(N_SPIKES - 2)}, r"498 amplitudes for 500 spikes"),
    ({"amplitudes.npy": np.full(N_SPIKES, np.inf)}, r"amplitudes\.npy: holds NaN"),
    ({"params.py": None}, r"params\.py: params file not found"),
    ({"params.py": "n_channels_dat = 7\n"}, r"sample_rate must be a positive number, found noth"),
    ({"params.py": "sample_rate = -5\n"}, r"sample_rate must be a positive number, found -5"),
    ({"params.py": "sample_rate = '30k'\n"}, r"sample_rate must be a positive number"),
    ({"params.py": "sample_rate = 10**400\n"}, r"sample_rate must be a positive number"),
    ({"params.py": "sample_rate = (\n"}, r"not a Python params file"),
    ({"params.py": "sample_rate = 3e4\nn_channels_dat = 0"}, r"n_channels_dat must be a pos"),
    ({"params.py": b"sample_rate = 3e4 # \xff\n"}, r"cannot read the params file"),
    ({"cluster_group.tsv": "cluster_id\tgroup\nseven\tgood\n"}, r"line 2 is not"),
    ({"cluster_group.tsv": "id\tgroup\n1\tgood\n"}, r"needs columns cluster_id and group"),
    (
        {
            "params.py": "dat_path = 'rec.bin'\nn_channels_dat = 7\ndtype = 'int16'\n"
            "sample_rate = 30000.\n",
            "rec.bin": b"\0" * (7 * 2 * 1000),
        },
        r"spike at sample \d+ but the data file rec\.bin holds 1000 samples",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_FOLDERS)
def test_bad_folders_raise_format_error_and_write_nothing(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    ks = write_ks_folder(tmp_path / "ks", **overrides)
    before = listing(ks.folder)
    with pytest.raises(FormatError, match=message):
        convert_kilosort_output(ks.folder)
    assert listing(ks.folder) == before


def test_explicit_scaling_needs_amplitudes(tmp_path: Path) -> None:
    ks = write_ks_folder(tmp_path / "ks", **{"amplitudes.npy": None})
    with pytest.raises(FormatError, match=r"amplitudes\.npy: file not found \(needed by"):
        convert_kilosort_output(ks.folder, amplitude_scaling="kilosort")
    with SpikesReader(convert_kilosort_output(ks.folder).json) as reader:  # auto: templates
        assert reader.metadata.provenance.details["amplitude_scaling"] == "none"


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"nope: Kilosort output folder not found"):
        convert_kilosort_output(tmp_path / "nope")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source_bio_path": ""}, "source_bio_path"),
        ({"amplitude_scaling": "loud"}, "amplitude_scaling must be one of"),
        ({"gain_to_uv": 0.0}, "gain_to_uv"),
        ({"gain_to_uv": float("nan")}, "gain_to_uv"),
        ({"pre_pts": N_PTS}, r"pre_pts must be an int in \[0, 21\)"),
        ({"pre_pts": -1}, "pre_pts"),
        ({"unlabeled_groups": "noise"}, "unlabeled_groups"),
        ({"sink_bio_basename": "a.b"}, "not a valid spikes base name"),
    ],
)
def test_bad_arguments(ks: KsFolder, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"source_bio_path": ks.folder, **kwargs}
    before = listing(ks.folder)
    with pytest.raises(InvalidArgument, match=message):
        convert_kilosort_output(**args)
    assert listing(ks.folder) == before


def test_an_existing_set_is_never_overwritten(ks: KsFolder, tmp_path: Path) -> None:
    with SpikesWriter(tmp_path / "taken", FS, 5, 1):
        pass
    before = listing(tmp_path)
    with pytest.raises(FileExistsError, match="never overwritten"):
        convert_kilosort_output(ks.folder, sink_bio_path=tmp_path, sink_bio_basename="taken")
    assert listing(tmp_path) == before


def test_failure_while_writing_removes_the_partial_set(
    ks: KsFolder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kilosort_module, "_CHUNK", 100)
    real = SpikesWriter.append
    calls = []

    def failing(self: SpikesWriter, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(self, *args, **kwargs)

    monkeypatch.setattr(SpikesWriter, "append", failing)
    with pytest.raises(OSError, match="No space left"):
        convert_kilosort_output(ks.folder, sink_bio_path=tmp_path, sink_bio_basename="half")
    assert len(calls) == 3
    assert not any(p.exists() for p in spikes_paths(tmp_path / "half"))
    assert not list(tmp_path.glob(".*partial"))


def test_params_py_is_parsed_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    params = tmp_path / "params.py"
    params.write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n"
        "sample_rate = 25000.0\nn_channels_dat = 4\nscale = 2 * 3\ndat_path = ['a.bin']\n"
    )
    out = read_params(params)
    assert out == {"sample_rate": 25000.0, "n_channels_dat": 4, "dat_path": ["a.bin"]}
    assert not marker.exists()


def test_dat_file_sets_the_searched_span(tmp_path: Path) -> None:
    params = (
        "dat_path = r'data/rec.bin'\nn_channels_dat = 7\ndtype = 'int16'\noffset = 0\n"
        "sample_rate = 30000.0\n"
    )
    ks = write_ks_folder(tmp_path / "ks", **{"params.py": params})
    (ks.folder / "data").mkdir()
    (ks.folder / "data" / "rec.bin").write_bytes(b"\0" * (7 * 2 * 90_000))
    with SpikesReader(convert_kilosort_output(ks.folder).json) as reader:
        assert reader.time_range == (0.0, 3.0)
    shutil.rmtree(ks.folder / "data")


def test_a_sorting_without_spikes(tmp_path: Path) -> None:
    empty = np.zeros((0, 1), np.int64)
    ks = write_ks_folder(
        tmp_path / "ks",
        **{
            "spike_times.npy": empty,
            "spike_templates.npy": empty,
            "spike_clusters.npy": empty,
            "amplitudes.npy": np.zeros(0),
            "cluster_group.tsv": "cluster_id\tgroup\n",
        },
    )
    with SpikesReader(convert_kilosort_output(ks.folder).json) as reader:
        assert reader.n_spikes == 0 and reader.metadata.units == []
        assert reader.metadata.complete and reader.waveforms().shape == (0, N_PTS)
