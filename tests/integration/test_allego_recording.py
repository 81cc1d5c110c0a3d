"""Allego recording against a real hub: XDAT files that hold exactly what was streamed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import radiens_async as radiens
from radiens_async.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from radiens_async.formats.xdat import XdatReader

from hub_process import HubProcess

pytestmark = pytest.mark.anyio

FS = 30000
PROC_EXISTS = Path("/proc/self").is_dir()
UID = re.compile(r"^rec_(\d+)__uid(\d{4}-\d{2}-\d{2}-\d{2})$")


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


async def test_record_while_streaming_matches_stream(address: str, tmp_path: Path) -> None:
    """10 s of sim-spikes: every streamed sample equals the recorded one at the same index."""
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes", seed=11)
        await allego.set_recording_config(tmp_path, "rec", 3, True)
        cfg = await allego.get_recording_config()
        assert (cfg.path, cfg.base_name, cfg.index, cfg.time_stamp) == (
            str(tmp_path),
            "rec",
            3,
            True,
        )
        await allego.set_streaming("on")
        streamed: dict[int, np.ndarray] = {}

        async def stream() -> None:
            async for chunk in allego.stream_signals(start="head"):
                assert chunk.missed_samples == 0
                streamed[chunk.first_sample] = chunk.data

        task = asyncio.create_task(stream())
        await asyncio.sleep(0.3)
        await allego.set_recording("on")
        live = await allego.get_status()
        assert live.recording.mode == "R_ON"
        await asyncio.sleep(10.0)
        await allego.set_recording("off")
        status = await allego.get_status()
        await allego.set_streaming("off")
        await asyncio.wait_for(task, 30)
        assert (await allego.get_recording_config()).index == 4  # moved on

    rec = status.recording
    assert rec.mode == "R_OFF"
    assert rec.path == str(tmp_path) and rec.base_name == "rec" and rec.index == 3
    assert UID.match(Path(rec.file_name).stem)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-\d{2}", rec.timestamp)
    with XdatReader(rec.file_name) as reader:
        ts = reader.timestamps
        first = int(ts[0])
        assert np.array_equal(ts, np.arange(first, first + ts.size))  # contiguous
        assert reader.n_samples == pytest.approx(rec.dur_sec * FS, abs=1)
        assert reader.n_samples >= 9.9 * FS
        assert reader.metadata.timestamp_range == (first, first + ts.size - 1)
        recorded = reader.read()
    stream_all = np.concatenate([streamed[k] for k in sorted(streamed)], axis=1)
    stream_first = min(streamed)
    assert stream_first <= first
    lo = first - stream_first
    assert np.array_equal(stream_all[:, lo : lo + recorded.shape[1]], recorded)


async def test_recording_starts_streaming_and_guards_state(address: str, tmp_path: Path) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-sine")
        await allego.set_recording_config(tmp_path, "guard", 0, False)
        await allego.set_recording("on")
        status = await allego.get_status()
        assert status.stream.mode == "S_ON" and status.recording.mode == "R_ON"
        assert Path(status.recording.file_name).name == "guard_0.xdat"
        # nothing that would cut the recording is allowed while it runs
        with pytest.raises(FailedPrecondition, match="recording"):
            await allego.set_streaming("off")
        with pytest.raises(FailedPrecondition, match="recording"):
            await allego.set_recording_config(tmp_path, "other", 0)
        with pytest.raises(FailedPrecondition, match="recording"):
            await allego.restart("sim-spikes")
        with pytest.raises(FailedPrecondition):
            await allego.set_sampling_freq(20000)
        await allego.set_recording("on")  # already on: nothing happens
        await asyncio.sleep(1.0)
        await allego.set_recording("off")
        await allego.set_recording("off")  # already off: nothing happens
        status = await allego.get_status()
        assert status.stream.mode == "S_ON" and status.recording.mode == "R_OFF"
        await allego.set_streaming("off")
    xdat = {"guard_0.xdat.json", "guard_0_data.xdat", "guard_0_timestamp.xdat"}
    # the sorter is on by default, so the recording has its .spikes set beside it
    spikes = {f"guard_0{s}.spikes" for s in ("", "_timestamp", "_channel", "_label", "_waveform")}
    assert _files(tmp_path) == xdat | {"guard_0.spikes.json"} | spikes - {"guard_0.spikes"}
    with XdatReader(tmp_path / "guard_0.xdat") as reader:
        assert reader.fs == FS and reader.n_samples > 0.5 * FS
        assert int(reader.timestamps[0]) == 0  # recording started the stream: sample 0


async def test_recording_bad_input_writes_nothing(address: str, tmp_path: Path) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        with pytest.raises(NotFound, match="does not exist"):
            await allego.set_recording_config(tmp_path / "missing", "rec", 0)
        a_file = tmp_path / "plain.txt"
        a_file.write_text("x")
        with pytest.raises(InvalidArgument, match="not a directory"):
            await allego.set_recording_config(a_file, "rec", 0)
        with pytest.raises(InvalidArgument, match="empty"):
            await allego.set_recording_config(tmp_path, "", 0)
        with pytest.raises(InvalidArgument, match="must not contain"):
            await allego.set_recording_config(tmp_path, "a.b", 0)
        with pytest.raises(InvalidArgument, match=">= 0"):
            await allego.set_recording_config(tmp_path, "rec", -1)
        with pytest.raises(InvalidArgument):
            await allego.set_recording_config(tmp_path, "rec", 1.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            await allego.set_recording("maybe")
        # a name collision: the existing recording is never touched
        await allego.set_recording_config(tmp_path, "taken", 7, False)
        existing = tmp_path / "taken_7.xdat.json"
        existing.write_text('{"not": "overwritten"}')
        before = _files(tmp_path)
        with pytest.raises(AlreadyExists, match="already exists"):
            await allego.set_recording("on")
        assert _files(tmp_path) == before
        assert existing.read_text() == '{"not": "overwritten"}'
        status = await allego.get_status()
        assert status.recording.mode == "R_OFF" and status.stream.mode == "S_OFF"
        # an unwritable directory (even root cannot create files in /proc)
        if PROC_EXISTS:
            with contextlib.suppress(InvalidArgument):
                await allego.set_recording_config("/proc", "rec", 0, False)
                with pytest.raises(FailedPrecondition, match="cannot create"):
                    await allego.set_recording("on")
            assert (await allego.get_status()).recording.mode == "R_OFF"
        # the hub still records after all of that
        await allego.set_recording_config(tmp_path, "fine", 0, False)
        await allego.set_recording("on")
        await asyncio.sleep(0.5)
        await allego.set_recording("off")
        await allego.set_streaming("off")
    assert (tmp_path / "fine_0.xdat.json").exists()


def test_sync_client_records(address: str, tmp_path: Path) -> None:
    client = radiens.AllegoClient(address)
    try:
        client.restart("sim-spikes")
        client.set_recording_config(str(tmp_path), "sync", 0, False)
        client.set_recording("on")
        time.sleep(1.0)
        client.set_recording("off")
        status = client.get_status()
        client.set_streaming("off")
    finally:
        client.close()
    assert status.recording.base_name == "sync" and status.recording.index == 0
    with XdatReader(tmp_path / "sync_0.xdat") as reader:
        assert reader.n_samples == pytest.approx(status.recording.dur_sec * FS, abs=1)


@pytest.fixture
def own_hub(tmp_path: Path) -> Iterator[HubProcess]:
    with HubProcess(tmp_path / "hub") as process:
        yield process


async def test_kill_9_during_recording_leaves_readable_files(
    own_hub: HubProcess, tmp_path: Path
) -> None:
    """``kill -9`` 5 s into a recording: all but at most the last second is readable."""
    out = tmp_path / "out"
    out.mkdir()
    async with radiens.AsyncAllegoClient(own_hub.address) as allego:
        await allego.restart("sim-spikes", num_channels=64)
        await allego.set_recording_config(out, "crash", 0, False)
        await allego.set_recording("on")
        await asyncio.sleep(5.0)
        status = await allego.get_status()
        assert own_hub.proc is not None
        os.kill(own_hub.proc.pid, signal.SIGKILL)
        own_hub.proc.wait(10)
    recorded_s = status.recording.dur_sec
    assert recorded_s >= 4.5
    with XdatReader(out / "crash_0.xdat") as reader:
        n = reader.n_samples
        assert n >= (recorded_s - 1.0) * FS
        ts = reader.timestamps
        assert np.array_equal(ts, np.arange(ts.size))
        md = reader.metadata
        assert md.timestamp_range == (0, n - 1)
        assert md.t_range[1] == pytest.approx(n / FS)
        data = reader.read(n - 100, n)
        assert np.isfinite(data).all()

    neo_rawio = pytest.importorskip("neo.rawio")
    raw = neo_rawio.NeuroNexusRawIO(filename=str(out / "crash_0.xdat.json"))
    raw.parse_header()
    assert raw.get_signal_size(0, 0, 0) == n
    assert raw.get_signal_sampling_rate(0) == FS
