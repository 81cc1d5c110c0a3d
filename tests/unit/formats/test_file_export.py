"""Exporters for file_convert, read back by independent readers (numpy, h5py, pynwb,
nwbinspector, SpikeInterface)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from curate_recordings import CurateRecording, write_curate_recording

from radiens_async.errors import FormatError, JobCancelled
from radiens_async.formats.csv_export import export_csv
from radiens_async.formats.export_control import ExportControl
from radiens_async.formats.hdf5_export import export_hdf5
from radiens_async.formats.kilosort2_export import export_kilosort2
from radiens_async.formats.nwb_export import export_nwb

AMP = slice(0, 6)


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CurateRecording]:
    recording = write_curate_recording(tmp_path_factory.mktemp("src"), n=45_000)
    before = recording.checksum()
    yield recording
    assert recording.checksum() == before  # the source is never modified


def test_csv_holds_time_and_every_channel(rec: CurateRecording, tmp_path: Path) -> None:
    before = rec.checksum()
    out = export_csv(rec.base, tmp_path / "rec.csv")
    assert rec.checksum() == before
    header = out.read_text().split("\n", 1)[0].split(",")
    assert header == ["time_s", *[ch.name for ch in rec.channels]]
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (rec.data.shape[1], len(rec.channels) + 1)
    np.testing.assert_allclose(table[:, 0], rec.t0 + np.arange(rec.data.shape[1]) / rec.fs)
    np.testing.assert_allclose(table[:, 1:].T, rec.data, rtol=1e-6, atol=1e-6)


def test_hdf5_round_trips_through_h5py(rec: CurateRecording, tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    out = export_hdf5(rec.base, tmp_path / "rec.h5")
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(f["signals"][:].T, rec.data)
        np.testing.assert_array_equal(
            f["timestamps"][:], rec.first_sample + np.arange(rec.data.shape[1])
        )
        assert f.attrs["samp_freq"] == rec.fs
        names = [n.decode() if isinstance(n, bytes) else n for n in f["channels"]["chan_name"]]
        assert names == [ch.name for ch in rec.channels]


def test_nwb_reads_back_in_pynwb_and_passes_nwbinspector(
    rec: CurateRecording, tmp_path: Path
) -> None:
    pynwb = pytest.importorskip("pynwb")
    inspector = pytest.importorskip("nwbinspector")
    done: list[float] = []
    subject = {"subject_id": "m1", "species": "Rattus norvegicus", "sex": "M", "age": "P90D"}
    out = export_nwb(
        rec.base,
        tmp_path / "rec.nwb",
        control=ExportControl(on_progress=done.append),
        subject=subject,
    )
    assert done and done[-1] == pytest.approx(rec.data.shape[1] / rec.fs)
    with pynwb.NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        es = nwb.acquisition["ElectricalSeries"]
        np.testing.assert_array_equal(es.data[:].T, rec.data[AMP])
        assert es.conversion == 1e-6 and es.rate == rec.fs
        assert es.starting_time == pytest.approx(rec.t0)
        np.testing.assert_array_equal(nwb.acquisition["AnalogIn"].data[:, 0], rec.data[6])
        np.testing.assert_array_equal(nwb.acquisition["DigitalIn"].data[:, 0], rec.data[7])
        assert list(nwb.electrodes["channel_name"][:]) == [ch.ntv_name for ch in rec.channels[:6]]
    messages = list(inspector.inspect_nwbfile(nwbfile_path=str(out)))
    serious = [
        m
        for m in messages
        if m.importance
        in (inspector.Importance.CRITICAL, inspector.Importance.BEST_PRACTICE_VIOLATION)
    ]
    assert serious == [], [f"{m.check_function_name}: {m.message}" for m in serious]


def test_nwb_without_a_known_subject_misses_only_species_and_age(
    rec: CurateRecording, tmp_path: Path
) -> None:
    pytest.importorskip("pynwb")
    inspector = pytest.importorskip("nwbinspector")
    out = export_nwb(rec.base, tmp_path / "rec.nwb")
    serious = {
        m.check_function_name
        for m in inspector.inspect_nwbfile(nwbfile_path=str(out))
        if m.importance
        in (inspector.Importance.CRITICAL, inspector.Importance.BEST_PRACTICE_VIOLATION)
    }
    assert serious <= {"check_subject_age", "check_subject_species_exists"}


def test_kilosort2_binary_loads_in_spikeinterface_within_quantization(
    rec: CurateRecording, tmp_path: Path
) -> None:
    si = pytest.importorskip("spikeinterface.core")
    out = export_kilosort2(rec.base, tmp_path / "rec.bin")
    params: dict[str, object] = {}
    exec((tmp_path / "params.py").read_text(), params)
    assert params["dat_path"] == "rec.bin" and params["n_channels_dat"] == 6
    recording = si.read_binary(
        out,
        sampling_frequency=params["sample_rate"],
        dtype=params["dtype"],
        num_channels=params["n_channels_dat"],
        gain_to_uV=params["gain_to_uV"],
        offset_to_uV=0.0,
    )
    traces = recording.get_traces(return_in_uV=True)
    gain = float(params["gain_to_uV"])  # type: ignore[arg-type]
    assert gain == pytest.approx(0.195)
    assert np.max(np.abs(traces.T - rec.data[AMP])) <= gain / 2 + 1e-4


def test_kilosort2_gain_grows_to_fit_a_large_peak(tmp_path: Path) -> None:
    rec = write_curate_recording(tmp_path, n=3000)
    big = write_curate_recording(tmp_path, name="big", n=3000, seed=1)
    assert rec.data.max() < 32767 * 0.195
    from radiens_async.formats.xdat import XdatWriter

    loud = big.data.copy()
    loud[0, 100] = 50_000.0
    with XdatWriter(tmp_path / "loud", big.fs, big.channels) as w:
        w.append(loud)
    (tmp_path / "ks").mkdir()
    out = export_kilosort2(tmp_path / "loud", tmp_path / "ks" / "loud.bin")
    params: dict[str, object] = {}
    exec((tmp_path / "ks" / "params.py").read_text(), params)
    counts = np.fromfile(out, "<i2").reshape(-1, 6)
    assert counts[100, 0] == 32767
    assert float(params["gain_to_uV"]) == pytest.approx(50_000.0 / 32767)  # type: ignore[arg-type]


@pytest.mark.parametrize("export", [export_csv, export_hdf5, export_nwb, export_kilosort2])
def test_cancelled_export_leaves_nothing(
    rec: CurateRecording, tmp_path: Path, export: object
) -> None:
    if export is export_hdf5:
        pytest.importorskip("h5py")
    if export is export_nwb:
        pytest.importorskip("pynwb")
    stop = threading.Event()
    stop.set()
    with pytest.raises(JobCancelled):
        export(rec.base, tmp_path / "out.nwb", control=ExportControl(stop=stop))  # type: ignore[operator]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("export", [export_csv, export_kilosort2])
def test_existing_target_needs_force_and_bad_source_is_refused(
    rec: CurateRecording, tmp_path: Path, export: object
) -> None:
    target = tmp_path / "out.bin"
    export(rec.base, target)  # type: ignore[operator]
    first = target.read_bytes()
    with pytest.raises(FileExistsError):
        export(rec.base, target)  # type: ignore[operator]
    assert target.read_bytes() == first
    export(rec.base, target, force=True)  # type: ignore[operator]
    with pytest.raises(FormatError):
        export(tmp_path / "missing", tmp_path / "other.bin")  # type: ignore[operator]
    assert not (tmp_path / "other.bin").exists()
