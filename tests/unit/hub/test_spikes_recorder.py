"""SpikesRecorder: a recording's spikes set, including one started at a past sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from radiens_async.formats.spikes_metadata import SpikesChannel
from radiens_async.formats.spikes_reader import SpikesReader
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.daq.sensors_catalog import build_layout, default_sim_sensors
from radiens_async.hub.daq.simulator import MODE_SPIKES, DeviceSimulator
from radiens_async.hub.daq.spikes_recorder import SpikesRecorder
from radiens_async.hub.spikes import SpikeEngine

FS = 30000.0


def _streamed_engine(seconds: float) -> tuple[SpikeEngine, int]:
    layout = build_layout(default_sim_sensors(32), n_ain=0, n_din=0, n_dout=0)
    sim = DeviceSimulator(MODE_SPIKES, FS, layout, seed=0)
    n_amp = layout.count(StreamSignalType.AMP)
    engine = SpikeEngine(FS, n_amp, np.zeros((n_amp, 2)))
    n = int(seconds * FS)
    for k in range(0, n, 300):
        engine.process(sim.generate(300)[:n_amp], k)
    return engine, n_amp


def test_a_recording_started_at_a_past_sample_gets_the_spikes_already_detected(
    tmp_path: Path,
) -> None:
    """A recording trigger starts a recording at its edge, a moment after detection saw it."""
    engine, n_amp = _streamed_engine(3.0)
    start, stop = 30_000, 75_000
    held = engine.read(engine.seq_at_sample(start), 1_000_000)
    in_window = held.sample_index[(held.sample_index >= start) & (held.sample_index < stop)]
    assert in_window.size > 10  # the simulator fired in the window
    assert engine.seq_at_sample(start) < engine.next_seq  # ... before the recorder exists
    channels = [SpikesChannel(ntv_idx=i) for i in range(n_amp)]
    recorder = SpikesRecorder(tmp_path / "rec_0.xdat", engine, start, channels)
    recorder.finish(stop)
    assert recorder.join(30.0)
    assert recorder.error == ""
    with SpikesReader(tmp_path / "rec_0.xdat") as spikes:
        got = spikes.timestamps()
    assert np.array_equal(got, in_window)


def test_seq_at_sample_is_the_first_spike_at_or_after_it() -> None:
    engine, _ = _streamed_engine(1.0)
    every = engine.read(0, 1_000_000)
    assert every.sample_index.size > 0
    mid = int(every.sample_index[every.sample_index.size // 2])
    seq = engine.seq_at_sample(mid)
    first = engine.read(seq, 1)
    assert int(first.sample_index[0]) == mid
    assert int(engine.read(seq - 1, 1).sample_index[0]) < mid
    assert engine.seq_at_sample(10**12) == engine.next_seq
    assert engine.seq_at_sample(-5) == 0
