"""The chunked file pipeline equals the whole-signal result for every operation."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from curate_recordings import CurateRecording, write_curate_recording

from radiens_async.errors import InvalidArgument, JobCancelled
from radiens_async.formats.xdat import XdatReader, xdat_paths
from radiens_async.hub.jobs.dsp_ops import (
    BandPass,
    BandStop,
    CommonAverage,
    Decimate,
    DspOp,
    HighPass,
    LowPass,
    Notch,
    PairedDiff,
    SliceChannels,
    SliceTime,
    VirtualRef,
    plan_for,
)
from radiens_async.hub.jobs.file_pipeline import run_xdat_pipeline

AMP = slice(0, 6)
ANALOG = slice(0, 7)
DIGITAL = 7


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CurateRecording]:
    recording = write_curate_recording(tmp_path_factory.mktemp("src"), n=90_000)
    before = recording.checksum()
    yield recording
    assert recording.checksum() == before  # the source is never modified


def _run(rec: CurateRecording, op: DspOp, target: Path, chunk: int | None = 7_000) -> XdatReader:
    before = rec.checksum()
    with XdatReader(rec.base) as reader:
        plan = plan_for(op, reader.metadata)
    run_xdat_pipeline(rec.base, target, plan, stop=threading.Event(), chunk_samples=chunk)
    assert rec.checksum() == before
    return XdatReader(target)


def _rms_close(got: np.ndarray, want: np.ndarray) -> None:
    rms = float(np.sqrt(np.mean(want.astype(np.float64) ** 2)))
    err = float(np.max(np.abs(got.astype(np.float64) - want)))
    assert err <= 1e-4 * rms, f"max error {err:g} > 1e-4 x RMS {rms:g}"


FILTERS = [
    (LowPass(750.0), signal.butter(4, 750.0, "lowpass", fs=30000.0, output="sos")),
    (HighPass(20.0), signal.butter(4, 20.0, "highpass", fs=30000.0, output="sos")),
    (BandPass(300.0, 6000.0), signal.butter(2, [300, 6000], "bandpass", fs=30000.0, output="sos")),
    (BandStop(750.0, 2000.0), signal.butter(2, [750, 2000], "bandstop", fs=30000.0, output="sos")),
    (Notch(50.0, 2.0), signal.tf2sos(*signal.iirnotch(50.0, 25.0, fs=30000.0))),
]


@pytest.mark.parametrize(("op", "sos"), FILTERS, ids=lambda v: type(v).__name__)
def test_every_filter_chunked_equals_whole_signal_sosfiltfilt(
    rec: CurateRecording, tmp_path: Path, op: DspOp, sos: np.ndarray
) -> None:
    with _run(rec, op, tmp_path / "out") as out:
        got = out.read()
        assert out.fs == rec.fs and out.metadata.timestamp_range[0] == rec.first_sample
        assert out.time_range[0] == pytest.approx(rec.t0)
    want = signal.sosfiltfilt(sos, rec.data[ANALOG].astype(np.float64), axis=-1)
    _rms_close(got[ANALOG], want)
    np.testing.assert_array_equal(got[DIGITAL], rec.data[DIGITAL])  # digital untouched


def test_chunk_size_does_not_change_the_result(rec: CurateRecording, tmp_path: Path) -> None:
    with (
        _run(rec, BandPass(300.0, 6000.0), tmp_path / "a", chunk=5_001) as a,
        _run(rec, BandPass(300.0, 6000.0), tmp_path / "b", chunk=None) as b,
    ):
        _rms_close(a.read(), b.read().astype(np.float64))


def test_car_equals_numpy_mean_reference(rec: CurateRecording, tmp_path: Path) -> None:
    with _run(rec, CommonAverage(), tmp_path / "car") as out:
        got = out.read()
    amp = rec.data[AMP]
    want = amp - amp.mean(axis=0, dtype=np.float64)
    np.testing.assert_allclose(got[AMP], want, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(got[6:], rec.data[6:])


def test_paired_diff_and_virtual_ref_equal_numpy(rec: CurateRecording, tmp_path: Path) -> None:
    with _run(rec, PairedDiff(1, 4), tmp_path / "pd") as out:
        got = out.read()
    want = rec.data.copy()
    want[1] = rec.data[1] - rec.data[4]
    want[4] = 0.0
    np.testing.assert_array_equal(got, want)
    with _run(rec, VirtualRef(2), tmp_path / "vr") as out:
        got = out.read()
    want = rec.data.copy()
    want[AMP] = rec.data[AMP] - rec.data[2]
    want[2] = 0.0
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("factor", [2, 3, 7])
def test_decimation_equals_scipy_decimate(
    rec: CurateRecording, tmp_path: Path, factor: int
) -> None:
    with _run(rec, Decimate(factor), tmp_path / "dec") as out:
        got = out.read()
        assert out.fs == pytest.approx(rec.fs / factor)
        assert out.n_samples == -(-rec.data.shape[1] // factor)
    want = signal.decimate(rec.data[ANALOG].astype(np.float64), factor, ftype="iir", axis=-1)
    _rms_close(got[ANALOG], want)
    np.testing.assert_array_equal(got[DIGITAL], rec.data[DIGITAL, ::factor])


def test_slice_time_is_an_exact_copy_of_the_window(rec: CurateRecording, tmp_path: Path) -> None:
    t0 = rec.t0
    with _run(rec, SliceTime(t0 + 0.5, t0 + 1.25), tmp_path / "st") as out:
        got = out.read()
        assert out.time_range[0] == pytest.approx(t0 + 0.5)
        assert out.metadata.timestamp_range[0] == rec.first_sample + 15_000
    np.testing.assert_array_equal(got, rec.data[:, 15_000:37_500])


def test_slice_channels_removes_the_listed_system_indices(
    rec: CurateRecording, tmp_path: Path
) -> None:
    with _run(rec, SliceChannels((0, 2, 7)), tmp_path / "sc") as out:
        got = out.read()
        names = [ch.name for ch in out.metadata.channels]
    assert names == ["A-001", "A-003", "A-004", "A-005", "AIN-00"]
    np.testing.assert_array_equal(got, rec.data[[1, 3, 4, 5, 6]])


@pytest.mark.parametrize(
    "op",
    [
        LowPass(15000.0),
        HighPass(0.0),
        BandPass(6000.0, 300.0),
        BandStop(500.0, 500.0),
        Notch(50.0, -1.0),
        Notch(15000.0, 2.0),
        Decimate(1),
        Decimate(0),
        SliceTime(2.0, 1.9),
        SliceTime(0.0, 1.0),
        SliceTime(3.0, 99.0),
        SliceChannels((99,)),
        SliceChannels(()),
        PairedDiff(0, 0),
        PairedDiff(0, 42),
        VirtualRef(6),
    ],
    ids=repr,
)
def test_bad_operations_are_refused_before_any_work(rec: CurateRecording, op: DspOp) -> None:
    with XdatReader(rec.base) as reader, pytest.raises(InvalidArgument):
        plan_for(op, reader.metadata)


def test_cancelled_run_leaves_no_target(rec: CurateRecording, tmp_path: Path) -> None:
    stop = threading.Event()
    calls: list[float] = []

    def progress(done_s: float) -> None:
        calls.append(done_s)
        stop.set()

    with XdatReader(rec.base) as reader:
        plan = plan_for(BandPass(300.0, 6000.0), reader.metadata)
    with pytest.raises(JobCancelled):
        run_xdat_pipeline(
            rec.base, tmp_path / "x", plan, stop=stop, on_progress=progress, chunk_samples=3000
        )
    assert calls and calls[0] == pytest.approx(0.1)
    assert list(tmp_path.iterdir()) == []


def test_failed_run_leaves_no_target_and_existing_target_needs_force(
    rec: CurateRecording, tmp_path: Path
) -> None:
    with XdatReader(rec.base) as reader:
        plan = plan_for(CommonAverage(), reader.metadata)

    def boom(done_s: float) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_xdat_pipeline(rec.base, tmp_path / "x", plan, stop=threading.Event(), on_progress=boom)
    assert list(tmp_path.iterdir()) == []
    run_xdat_pipeline(rec.base, tmp_path / "x", plan, stop=threading.Event())
    with pytest.raises(FileExistsError):
        run_xdat_pipeline(rec.base, tmp_path / "x", plan, stop=threading.Event())
    run_xdat_pipeline(rec.base, tmp_path / "x", plan, stop=threading.Event(), force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in xdat_paths(tmp_path / "x")
    )


def test_written_target_opens_in_neo_with_the_same_traces(
    rec: CurateRecording, tmp_path: Path
) -> None:
    neo_rawio = pytest.importorskip("neo.rawio")
    with _run(rec, BandPass(300.0, 6000.0), tmp_path / "bp") as out:
        ours = out.read()
    io = neo_rawio.NeuroNexusRawIO(filename=str(xdat_paths(tmp_path / "bp").json))
    io.parse_header()
    assert io.get_signal_sampling_rate(0) == rec.fs
    amp_stream = list(io.header["signal_streams"]["id"]).index("ai-pri")
    names = list(io.header["signal_channels"]["name"])
    raw = io.get_analogsignal_chunk(0, 0, stream_index=amp_stream)
    got = io.rescale_signal_raw_to_float(raw, dtype="float32", stream_index=amp_stream)
    assert got.shape[0] == rec.data.shape[1]
    assert io.segment_t_start(0, 0) == pytest.approx(rec.t0)
    np.testing.assert_array_equal(got.T, ours[:6])
    assert names[0] == "A-000"


@pytest.mark.parametrize("op", [Decimate(3), LowPass(1000.0), Notch(60.0, 4.0)], ids=repr)
def test_a_source_too_short_for_the_filter_is_refused_before_any_work(
    tmp_path: Path, op: DspOp
) -> None:
    short = write_curate_recording(tmp_path, name="short_0", n=5)
    refused = pytest.raises(InvalidArgument, match="this filter needs at least")
    with XdatReader(short.base) as reader, refused:
        plan_for(op, reader.metadata)
    with XdatReader(short.base) as reader:  # no filter, no minimum length
        assert plan_for(CommonAverage(), reader.metadata).stop == 5
