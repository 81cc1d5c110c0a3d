"""A restarted hub reports the jobs of its previous run: finished, failed and interrupted."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from curate_recordings import curate_channels, write_curate_recording

import radiens_async as radiens
from radiens_async.models.dsp_job import JobState

from hub_process import HubProcess

pytestmark = pytest.mark.anyio


async def test_restarted_hub_reports_done_and_interrupted_jobs(tmp_path: Path) -> None:
    data = tmp_path / "hub"
    small = write_curate_recording(tmp_path, name="small", n=30_000)
    big = write_curate_recording(
        tmp_path, name="big", n=450_000, channels=curate_channels(n_amp=14)
    )
    out = tmp_path / "out"
    out.mkdir()
    checksums = small.checksum(), big.checksum()
    with HubProcess(data) as hub:
        async with radiens.AsyncCurateClient(hub.address) as curate:
            done = await curate.dsp_car(small.path, out / "car")
            await done
            running = await curate.file_convert(big.path, out / "big.csv")
            async for p in running.progress():
                if p.processed_sec > 0:
                    break
        assert hub.proc is not None
        os.kill(hub.proc.pid, signal.SIGKILL)  # the hub dies mid-job
        hub.proc.wait()
    with HubProcess(data) as hub:
        async with radiens.AsyncCurateClient(hub.address) as curate:
            jobs = {j.id: j for j in await curate.list_jobs()}
            assert jobs[done.id].state is JobState.DONE
            assert jobs[running.id].state is JobState.INTERRUPTED
            assert "stopped while the job was running" in jobs[running.id].error
            status = await (await curate.get_job(done.id)).status()
            assert status.result is not None and status.result.base_name == "car"
            with pytest.raises(radiens.JobFailed):
                await (await curate.get_job(running.id))
    assert sorted(p.name for p in out.iterdir()) == [
        "car.xdat.json",
        "car_data.xdat",
        "car_timestamp.xdat",
    ]
    assert (small.checksum(), big.checksum()) == checksums
