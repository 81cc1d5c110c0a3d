"""The job runner: background threads, cancel, failure, progress, and a restarted hub's report."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from curate_recordings import CurateRecording, write_curate_recording

from radiens_async.errors import AlreadyExists, InvalidArgument, JobCancelled, NotFound
from radiens_async.formats.xdat import XdatReader
from radiens_async.hub.jobs.curate_jobs import CurateJobs
from radiens_async.hub.jobs.dsp_ops import BandPass, CommonAverage, Decimate, LowPass, SliceTime
from radiens_async.hub.jobs.job_runner import JobContext, JobRecord, JobRunner, new_job_id
from radiens_async.hub.store import HubStore


def _wait(runner: JobRunner, job_id: str, timeout: float = 30.0) -> JobRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = runner.get(job_id)
        if record.finished:
            return record
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} did not finish: {runner.get(job_id)}")


def _slow_work(target: Path, steps: int = 200) -> object:
    def work(ctx: JobContext) -> Path:
        for i in range(steps):
            if ctx.stop.is_set():
                raise JobCancelled("cancelled")
            time.sleep(0.01)
            ctx.report((i + 1) * 0.1)
        target.write_text("done")
        return target

    return work


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CurateRecording]:
    recording = write_curate_recording(tmp_path_factory.mktemp("src"), n=60_000)
    before = recording.checksum()
    yield recording
    assert recording.checksum() == before  # the source is never modified


def test_job_id_is_the_documented_protocol_id() -> None:
    jid = new_job_id("lp_filter")
    base, rest = jid.split("__")
    assert base == "lp_filter" and len(rest) == 9 and rest[4] == "-"


def test_job_runs_in_background_reports_progress_and_is_stored(tmp_path: Path) -> None:
    runner = JobRunner(HubStore(tmp_path / "hub"))
    record = runner.submit(
        "lp_filter",
        "src",
        str(tmp_path / "t"),
        {"cutoff_hz": 750.0},
        total_s=20.0,
        work=_slow_work(tmp_path / "t", steps=20),  # type: ignore[arg-type]
    )
    assert record.state == "queued" and record.id.startswith("lp_filter__")
    done = _wait(runner, record.id)
    assert done.state == "done" and done.frac_complete == 1.0
    assert done.result_path == str(tmp_path / "t") and done.params == {"cutoff_hz": 750.0}
    assert [r.id for r in runner.all_jobs()] == [record.id]
    runner.shutdown()


def test_cancel_stops_a_running_job_within_a_second(tmp_path: Path) -> None:
    runner = JobRunner(HubStore(tmp_path / "hub"))
    record = runner.submit(
        "CAR",
        "s",
        str(tmp_path / "t"),
        {},
        total_s=20.0,
        work=_slow_work(tmp_path / "t"),  # type: ignore[arg-type]
    )
    while runner.get(record.id).processed_s == 0:
        time.sleep(0.005)
    t0 = time.monotonic()
    runner.cancel(record.id)
    final = _wait(runner, record.id)
    assert time.monotonic() - t0 < 1.0
    assert final.state == "cancelled" and 0 < final.frac_complete < 1
    assert not (tmp_path / "t").exists()
    assert runner.cancel(record.id).state == "cancelled"  # idempotent on a finished job
    runner.shutdown()


def test_failed_job_records_its_error(tmp_path: Path) -> None:
    runner = JobRunner(HubStore(tmp_path / "hub"))

    def fail(ctx: JobContext) -> Path:
        raise OSError(28, "No space left on device")

    record = runner.submit("CAR", "s", "t", {}, total_s=1.0, work=fail)
    final = _wait(runner, record.id)
    assert final.state == "failed" and "No space left" in final.error
    with pytest.raises(NotFound):
        runner.get("CAR__0000-0000")
    with pytest.raises(NotFound):
        runner.cancel("CAR__0000-0000")
    runner.shutdown()


def test_a_restarted_hub_reports_finished_failed_and_interrupted_jobs(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    runner = JobRunner(HubStore(data))
    ok = runner.submit(
        "CAR", "s", str(tmp_path / "a"), {}, total_s=1.0, work=_slow_work(tmp_path / "a", 2)
    )  # type: ignore[arg-type]
    bad = runner.submit(
        "CAR",
        "s",
        "b",
        {},
        total_s=1.0,
        work=lambda ctx: (_ for _ in ()).throw(ValueError("bad things")),
    )
    _wait(runner, ok.id), _wait(runner, bad.id)
    running = runner.submit(
        "decimate",
        "s",
        str(tmp_path / "c"),
        {},
        total_s=100.0,
        work=_slow_work(tmp_path / "c", 10_000),
    )  # type: ignore[arg-type]
    while runner.get(running.id).state != "running":
        time.sleep(0.005)
    # the hub dies: nothing runs its shutdown; its staging directory stays behind
    staging = tmp_path / f".c.{running.id}.partial"
    staging.mkdir()
    runner._persist(runner.get(running.id))  # the store still says "running"
    restarted = JobRunner(HubStore(data))
    states = {r.id: r.state for r in restarted.all_jobs()}
    assert states == {ok.id: "done", bad.id: "failed", running.id: "interrupted"}
    assert "bad things" in restarted.get(bad.id).error
    assert "stopped while the job was running" in restarted.get(running.id).error
    assert not staging.exists()
    runner.cancel(running.id)
    _wait(runner, running.id)
    runner.shutdown()


def test_shutdown_interrupts_running_jobs(tmp_path: Path) -> None:
    runner = JobRunner(HubStore(tmp_path / "hub"))
    record = runner.submit(
        "CAR", "s", str(tmp_path / "t"), {}, total_s=100.0, work=_slow_work(tmp_path / "t", 10_000)
    )  # type: ignore[arg-type]
    while runner.get(record.id).state != "running":
        time.sleep(0.005)
    runner.shutdown()
    assert runner.get(record.id).state == "interrupted"
    assert JobRunner(HubStore(tmp_path / "hub")).get(record.id).state == "interrupted"


def test_curate_jobs_run_the_pipeline_and_leave_the_source_alone(
    rec: CurateRecording, tmp_path: Path
) -> None:
    curate = CurateJobs(JobRunner(HubStore(tmp_path / "hub")))
    before = rec.checksum()
    record = curate.submit_dsp(BandPass(300.0, 6000.0), str(rec.path), str(tmp_path / "bp"))
    assert record.id.startswith("bp_filter__") and record.total_s == pytest.approx(2.0)
    final = _wait(curate.runner, record.id)
    assert final.state == "done", final.error
    assert final.result_path.endswith("bp.xdat.json")
    with XdatReader(tmp_path / "bp") as out:
        assert out.n_samples == rec.data.shape[1]
    conv = curate.submit_convert(str(rec.path), str(tmp_path / "rec_ks"), "kilosort2")
    final = _wait(curate.runner, conv.id)
    assert final.state == "done" and final.result_path == str(tmp_path / "rec_ks.bin")
    assert (tmp_path / "params.py").exists()
    assert rec.checksum() == before
    curate.runner.shutdown()


def test_curate_jobs_refuse_bad_requests_before_any_work(
    rec: CurateRecording, tmp_path: Path
) -> None:
    curate = CurateJobs(JobRunner(HubStore(tmp_path / "hub")))
    src = str(rec.path)
    (tmp_path / "taken.xdat.json").write_text("{}")
    (tmp_path / "notes.csv").write_text("a,b\n")
    cases: list[tuple[type[Exception], object]] = [
        (InvalidArgument, lambda: curate.submit_dsp(LowPass(20_000), src, str(tmp_path / "x"))),
        (InvalidArgument, lambda: curate.submit_dsp(Decimate(1), src, str(tmp_path / "x"))),
        (InvalidArgument, lambda: curate.submit_dsp(SliceTime(9.0, 1.0), src, str(tmp_path / "x"))),
        (
            NotFound,
            lambda: curate.submit_dsp(CommonAverage(), str(tmp_path / "nope"), str(tmp_path / "x")),
        ),
        (
            InvalidArgument,
            lambda: curate.submit_dsp(
                CommonAverage(), str(tmp_path / "notes.csv"), str(tmp_path / "x")
            ),
        ),
        (
            InvalidArgument,
            lambda: curate.submit_dsp(
                CommonAverage(), str(tmp_path / "taken"), str(tmp_path / "x")
            ),
        ),
        (AlreadyExists, lambda: curate.submit_dsp(CommonAverage(), src, str(tmp_path / "taken"))),
        (NotFound, lambda: curate.submit_dsp(CommonAverage(), src, str(tmp_path / "no" / "x"))),
        (InvalidArgument, lambda: curate.submit_dsp(CommonAverage(), src, str(tmp_path / "x.csv"))),
        (InvalidArgument, lambda: curate.submit_dsp(CommonAverage(), src, src)),
        (InvalidArgument, lambda: curate.submit_convert(src, str(tmp_path / "x"), "nex5")),
        (InvalidArgument, lambda: curate.submit_convert(src, str(tmp_path / "x.tdt"), None)),
        (InvalidArgument, lambda: curate.submit_convert(src, str(tmp_path / "x"), "bogus")),
        (InvalidArgument, lambda: curate.submit_convert(src, src, None)),
    ]
    for error, call in cases:
        with pytest.raises(error):
            call()  # type: ignore[operator]
    assert curate.runner.all_jobs() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub", "notes.csv", "taken.xdat.json"]
    curate.runner.shutdown()


def test_watch_yields_each_change_until_the_job_finishes(tmp_path: Path) -> None:
    import asyncio

    runner = JobRunner(HubStore(tmp_path / "hub"))
    record = runner.submit(
        "CAR", "s", str(tmp_path / "t"), {}, total_s=2.0, work=_slow_work(tmp_path / "t", 20)
    )  # type: ignore[arg-type]

    async def collect() -> list[tuple[JobRecord, float]]:
        return [change async for change in runner.watch(record.id, poll_s=0.05)]

    changes = asyncio.run(collect())
    assert changes[-1][0].state == "done" and all(not r.finished for r, _ in changes[:-1])
    assert sum(increment for _, increment in changes) == pytest.approx(2.0)
    assert all(increment >= 0 for _, increment in changes)
    # a finished job (live or only in the store) gives its final record once
    again = asyncio.run(collect())
    assert [r.state for r, _ in again] == ["done"]
    with pytest.raises(NotFound):
        asyncio.run(anext(runner.watch("CAR__none-0000")))
    runner.shutdown()
