"""Recording triggers: edges of a digital input or output start and stop recordings, exactly
at the edge samples, without touching acquisition (edge finding, the gate, the device)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.formats.xdat_reader import XdatReader
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.daq.recorder import Recorder
from radiens_async.hub.daq.recording_triggers import (
    RecordingGate,
    RecordingTrigger,
    TriggerWatcher,
    level_changes,
)

pytestmark = pytest.mark.anyio

FS = 30000.0
DOUT, DIN = StreamSignalType.DOUT, StreamSignalType.DIN


# -- edge finding ----------------------------------------------------------------------------
def _reference_changes(row: np.ndarray, previous: bool) -> list[tuple[int, bool]]:
    out, level = [], previous
    for i, v in enumerate(row):
        high = bool(v > 0.5)
        if high != level:
            out.append((i, high))
            level = high
    return out


def test_level_changes_match_a_sample_by_sample_reference() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        row = (rng.random(n) < rng.random()).astype(np.float32)
        previous = bool(rng.integers(0, 2))
        assert level_changes(row, previous) == _reference_changes(row, previous)


def test_watcher_reports_edges_across_blocks_and_takes_the_first_sample_as_its_level() -> None:
    got: list[list[tuple[int, bool]]] = []
    watcher = TriggerWatcher(RecordingTrigger(DOUT, 0), row=1, post=got.append)
    signal = np.zeros(100, np.float32)
    signal[:5] = 1.0  # high when armed: a starting level, not an edge
    signal[20:47] = 1.0  # rises at 20, falls at 47 (block 40..60)
    signal[58:62] = 1.0  # a pulse across a block boundary
    for first in range(0, 100, 20):
        block = np.zeros((3, 20), np.float32)
        block[1] = signal[first : first + 20]
        watcher(block, first + 1000)
    edges = [e for batch in got for e in batch]
    assert edges == [(1005, False), (1020, True), (1047, False), (1058, True), (1062, False)]
    assert watcher.falls == (1005, 1047, 1062)
    assert watcher.first_fall_after(1020) == 1047 and watcher.first_fall_after(1062) is None


def test_a_failing_hand_off_never_raises_into_acquisition() -> None:
    def broken(edges: object) -> None:
        raise RuntimeError("no loop")

    watcher = TriggerWatcher(RecordingTrigger(DIN, 0), row=0, post=broken)
    block = np.array([[0.0, 1.0, 0.0]], np.float32)
    watcher(block, 0)  # logged, and the watcher stops watching
    watcher(block, 3)


def test_gate_cuts_the_block_that_holds_the_falling_edge() -> None:
    watcher = TriggerWatcher(RecordingTrigger(DOUT, 0), row=0, post=lambda e: None)
    offered: list[tuple[int, int]] = []
    gate = RecordingGate(watcher, start_sample=10)
    sink = gate.wrap(lambda block, first: offered.append((first, block.shape[1])))
    row = np.zeros(60, np.float32)
    row[10:35] = 1.0
    for first in range(0, 60, 20):
        block = row[None, first : first + 20].copy()
        watcher(block, first)  # the watcher runs first, as it is the first sink
        sink(block, first)
    assert offered == [(0, 20), (20, 15)]  # nothing at or after sample 35
    assert gate.stop_sample() == 35
    assert gate.end_at(50) == 35  # a later end changes nothing; an earlier one wins
    assert RecordingGate(watcher, 40).end_at(45) == 45


# -- on the device -------------------------------------------------------------------------
async def _until(check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.005)


async def _advance(device: AllegoDevice, samples: int) -> None:
    assert device.cache is not None
    target = device.cache.head + samples
    await _until(lambda: device.cache is not None and device.cache.head >= target)


def _row(device: AllegoDevice, kind: StreamSignalType, ntv: int) -> int:
    return next(c.sys_idx for c in device.layout.of_type(kind) if c.ntv_idx == ntv)


@pytest.fixture
def device(tmp_path: Path) -> Iterator[AllegoDevice]:
    dev = AllegoDevice(data_dir=tmp_path, stream_loop_ms=1.0)
    dev.set_recording_config(str(tmp_path), "trig", 0, False)
    yield dev
    dev.close()


async def _recording(device: AllegoDevice) -> Recorder:
    await _until(lambda: device.recorder is not None)
    assert device.recorder is not None
    return device.recorder


async def _finished(device: AllegoDevice, recorder: Recorder) -> XdatReader:
    await _until(lambda: device.recorder is not recorder)
    assert recorder.join(10)
    return XdatReader(recorder.name)


async def test_a_dout_trigger_records_exactly_while_the_output_is_high(
    device: AllegoDevice,
) -> None:
    outputs = device.outputs
    outputs.triggers.enable(DOUT, 1)
    assert device.triggered_recordings.watcher is None  # nothing to watch before streaming
    device.set_streaming(True)
    assert device.acquisition_loop is not None
    assert device.acquisition_loop.sinks[0] is device.triggered_recordings.watcher
    await _advance(device, 300)
    assert not device.recording
    rise = outputs.set_dout_manual(1, True)
    recorder = await _recording(device)
    assert device.triggered_recordings.triggered_recorder is recorder
    await _advance(device, 1500)
    fall = outputs.set_dout_manual(1, False)
    status = device.status()
    assert status.recording and status.active_file_name == recorder.name
    with await _finished(device, recorder) as rec:
        assert rec.timestamps[0] == rise and rec.timestamps[-1] == fall - 1
        assert rec.n_samples == fall - rise
        assert np.all(rec.read(channels=[_row(device, DOUT, 1)]) == 1.0)
    assert Path(recorder.name).name == "trig_0.xdat"
    assert device.recording_config.index == 1
    assert not device.status().recording and device.status().recording_error == ""
    # the trigger stays armed: the next rising edge records into the next file
    rise2 = outputs.set_dout_manual(1, True)
    second = await _recording(device)
    assert second.start_sample == rise2 and Path(second.name).name == "trig_1.xdat"
    outputs.set_dout_manual(1, False)
    (await _finished(device, second)).close()


async def test_pulses_shorter_than_a_block_each_get_a_file_of_their_samples(
    device: AllegoDevice,
) -> None:
    device.outputs.triggers.enable(DOUT, 0)
    device.set_streaming(True)
    # 0.4 ms pulses (12 samples, inside one 30-sample block) every 60 ms
    device.outputs.set_dout_pulse(0.06, 0.0004, 0)
    # each pulse starts and ends its recording in one event-loop turn: wait for the files
    await _until(lambda: device.recording_config.index >= 4)
    device.outputs.set_dout_manual(0, False)  # manual mode again: no more pulses
    await _until(lambda: not device.recording)
    device.close()  # every file set is closed
    names = [str(device.recording_config.path / f"trig_{i}.xdat") for i in range(3)]
    starts = []
    for name in names:
        with XdatReader(name) as rec:
            assert rec.n_samples == 12
            assert np.all(rec.read(channels=[_row(device, DOUT, 0)]) == 1.0)
            starts.append(int(rec.timestamps[0]))
    assert np.diff(starts).tolist() == [1800, 1800]  # one file per pulse, none missed


async def test_a_din_trigger_follows_the_simulated_square_wave(device: AllegoDevice) -> None:
    device.outputs.triggers.enable(DIN, 0)  # high during the first half of every second
    device.set_streaming(True)  # high at sample 0: not an edge
    recorder = await _recording(device)
    assert recorder.start_sample == 30000
    with await _finished(device, recorder) as rec:
        assert (rec.timestamps[0], rec.n_samples) == (30000, 15000)


async def test_manual_stop_ends_a_triggered_recording_and_the_trigger_rearms(
    device: AllegoDevice,
) -> None:
    outputs = device.outputs
    outputs.triggers.enable(DOUT, 0)
    device.set_streaming(True)
    await _advance(device, 60)  # the first sample the trigger sees is its level, not an edge
    rise = outputs.set_dout_manual(0, True)
    recorder = await _recording(device)
    await _advance(device, 600)
    assert device.stop_recording() is recorder
    with await _finished(device, recorder) as rec:
        assert rec.timestamps[0] == rise and rec.n_samples >= 600
        assert np.all(rec.read(channels=[_row(device, DOUT, 0)]) == 1.0)
    # the falling edge of that pulse ends nothing; the next pulse records again
    outputs.set_dout_manual(0, False)
    await _advance(device, 300)
    assert not device.recording
    outputs.set_dout_manual(0, True)
    second = await _recording(device)
    outputs.set_dout_manual(0, False)
    (await _finished(device, second)).close()


async def test_edges_leave_manual_recordings_alone(device: AllegoDevice) -> None:
    outputs = device.outputs
    outputs.triggers.enable(DOUT, 0)
    device.set_streaming(True)
    await _advance(device, 60)
    device.start_recording()
    manual = device.recorder
    outputs.set_dout_manual(0, True)
    await _advance(device, 300)
    outputs.set_dout_manual(0, False)
    await _advance(device, 300)
    assert device.recorder is manual and device.triggered_recordings.triggered_recorder is None
    device.stop_recording()


async def test_disabling_the_trigger_stops_its_recording(device: AllegoDevice) -> None:
    outputs = device.outputs
    outputs.triggers.enable(DOUT, 0)
    device.set_streaming(True)
    await _advance(device, 60)
    outputs.set_dout_manual(0, True)
    recorder = await _recording(device)
    await _advance(device, 300)
    outputs.triggers.disable_all()
    assert not device.recording and device.triggered_recordings.watcher is None
    assert device.acquisition_loop is not None
    assert all(not isinstance(s, TriggerWatcher) for s in device.acquisition_loop.sinks)
    with await _finished(device, recorder) as rec:
        assert np.all(rec.read(channels=[_row(device, DOUT, 0)]) == 1.0)
    outputs.set_dout_manual(0, False)


async def test_a_trigger_enabled_on_a_high_channel_waits_for_the_next_rising_edge(
    device: AllegoDevice,
) -> None:
    outputs = device.outputs
    outputs.set_dout_manual(0, True)  # high from the stream's first sample on
    outputs.triggers.enable(DOUT, 0)
    device.set_streaming(True)
    await _advance(device, 600)
    assert not device.recording
    outputs.set_dout_manual(0, False)
    await _advance(device, 60)  # both changes would land at one sample otherwise
    rise = outputs.set_dout_manual(0, True)
    recorder = await _recording(device)
    assert recorder.start_sample == rise
    outputs.set_dout_manual(0, False)
    (await _finished(device, recorder)).close()


async def test_a_start_that_fails_is_reported_and_acquisition_goes_on(
    device: AllegoDevice, tmp_path: Path
) -> None:
    target = tmp_path / "gone"
    target.mkdir()
    device.set_recording_config(str(target), "trig", 0, False)
    shutil.rmtree(target)
    outputs = device.outputs
    outputs.triggers.enable(DOUT, 0)
    device.set_streaming(True)
    await _advance(device, 60)
    outputs.set_dout_manual(0, True)
    await _until(lambda: device.status().recording_error != "")
    status = device.status()
    assert not status.recording and "no longer exists" in status.recording_error
    assert "dout_0" in status.recording_error
    await _advance(device, 300)  # acquisition goes on
    loop = device.acquisition_loop
    assert loop is not None and loop.error is None and loop.running
    # the directory is back: the next rising edge records (and clears the error)
    target.mkdir()
    outputs.set_dout_manual(0, False)
    await _advance(device, 60)
    outputs.set_dout_manual(0, True)
    recorder = await _recording(device)
    assert device.status().recording_error == ""
    outputs.set_dout_manual(0, False)
    (await _finished(device, recorder)).close()


async def test_an_existing_file_name_is_reported_not_overwritten(
    device: AllegoDevice, tmp_path: Path
) -> None:
    (tmp_path / "trig_0.xdat.json").write_text("{}")
    outputs = device.outputs
    outputs.triggers.enable(DOUT, 0)
    device.set_streaming(True)
    await _advance(device, 60)
    outputs.set_dout_manual(0, True)
    await _until(lambda: "already exists" in device.status().recording_error)
    assert (tmp_path / "trig_0.xdat.json").read_text() == "{}"
    assert not device.recording


def test_no_watcher_without_an_enabled_trigger_and_past_starts_need_the_stream(
    tmp_path: Path,
) -> None:
    device = AllegoDevice(data_dir=tmp_path)
    try:
        device.set_streaming(True)
        loop = device.acquisition_loop
        assert loop is not None
        assert all(not isinstance(s, TriggerWatcher) for s in loop.sinks)
        assert device.cache is not None
        with pytest.raises(InvalidArgument):
            device.start_recording(start_sample=device.cache.head + 10_000_000)
        device.set_streaming(False)
        with pytest.raises(FailedPrecondition):
            device.start_recording(start_sample=0)
        assert not device.recording
    finally:
        device.close()


def test_without_an_event_loop_edges_are_handled_on_a_worker(tmp_path: Path) -> None:
    device = AllegoDevice(data_dir=tmp_path)
    device.set_recording_config(str(tmp_path), "sync", 0, False)
    try:
        device.outputs.triggers.enable(DOUT, 0)
        device.set_streaming(True)
        while device.cache is None or device.cache.head < 60:
            time.sleep(0.005)
        rise = device.outputs.set_dout_manual(0, True)
        deadline = time.monotonic() + 10
        recordings = device.triggered_recordings
        while recordings.triggered_recorder is None and time.monotonic() < deadline:
            time.sleep(0.005)
        recorder = recordings.triggered_recorder
        assert recorder is not None and recorder.start_sample == rise
        device.outputs.triggers.disable_all()
        assert not device.recording
    finally:
        device.close()
