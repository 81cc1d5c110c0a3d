"""Stimulation domain: the artifact (vs an oversampled reference), triggers, the simulator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.hub.daq.sensors_catalog import build_layout, default_sim_sensors
from radiens_async.hub.daq.simulator import DeviceSimulator
from radiens_async.hub.daq.stimulation import UV_PER_UA, StimBank, stim_artifact
from radiens_async.models.stim_params import default_stim_params

FS = 25000.0  # 40 µs per sample: integer-µs phases fall on a 1 µs grid, 40 points per sample
US_PER_SAMPLE = 40


def params(**kw: Any) -> dict[str, Any]:
    p = default_stim_params(6)
    p.update(kw)
    return p


def reference_uv(p: dict[str, Any], n_samples: int) -> np.ndarray:
    """Current on a 1 µs grid (phases drawn independently of the module), averaged per sample."""
    grid = np.zeros(n_samples * US_PER_SAMPLE)
    d1, d2 = int(p["first_phase_duration_us"]), int(p["second_phase_duration_us"])
    a1, a2 = p["first_phase_amplitude_uA"], p["second_phase_amplitude_uA"]
    gap = int(p["interphase_delay_us"]) if p["stim_shape"] in (1, 2) else 0
    sign = -1.0 if p["stim_polarity"] == 0 else 1.0
    n_pulses = p["number_of_stim_pulses"] if p["pulse_or_train"] == 1 else 1
    for k in range(n_pulses):
        t = int(p["post_trigger_delay_us"]) + k * int(p["pulse_train_period_us"])
        grid[t : t + d1] += sign * a1
        if p["stim_shape"] != 3:
            grid[t + d1 + gap : t + d1 + gap + d2] -= sign * a2
        if p["stim_shape"] == 2:
            t3 = t + d1 + gap + d2 + gap
            grid[t3 : t3 + d1] += sign * a1
    return grid.reshape(n_samples, US_PER_SAMPLE).mean(axis=1) * UV_PER_UA


def dense(p: dict[str, Any], n: int) -> np.ndarray:
    """The artifact events of one firing rendered onto zeros (as the simulator applies them)."""
    out = np.zeros((1, n), np.float32)
    for ev in stim_artifact(p, FS, row=0):
        seg = out[0, ev.offset : ev.offset + ev.length]
        if ev.values is None:
            seg[:] = 0.0
        else:
            seg += ev.values[: seg.size]
    return out[0]


@pytest.mark.parametrize(
    "shape_kw",
    [
        {"stim_shape": 0},
        {"stim_shape": 1, "interphase_delay_us": 30.0},
        {"stim_shape": 2, "interphase_delay_us": 25.0, "second_phase_amplitude_uA": 40.0},
        {"stim_shape": 3},
        {"stim_shape": 1, "stim_polarity": 1, "post_trigger_delay_us": 17.0},
        {"pulse_or_train": 1, "number_of_stim_pulses": 3, "pulse_train_period_us": 1000.0},
    ],
)
def test_artifact_equals_an_oversampled_reference(shape_kw: dict[str, Any]) -> None:
    base = {
        "first_phase_duration_us": 60.0,
        "second_phase_duration_us": 60.0,
        "first_phase_amplitude_uA": 20.0,
        "second_phase_amplitude_uA": 20.0,
    }
    p = params(**{**base, **shape_kw})
    n = 200
    np.testing.assert_allclose(dense(p, n), reference_uv(p, n), rtol=1e-5, atol=1e-2)


@pytest.mark.parametrize(
    "kw",
    [
        {
            "stim_shape": 0,
            "first_phase_duration_us": 70.0,
            "second_phase_duration_us": 35.0,
            "second_phase_amplitude_uA": 20.0,
        },
        {"stim_shape": 1, "interphase_delay_us": 13.0},
        {"stim_shape": 2, "second_phase_amplitude_uA": 20.0},
        {"pulse_or_train": 1, "number_of_stim_pulses": 5, "pulse_train_period_us": 777.0},
    ],
)
def test_balanced_pulses_carry_no_net_charge(kw: dict[str, Any]) -> None:
    p = params(**{"first_phase_amplitude_uA": 10.0, "second_phase_amplitude_uA": 10.0, **kw})
    for fs in (FS, 30000.0, 20000.0):
        (ev,) = stim_artifact(p, fs, row=0)
        assert ev.values is not None
        total = np.abs(ev.values).sum()
        assert total > 0
        assert abs(float(ev.values.astype(np.float64).sum())) < 1e-6 * total


def test_polarity_sets_the_sign_of_the_first_phase() -> None:
    cathodic = dense(params(first_phase_amplitude_uA=5.0, second_phase_amplitude_uA=5.0), 20)
    anodic = dense(
        params(first_phase_amplitude_uA=5.0, second_phase_amplitude_uA=5.0, stim_polarity=1), 20
    )
    assert cathodic[0] == pytest.approx(-5.0 * UV_PER_UA) and anodic[0] == -cathodic[0]


def test_amp_settle_holds_the_channel_at_zero() -> None:
    p = params(
        first_phase_amplitude_uA=5.0,
        second_phase_amplitude_uA=5.0,
        post_trigger_delay_us=400.0,
        enable_amp_settle=True,
        pre_stim_amp_settle_us=200.0,
        post_stim_amp_settle_us=400.0,
    )
    out = np.full((1, 60), 7.0, np.float32)
    for ev in stim_artifact(p, FS, row=0):
        seg = out[0, ev.offset : ev.offset + ev.length]
        if ev.values is None:
            seg[:] = 0.0
        else:
            seg += ev.values
    # settle window: 200 µs before the pulse (at 400 µs) to 400 µs after its end (600 µs)
    start, stop = 200 // US_PER_SAMPLE, (400 + 200 + 400) // US_PER_SAMPLE
    assert (out[0, :start] == 7.0).all()
    assert (out[0, start:stop] == 0.0).all()
    assert (out[0, stop:] == 7.0).all()


def armed(bank: StimBank, idx: int, **kw: Any) -> None:
    bank.set(
        {
            "stim_sys_chan_idx": idx,
            "enabled": True,
            "trigger_source_is_keypress": True,
            "trigger_source_idx": 1,
            "first_phase_amplitude_uA": 10.0,
            "second_phase_amplitude_uA": 10.0,
            **kw,
        }
    )


def test_bank_fires_enabled_keypress_channels_and_respects_refractory() -> None:
    bank = StimBank(range(8))
    armed(bank, 2, refactory_period_ms=2.0)
    armed(bank, 3, trigger_source_idx=2)
    bank.set({"stim_sys_chan_idx": 4, "trigger_source_is_keypress": True, "trigger_source_idx": 1})
    first = bank.toggle(1, 30000.0, 1000)
    assert first.fired == (2,) and first.first_pulse_sample == (1000,)
    busy = bank.toggle(1, 30000.0, 1030)  # pulse 6 samples + 2 ms refractory = 66 samples
    assert busy.fired == () and busy.refractory == (2,)
    assert bank.toggle(1, 30000.0, 1066).fired == (2,)
    assert bank.toggle(2, 30000.0, 2000).fired == (3,)
    for bad in (0, 9, True, 1.0):
        with pytest.raises(InvalidArgument, match="keypress trigger"):
            bank.toggle(bad, 30000.0, 0)  # type: ignore[arg-type]


def test_level_trigger_fires_when_the_key_reaches_its_level() -> None:
    bank = StimBank(range(4))
    armed(bank, 0, trigger_edge_or_level=1)  # ST_LEVEL, ST_HIGH
    armed(bank, 1, trigger_edge_or_level=1, trigger_high_or_low=1)  # ST_LEVEL, ST_LOW
    on = bank.toggle(1, 30000.0, 0)
    off = bank.toggle(1, 30000.0, 10_000)
    assert (on.level, on.fired) == (True, (0,))
    assert (off.level, off.fired) == (False, (1,))


def test_bank_refuses_unknown_channels_and_keeps_state() -> None:
    bank = StimBank([0, 1])
    with pytest.raises(NotFound, match="unknown stim channel 5"):
        bank.set({"stim_sys_chan_idx": 5, "enabled": True})
    with pytest.raises(InvalidArgument):
        bank.set({"stim_sys_chan_idx": 1, "enabled": True, "interphase_delay_us": -1.0})
    assert bank.get() == {0: default_stim_params(0), 1: default_stim_params(1)}
    bank.set({"stim_sys_chan_idx": 1, "enabled": True})
    bank.rebind([1, 2])
    assert bank.get()[1]["enabled"] is True and bank.get()[2] == default_stim_params(2)
    bank.reset()
    assert bank.get()[1] == default_stim_params(1)


def test_simulator_shows_the_artifact_at_the_trigger_sample() -> None:
    layout = build_layout(default_sim_sensors(32), n_ain=2, n_din=2, n_dout=2)
    sim = DeviceSimulator("smartbox_sim_gen_spikes", 30000.0, layout, seed=4)
    twin = DeviceSimulator("smartbox_sim_gen_spikes", 30000.0, layout, seed=4)
    bank = StimBank(range(32))
    armed(bank, 6, pulse_or_train=1, number_of_stim_pulses=3, pulse_train_period_us=1000.0)
    sim.generate(4090)
    firing = sim.schedule_stimulation(lambda s: bank.toggle(1, sim.fs, s))
    assert firing.sample_index == 4090 and firing.fired == (6,)
    # read across a synthesis-block boundary, in uneven pieces
    got = np.concatenate([sim.generate(n) for n in (3, 29, 40)], axis=1)
    base = twin.generate(4090 + 72)[:, 4090:]
    diff = got - base
    expected = np.zeros(72)
    (ev,) = stim_artifact(bank.get()[6], 30000.0, row=6)
    assert ev.values is not None
    assert ev.values.size == 2 * 30 + 6  # three 200 µs pulses, 1 ms apart
    expected[: ev.values.size] = ev.values
    assert np.count_nonzero(ev.values) == 18
    np.testing.assert_allclose(diff[6], expected, atol=0.05)
    others = np.delete(diff, 6, axis=0)
    assert np.abs(others).max() == 0.0  # only the stim channel shows it


def test_simulator_reset_drops_pending_stimuli_and_dout_sample_is_reported() -> None:
    layout = build_layout(default_sim_sensors(32), n_ain=2, n_din=2, n_dout=2)
    sim = DeviceSimulator("smartbox_sim_gen_sine", 30000.0, layout)
    bank = StimBank(range(32))
    armed(bank, 0, post_trigger_delay_us=10_000.0)
    sim.generate(100)
    sim.schedule_stimulation(lambda s: bank.toggle(1, sim.fs, s))
    sim.reset()
    clean = DeviceSimulator("smartbox_sim_gen_sine", 30000.0, layout).generate(1000)
    np.testing.assert_array_equal(sim.generate(1000), clean)
    assert sim.set_digital_outs([True, True]) == 1000
    x = sim.generate(5)
    assert (x[36:] == 1.0).all()
    with pytest.raises(ValueError, match="expected 2"):
        sim.set_digital_outs([True])


@pytest.mark.parametrize(("high_or_low", "edges"), [(0, [30000, 60000]), (1, [15000, 45000])])
def test_digital_input_edges_trigger_stimulation(high_or_low: int, edges: list[int]) -> None:
    from radiens_async.hub.daq.allego_device import AllegoDevice

    device = AllegoDevice(seed=2)
    device.restart(1, seed=2)  # sine mode; DIN 0 is a 1 Hz square wave, high first
    twin = DeviceSimulator("smartbox_sim_gen_sine", 30000.0, device.layout, seed=2)
    device.outputs.set_stim_params(
        {
            "stim_sys_chan_idx": 3,
            "enabled": True,
            "trigger_source_is_keypress": False,
            "trigger_source_idx": 0,
            "trigger_high_or_low": high_or_low,
            "first_phase_amplitude_uA": 2.0,
            "second_phase_amplitude_uA": 2.0,
        }
    )
    got = np.concatenate([device.simulator.generate(n) for n in [1000] * 70], axis=1)
    diff = got - twin.generate(70_000)
    hit = np.flatnonzero(np.abs(diff[3]) > 1000.0)
    starts = [int(h) for i, h in enumerate(hit) if i == 0 or hit[i - 1] != h - 1]
    assert starts == edges
    assert np.abs(np.delete(diff, 3, axis=0)).max() == 0.0
    device.outputs.set_stim_params({"stim_sys_chan_idx": 3, "enabled": False})
    assert device.simulator._din_trigger is None  # nothing listens any more


def test_bank_refuses_malformed_channel_indices() -> None:
    bank = StimBank([0, 1])
    for bad in ([1], "1", 1.5, None, True):
        with pytest.raises(InvalidArgument):
            bank.set({"stim_sys_chan_idx": bad, "enabled": True})
    assert bank.get() == {0: default_stim_params(0), 1: default_stim_params(1)}


def test_din_listeners_follow_every_parameter_change() -> None:
    """Channels on the same input fire together; edges at a block boundary are seen; the set
    of listening channels follows set / apply_all / reset."""
    din_on = {
        "enabled": True,
        "trigger_source_is_keypress": False,
        "trigger_source_idx": 0,
        "first_phase_amplitude_uA": 1.0,
        "second_phase_amplitude_uA": 1.0,
    }
    bank = StimBank([0, 1, 2])
    assert not bank.din_armed()
    bank.set({"stim_sys_chan_idx": 0, **din_on})
    bank.set({"stim_sys_chan_idx": 1, **din_on})
    assert bank.din_armed()
    din = np.zeros((1, 10), np.float32)
    din[0, 4:] = 1.0
    fired = bank.on_din_edges(din, 100, np.zeros(1, np.float32), FS)
    assert {(s.start, s.event.row) for s in fired} == {(104, 0), (104, 1)}
    # a rise between blocks lands on the first sample of the new block
    fired = bank.on_din_edges(np.ones((1, 10), np.float32), 10_000, np.zeros(1, np.float32), FS)
    assert {(s.start, s.event.row) for s in fired} == {(10_000, 0), (10_000, 1)}
    assert bank.on_din_edges(din[:, :0], 20_000, np.zeros(1, np.float32), FS) == []
    bank.apply_all({i: default_stim_params(i) for i in range(3)})
    assert not bank.din_armed()
    bank.set({"stim_sys_chan_idx": 2, **din_on})
    assert bank.din_armed()
    bank.reset()
    assert not bank.din_armed()


def test_simulator_keeps_digital_input_edges_across_blocks() -> None:
    """The input value before a block is remembered without a trigger too, so an edge at the
    first sample of the block after arming is caught; reset forgets it."""
    layout = build_layout(default_sim_sensors(32), 2, 2, 2)
    sim = DeviceSimulator("smartbox_sim_gen_sine", 30000.0, layout)
    calls: list[tuple[int, float]] = []

    def trigger(din: np.ndarray, first: int, previous: np.ndarray) -> list[Any]:
        calls.append((first, float(previous[0])))
        return []

    sim.generate(15000)  # DIN 0 is high for the first half second
    sim.set_din_trigger(trigger)
    sim.generate(10)
    sim.reset()
    sim.generate(10)
    assert calls == [(15000, 1.0), (0, 1.0)]
