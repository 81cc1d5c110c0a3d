"""A finished conversion job reports what its target holds: channels and time range read back
from the written file and checked against independent readers (pandas, h5py, pynwb,
SpikeInterface)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from curate_recordings import (
    CurateRecording,
    curate_channels,
    curate_signals,
    write_curate_recording,
)

from radiens_async.errors import FormatError, NotFound
from radiens_async.formats.csv_export import export_csv
from radiens_async.formats.hdf5_export import export_hdf5
from radiens_async.formats.kilosort2_export import export_kilosort2
from radiens_async.formats.nwb_export import export_nwb
from radiens_async.formats.xdat import XdatWriter
from radiens_async.hub.jobs.export_description import (
    describe_export,
    describe_job_target,
    written_extent,
)
from radiens_async.utils.enums import RadiensFileType, SignalType

N = 30_000
EXPORTERS = {
    RadiensFileType.CSV: (export_csv, "rec.csv"),
    RadiensFileType.HDF5: (export_hdf5, "rec.h5"),
    RadiensFileType.NWB: (export_nwb, "rec.nwb"),
    RadiensFileType.KILOSORT2: (export_kilosort2, "rec.bin"),
}


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CurateRecording]:
    # digital first, analog last: NWB regroups channels by type, the others keep the order
    amp, ain, din = (lambda c: (c[:6], c[6:7], c[7:8]))(curate_channels(6, 1, 1))
    chans = [ch.model_copy(update={"sys_idx": i}) for i, ch in enumerate(din + amp + ain)]
    recording = write_curate_recording(tmp_path_factory.mktemp("src"), n=N, channels=chans)
    before = recording.checksum()
    yield recording
    assert recording.checksum() == before


@pytest.fixture(scope="module")
def exports(
    rec: CurateRecording, tmp_path_factory: pytest.TempPathFactory
) -> dict[RadiensFileType, Path]:
    out = tmp_path_factory.mktemp("out")
    return {kind: fn(rec.base, out / name) for kind, (fn, name) in EXPORTERS.items()}


def _names_read_back(kind: RadiensFileType, target: Path) -> list[str]:
    """The channel names (or native names) the target itself records, by an outside reader."""
    if kind is RadiensFileType.CSV:
        import pandas as pd

        return list(pd.read_csv(target, nrows=0).columns[1:])
    if kind is RadiensFileType.HDF5:
        import h5py

        with h5py.File(target) as f:
            return [n.decode() for n in f["channels"]["chan_name"]]
    if kind is RadiensFileType.NWB:
        from pynwb import NWBHDF5IO

        with NWBHDF5IO(str(target), "r") as io:
            nwb = io.read()
            names = list(nwb.electrodes["channel_name"][:])
            for series in ("AnalogIn", "DigitalIn", "DigitalOut"):
                if series in nwb.acquisition:
                    names += nwb.acquisition[series].description.split("channels ")[1].split(", ")
            return names
    raise AssertionError(kind)


def _samples_read_back(kind: RadiensFileType, target: Path) -> tuple[int, int]:
    """``(n_samples, n_channels)`` of the target by an outside reader."""
    if kind is RadiensFileType.CSV:
        import pandas as pd

        return pd.read_csv(target).shape[0], pd.read_csv(target, nrows=0).shape[1] - 1
    if kind is RadiensFileType.HDF5:
        import h5py

        with h5py.File(target) as f:
            return f["signals"].shape
    if kind is RadiensFileType.NWB:
        from pynwb import NWBHDF5IO

        with NWBHDF5IO(str(target), "r") as io:
            series = list(io.read().acquisition.values())
            widths = [s.data.shape[1] if len(s.data.shape) > 1 else 1 for s in series]
            assert len({s.data.shape[0] for s in series}) == 1
            return series[0].data.shape[0], sum(widths)
    si = pytest.importorskip("spikeinterface.extractors")
    ks = si.read_binary(
        target, sampling_frequency=30000.0, dtype="int16", num_channels=6, time_axis=0
    )
    return ks.get_num_samples(), ks.get_num_channels()


@pytest.mark.parametrize("kind", list(EXPORTERS), ids=lambda k: k.name)
def test_export_is_described_by_what_it_wrote(
    kind: RadiensFileType, rec: CurateRecording, exports: dict[RadiensFileType, Path]
) -> None:
    target = exports[kind]
    meta = describe_export(kind, target, rec.path)
    n_samples, n_channels = _samples_read_back(kind, target)
    cm = meta.channel_metadata
    assert (meta.file_type, meta.base_name, meta.path) == (kind, "rec", str(target.parent))
    assert cm.num_sigs_total() == n_channels
    assert meta.TR.N == n_samples == N
    assert meta.TR.timestamp.tolist() == [rec.first_sample, rec.first_sample + N]
    np.testing.assert_allclose(meta.TR.sec, [rec.t0, rec.t0 + N / rec.fs])
    if kind is not RadiensFileType.KILOSORT2:
        assert [ch.chan_name for ch in cm.channels] == _names_read_back(kind, target)
    # sys indices are the target's own, 0..n-1 in its channel order
    assert [ch.sys_key_idx for ch in cm.channels] == list(range(n_channels))


def test_kilosort2_reports_only_the_amplifier_channels(
    rec: CurateRecording, exports: dict[RadiensFileType, Path]
) -> None:
    meta = describe_export(RadiensFileType.KILOSORT2, exports[RadiensFileType.KILOSORT2], rec.path)
    cm = meta.channel_metadata
    assert cm.num_sigs(SignalType.AMP) == 6
    assert cm.num_sigs(SignalType.AIN) == cm.num_sigs(SignalType.DIN) == 0
    assert [ch.chan_name for ch in cm.channels] == [f"A-{i:03d}" for i in range(6)]


def test_nwb_lists_channels_in_series_order_and_csv_hdf5_in_source_order(
    rec: CurateRecording, exports: dict[RadiensFileType, Path]
) -> None:
    source_order = [ch.name for ch in rec.channels]
    for kind in (RadiensFileType.CSV, RadiensFileType.HDF5):
        cm = describe_export(kind, exports[kind], rec.path).channel_metadata
        assert [ch.chan_name for ch in cm.channels] == source_order
    nwb = describe_export(RadiensFileType.NWB, exports[RadiensFileType.NWB], rec.path)
    types = [ch.chan_type for ch in nwb.channel_metadata.channels]
    assert types == [SignalType.AMP] * 6 + [SignalType.AIN, SignalType.DIN]


def test_written_extent_of_each_type(
    rec: CurateRecording, exports: dict[RadiensFileType, Path]
) -> None:
    from radiens_async.formats.xdat_reader import XdatReader

    with XdatReader(rec.base) as reader:
        md = reader.metadata
    extents = {kind: written_extent(kind, path, md) for kind, path in exports.items()}
    assert extents[RadiensFileType.CSV].columns == list(range(8))
    assert extents[RadiensFileType.NWB].columns == [1, 2, 3, 4, 5, 6, 7, 0]
    assert extents[RadiensFileType.KILOSORT2].columns == [1, 2, 3, 4, 5, 6]
    assert {(e.start, e.n_samples) for e in extents.values()} == {(0, N)}


def test_an_xdat_target_describes_itself(rec: CurateRecording) -> None:
    meta = describe_job_target(rec.base.with_name("rec_0.xdat.json"), "/nowhere/else.xdat")
    assert meta.file_type is RadiensFileType.XDAT
    assert meta.TR.N == N and meta.channel_metadata.num_sigs_total() == 8


def test_a_target_that_no_longer_matches_its_source_is_refused(
    rec: CurateRecording, exports: dict[RadiensFileType, Path], tmp_path: Path
) -> None:
    # a "source" with other channels and fewer samples than the targets hold
    other = write_curate_recording(tmp_path, "other", n=1000, channels=curate_channels(2, 0, 0))
    for kind, target in exports.items():
        with pytest.raises(FormatError):
            describe_export(kind, target, other.path)
    with pytest.raises(NotFound):
        describe_export(RadiensFileType.CSV, exports[RadiensFileType.CSV], tmp_path / "gone.xdat")
    with pytest.raises(FormatError, match="not an export target"):
        describe_export(RadiensFileType.XDAT, exports[RadiensFileType.CSV], rec.path)


def test_a_truncated_kilosort_binary_is_refused(
    rec: CurateRecording, exports: dict[RadiensFileType, Path], tmp_path: Path
) -> None:
    target = tmp_path / "rec.bin"
    shutil.copy(exports[RadiensFileType.KILOSORT2], target)
    shutil.copy(exports[RadiensFileType.KILOSORT2].with_name("params.py"), tmp_path)
    with open(target, "r+b") as f:
        f.truncate(target.stat().st_size - 3)
    with pytest.raises(FormatError, match="int16"):
        describe_export(RadiensFileType.KILOSORT2, target, rec.path)


def test_a_csv_of_a_later_window_reports_its_own_time_range(tmp_path: Path) -> None:
    # the CSV of a source that starts later in stream time: its rows carry that time
    chans = curate_channels(2, 0, 0)
    with XdatWriter(tmp_path / "late", 30000.0, chans, first_sample=90_000) as w:
        w.append(curate_signals(chans, 3000))
    target = export_csv(tmp_path / "late", tmp_path / "late.csv")
    meta = describe_export(RadiensFileType.CSV, target, tmp_path / "late.xdat")
    assert meta.TR.timestamp.tolist() == [90_000, 93_000]
    np.testing.assert_allclose(meta.TR.sec, [3.0, 3.1])
