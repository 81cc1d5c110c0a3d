"""AsyncCurateClient against a real hub: every operation's result, progress, cancel, bad input.

Every test checks that the source is unchanged (checksum before and after).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
from curate_recordings import CurateRecording, curate_channels, write_curate_recording
from scipy import signal

import radiens_async as radiens
from radiens_async.errors import (
    AlreadyExists,
    InvalidArgument,
    JobCancelled,
    NotFound,
)
from radiens_async.formats.xdat import XdatReader
from radiens_async.models.dsp_job import JobState
from radiens_async.utils.enums import RadiensFileType, SignalType

pytestmark = pytest.mark.anyio

AMP, ANALOG, DIGITAL = slice(0, 6), slice(0, 7), 7


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CurateRecording]:
    recording = write_curate_recording(tmp_path_factory.mktemp("curate_src"), n=60_000)
    before = recording.checksum()
    yield recording
    assert recording.checksum() == before


@pytest.fixture(scope="module")
def long_rec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CurateRecording]:
    """Long enough (16 ch x 20 s) that a CSV conversion runs for seconds."""
    recording = write_curate_recording(
        tmp_path_factory.mktemp("curate_long"),
        name="long_0",
        n=600_000,
        channels=curate_channels(n_amp=14, n_ain=1, n_din=1),
    )
    before = recording.checksum()
    yield recording
    assert recording.checksum() == before


@pytest.fixture
async def curate(address: str) -> AsyncIterator[radiens.AsyncCurateClient]:
    async with radiens.AsyncCurateClient(address) as client:
        yield client


def _rms_close(got: np.ndarray, want: np.ndarray) -> None:
    rms = float(np.sqrt(np.mean(np.asarray(want, np.float64) ** 2)))
    assert float(np.max(np.abs(got - want))) <= 1e-4 * rms


def _read(base: Path) -> np.ndarray:
    with XdatReader(base) as reader:
        return reader.read()


async def test_every_dsp_operation_returns_the_targets_metadata_and_right_samples(
    curate: radiens.AsyncCurateClient, rec: CurateRecording, tmp_path: Path
) -> None:
    x = rec.data.astype(np.float64)
    fs = rec.fs
    src = rec.path
    bp = signal.butter(2, [300, 6000], "bandpass", fs=fs, output="sos")
    cases = {
        "lp": (
            curate.dsp_low_pass_filter(750, src, tmp_path / "lp"),
            signal.butter(4, 750, fs=fs, output="sos"),
        ),
        "hp": (
            curate.dsp_high_pass_filter(20, src, tmp_path / "hp"),
            signal.butter(4, 20, "highpass", fs=fs, output="sos"),
        ),
        "bp": (curate.dsp_band_pass_filter(300, 6000, src, tmp_path / "bp"), bp),
        "bs": (
            curate.dsp_band_stop_filter(750, 2000, src, tmp_path / "bs"),
            signal.butter(2, [750, 2000], "bandstop", fs=fs, output="sos"),
        ),
        "notch": (
            curate.dsp_notch_filter(50, 2, src, tmp_path / "notch"),
            signal.tf2sos(*signal.iirnotch(50, 25, fs=fs)),
        ),
    }
    for name, (submit, sos) in cases.items():
        job = await submit
        assert job.id.startswith(
            {
                "lp": "lp_filter",
                "hp": "hp_filter",
                "bp": "bp_filter",
                "bs": "bs_filter",
                "notch": "notch_filter",
            }[name]
            + "__"
        )
        meta = await job
        assert meta.base_name == name and meta.path == str(tmp_path)
        assert meta.file_type is RadiensFileType.XDAT
        assert meta.channel_metadata.num_sigs(SignalType.AMP) == 6
        assert meta.time_range.fs == fs
        got = _read(tmp_path / name)
        _rms_close(got[ANALOG], signal.sosfiltfilt(sos, x[ANALOG], axis=-1))
        np.testing.assert_array_equal(got[DIGITAL], rec.data[DIGITAL])

    meta = await (await curate.dsp_car(src, tmp_path / "car"))
    got = _read(tmp_path / "car")
    np.testing.assert_allclose(got[AMP], x[AMP] - x[AMP].mean(axis=0), rtol=0, atol=1e-4)

    await (await curate.dsp_paired_diff(1, 4, src, tmp_path / "pd"))
    want = rec.data.copy()
    want[1], want[4] = rec.data[1] - rec.data[4], 0.0
    np.testing.assert_array_equal(_read(tmp_path / "pd"), want)

    await (await curate.dsp_virtual_ref(2, str(src), str(tmp_path / "vr")))
    want = rec.data.copy()
    want[AMP] -= rec.data[2]
    want[2] = 0.0
    np.testing.assert_array_equal(_read(tmp_path / "vr"), want)

    meta = await (await curate.dsp_time_decimate(3, src, tmp_path / "dec"))
    assert meta.time_range.fs == pytest.approx(fs / 3)
    got = _read(tmp_path / "dec")
    _rms_close(got[ANALOG], signal.decimate(x[ANALOG], 3, ftype="iir", axis=-1))

    meta = await (await curate.dsp_slice_time(rec.t0 + 0.5, rec.t0 + 1.0, src, tmp_path / "st"))
    assert meta.time_range.sec[0] == pytest.approx(rec.t0 + 0.5)
    np.testing.assert_array_equal(_read(tmp_path / "st"), rec.data[:, 15_000:30_000])

    meta = await (await curate.dsp_slice_channels([0, 7], src, tmp_path / "sc"))
    assert meta.channel_metadata.num_sigs(SignalType.AMP) == 5
    np.testing.assert_array_equal(_read(tmp_path / "sc"), rec.data[1:7])


async def test_progress_streams_fractions_and_increments_to_done(
    curate: radiens.AsyncCurateClient, rec: CurateRecording, tmp_path: Path
) -> None:
    job = await curate.dsp_band_pass_filter(300, 6000, rec.path, tmp_path / "bp")
    messages = [p async for p in job.progress()]
    assert messages[-1].state is JobState.DONE and messages[-1].frac_complete == 1.0
    assert sum(p.increment_sec for p in messages) == pytest.approx(2.0)
    fracs = [p.frac_complete for p in messages]
    assert fracs == sorted(fracs)
    status = await job.status()
    assert status.state is JobState.DONE and status.result is not None
    assert status.result.base_name == "bp"
    assert job.id in [j.id for j in await curate.list_jobs()]
    assert (await curate.get_job(job.id)).target_path == str(tmp_path / "bp")


async def test_file_convert_to_every_supported_type(
    curate: radiens.AsyncCurateClient, rec: CurateRecording, tmp_path: Path
) -> None:
    inspector = pytest.importorskip("nwbinspector")
    subject = {"subject_id": "r1", "species": "Rattus norvegicus", "sex": "F", "age": "P60D"}
    jobs = {
        "csv": await curate.file_convert(rec.path, tmp_path / "a.csv"),
        "h5": await curate.file_convert(rec.path, tmp_path / "b", "hdf5"),
        "nwb": await curate.file_convert(rec.path, tmp_path / "c", "nwb", nwb_subject=subject),
        "ks": await curate.file_convert(rec.path, tmp_path / "d", RadiensFileType.KILOSORT2),
        "xdat": await curate.file_convert(rec.path, tmp_path / "e.xdat"),
    }
    metas = {name: await job for name, job in jobs.items()}
    assert all(job.kind == "file_convert" for job in jobs.values())
    assert metas["csv"].file_type is RadiensFileType.CSV and (tmp_path / "a.csv").exists()
    assert metas["h5"].file_type is RadiensFileType.HDF5 and (tmp_path / "b.h5").exists()
    assert metas["ks"].file_type is RadiensFileType.KILOSORT2
    assert (tmp_path / "d.bin").stat().st_size == 60_000 * 6 * 2
    assert (tmp_path / "params.py").exists()
    np.testing.assert_array_equal(_read(tmp_path / "e"), rec.data)
    assert metas["nwb"].base_name == "c"
    # each result describes what its target holds: every sample; Kilosort2 only the probe
    assert {m.TR.N for m in metas.values()} == {60_000}
    assert {m.TR.timestamp[0] for m in metas.values()} == {rec.first_sample}
    ks = metas["ks"].channel_metadata
    assert ks.num_sigs_total() == ks.num_sigs(SignalType.AMP) == 6
    for name in ("csv", "h5", "nwb", "xdat"):
        assert metas[name].channel_metadata.num_sigs_total() == 8, name
    serious = [
        m.message
        for m in inspector.inspect_nwbfile(nwbfile_path=str(tmp_path / "c.nwb"))
        if m.importance
        in (inspector.Importance.CRITICAL, inspector.Importance.BEST_PRACTICE_VIOLATION)
    ]
    assert serious == []


async def _first_progress(job: radiens.DspJob) -> None:
    async for p in job.progress():
        if p.processed_sec > 0:
            return


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _no_target(directory: Path) -> None:
    assert _names(directory) == []


async def test_cancel_stops_a_running_job_within_a_second_and_leaves_no_target(
    curate: radiens.AsyncCurateClient, long_rec: CurateRecording, tmp_path: Path
) -> None:
    job = await curate.file_convert(long_rec.path, tmp_path / "long.csv")
    await _first_progress(job)
    t0 = time.monotonic()
    status = await job.cancel()
    assert time.monotonic() - t0 < 1.0
    assert status.state is JobState.CANCELLED and 0 < status.frac_complete < 1
    _no_target(tmp_path)
    with pytest.raises(JobCancelled):
        await job


async def test_cancelling_the_awaiting_task_cancels_the_job(
    curate: radiens.AsyncCurateClient, long_rec: CurateRecording, tmp_path: Path
) -> None:
    job = await curate.file_convert(long_rec.path, tmp_path / "long.csv")
    waiter = asyncio.ensure_future(job.result())
    await _first_progress(job)
    t0 = time.monotonic()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    async for _ in job.progress():  # ends with the job's final state
        pass
    assert time.monotonic() - t0 < 1.0
    assert (await job.status()).state is JobState.CANCELLED
    _no_target(tmp_path)


async def test_cancel_stops_a_running_dsp_job_within_a_second(
    curate: radiens.AsyncCurateClient, tmp_path: Path
) -> None:
    big = write_curate_recording(
        tmp_path, name="big", n=2_400_000, channels=curate_channels(n_amp=14)
    )  # 16 ch x 80 s: a 1 Hz high-pass takes seconds (long margins)
    before = big.checksum()
    out = tmp_path / "out"
    out.mkdir()
    job = await curate.dsp_high_pass_filter(1.0, big.path, out / "hp")
    await _first_progress(job)
    t0 = time.monotonic()
    status = await job.cancel()
    assert time.monotonic() - t0 < 1.0
    assert status.state is JobState.CANCELLED and status.frac_complete < 1
    _no_target(out)
    assert big.checksum() == before


async def test_a_job_outlives_the_client_that_submitted_it(
    address: str, rec: CurateRecording, tmp_path: Path
) -> None:
    async with radiens.AsyncCurateClient(address) as first:
        job = await first.dsp_car(rec.path, tmp_path / "car")
    async with radiens.AsyncCurateClient(address) as second:
        again = await second.get_job(job.id)
        meta = await again
    assert meta.base_name == "car"


async def test_bad_input_is_refused_before_any_work(
    curate: radiens.AsyncCurateClient, rec: CurateRecording, tmp_path: Path
) -> None:
    src, out = rec.path, tmp_path / "out"
    (tmp_path / "taken.xdat.json").write_text("{}")
    (tmp_path / "notes.csv").write_text("a\n")
    before = {j.id for j in await curate.list_jobs()}
    t1 = rec.t0 + 2.0
    cases = [
        (InvalidArgument, lambda: curate.dsp_low_pass_filter(15000, src, out)),
        (InvalidArgument, lambda: curate.dsp_high_pass_filter(20000, src, out)),
        (InvalidArgument, lambda: curate.dsp_band_pass_filter(6000, 300, src, out)),
        (InvalidArgument, lambda: curate.dsp_band_stop_filter(300, 300, src, out)),
        (InvalidArgument, lambda: curate.dsp_notch_filter(50, -1, src, out)),
        (InvalidArgument, lambda: curate.dsp_notch_filter(16000, 2, src, out)),
        (InvalidArgument, lambda: curate.dsp_time_decimate(1, src, out)),
        (InvalidArgument, lambda: curate.dsp_time_decimate(0, src, out)),
        (InvalidArgument, lambda: curate.dsp_slice_time(t1, rec.t0, src, out)),
        (InvalidArgument, lambda: curate.dsp_slice_time(rec.t0 - 1, t1, src, out)),
        (InvalidArgument, lambda: curate.dsp_slice_time(rec.t0, t1 + 5, src, out)),
        (InvalidArgument, lambda: curate.dsp_slice_channels([42], src, out)),
        (InvalidArgument, lambda: curate.dsp_paired_diff(0, 99, src, out)),
        (InvalidArgument, lambda: curate.dsp_virtual_ref(-3, src, out)),
        (AlreadyExists, lambda: curate.dsp_car(src, tmp_path / "taken")),
        (NotFound, lambda: curate.dsp_car(tmp_path / "missing", out)),
        (InvalidArgument, lambda: curate.dsp_car(tmp_path / "notes.csv", out)),
        (NotFound, lambda: curate.dsp_car(src, tmp_path / "nodir" / "out")),
        (InvalidArgument, lambda: curate.dsp_car(src, src)),
        (InvalidArgument, lambda: curate.file_convert(src, tmp_path / "x.nex5")),
        (InvalidArgument, lambda: curate.file_convert(src, tmp_path / "x", "tdt")),
        (InvalidArgument, lambda: curate.file_convert(src, tmp_path / "x", "nonsense")),
        (InvalidArgument, lambda: curate.dsp_low_pass_filter("750", src, out)),  # type: ignore[arg-type]
        (InvalidArgument, lambda: curate.dsp_car(src, out, hub_name="elsewhere")),
        (NotFound, lambda: curate.get_job("CAR__dead-beef")),
    ]
    for error, call in cases:
        with pytest.raises(error):
            await call()
    assert {j.id for j in await curate.list_jobs()} == before
    assert _names(tmp_path) == ["notes.csv", "taken.xdat.json"]


async def test_force_replaces_an_existing_target(
    curate: radiens.AsyncCurateClient, rec: CurateRecording, tmp_path: Path
) -> None:
    await (await curate.dsp_car(rec.path, tmp_path / "t"))
    with pytest.raises(AlreadyExists):
        await curate.dsp_virtual_ref(0, rec.path, tmp_path / "t")
    await (await curate.dsp_virtual_ref(0, rec.path, tmp_path / "t", force=True))
    assert float(np.abs(_read(tmp_path / "t")[0]).max()) == 0.0


async def test_signal_metrics_of_a_linked_target(
    address: str, curate: radiens.AsyncCurateClient, rec: CurateRecording, tmp_path: Path
) -> None:
    await (await curate.dsp_band_pass_filter(300, 6000, rec.path, tmp_path / "bp"))
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(tmp_path / "bp.xdat", calc_metrics=False)
    metrics = curate.signal_metrics()
    await metrics.calculate(meta)
    for _ in range(200):
        if (await metrics.get_metrics_status(meta)).is_complete:
            break
        await asyncio.sleep(0.05)
    assert (await metrics.get_metrics_status(meta)).is_complete
    with pytest.raises(InvalidArgument):
        await metrics.get_metrics_status(None)


async def test_transport_stub_runs_on_the_open_channel_and_is_refused_once_closed(
    address: str,
) -> None:
    from radiens_async._generated.radiens.v1 import common_pb2, curate_grpc, curate_pb2
    from radiens_async.client.transport import HubTransport
    from radiens_async.errors import ClientClosed

    transport = HubTransport(address=address)
    stub = await transport.stub(curate_grpc.CurateStub)  # opens the transport first
    reply = await transport.call(stub.ListJobs, common_pb2.Empty())
    assert isinstance(reply, curate_pb2.JobList)
    await transport.close()
    with pytest.raises(ClientClosed):
        await transport.stub(curate_grpc.CurateStub)


async def test_hub_name_default_is_the_documented_one_and_another_hub_is_refused(
    curate: radiens.AsyncCurateClient, rec: CurateRecording, tmp_path: Path
) -> None:
    import inspect

    for name in ("dsp_car", "dsp_low_pass_filter", "file_convert"):
        param = inspect.signature(getattr(radiens.AsyncCurateClient, name)).parameters
        assert param["hub_name"].default == "default"
    with pytest.raises(InvalidArgument, match="hub"):
        await curate.dsp_car(rec.path, tmp_path / "car", hub_name="elsewhere")
    assert not (tmp_path / "car.xdat.json").exists()
