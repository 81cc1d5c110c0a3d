"""Stimulation, digital out and analog out against a real hub (async and sync)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import radiens_async as radiens
from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound
from radiens_async.formats.xdat import XdatReader
from radiens_async.utils.enums import SignalType

from stim_fixtures import EVERY_FIELD

pytestmark = pytest.mark.anyio


ARMED: dict[str, Any] = {
    "stim_sys_chan_idx": 6,
    "enabled": True,
    "trigger_source_is_keypress": True,
    "trigger_source_idx": 1,
    "first_phase_amplitude_uA": 10.0,
    "second_phase_amplitude_uA": 10.0,
}


async def fresh(allego: radiens.AsyncAllegoClient) -> None:
    await allego.set_streaming("off")
    await allego.restart("sim-spikes", seed=3)


async def test_stim_params_round_trip_and_keep_unspecified_keys(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await fresh(allego)
        params = await allego.get_stim_params()
        assert sorted(params) == list(range(32))
        assert params[6]["first_phase_duration_us"] == 100.0 and params[6]["enabled"] is False
        merged = await allego.set_stim_params(EVERY_FIELD)
        assert merged == EVERY_FIELD
        assert (await allego.get_stim_params())[6] == EVERY_FIELD
        await allego.set_stim_params({"stim_sys_chan_idx": 6, "stim_shape": "MONOPHASIC"})
        after = (await allego.get_stim_params())[6]
        assert after == {**EVERY_FIELD, "stim_shape": 3}
        assert (await allego.get_stim_params())[5]["enabled"] is False
        await allego.restart("sim-spikes")
        assert (await allego.get_stim_params())[6]["enabled"] is False  # restart resets


@pytest.mark.parametrize(
    ("update", "error", "match"),
    [
        ({"stim_sys_chan_idx": 99}, NotFound, "unknown stim channel 99"),
        ({"stim_sys_chan_idx": 32}, NotFound, "unknown stim channel"),
        ({"stim_sys_chan_idx": 6, "first_phase_duration_us": -5.0}, InvalidArgument, "must be in"),
        ({"stim_sys_chan_idx": 6, "interphase_delay_us": math.inf}, InvalidArgument, "finite"),
        ({"stim_sys_chan_idx": 6, "first_phase_amplitude_uA": -1.0}, InvalidArgument, "must be"),
        ({"stim_sys_chan_idx": 6, "second_phase_amplitude_uA": math.nan}, InvalidArgument, "fin"),
        ({"stim_sys_chan_idx": 6, "enabled": True, "stim_amp": 1}, InvalidArgument, "unknown"),
        ({"enabled": True}, InvalidArgument, "stim_sys_chan_idx"),
        ({"stim_sys_chan_idx": 6, "enabled": "yes"}, InvalidArgument, "True or False"),
    ],
)
async def test_stim_bad_input_is_typed_and_changes_nothing(
    address: str, update: dict[str, Any], error: type[Exception], match: str
) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await fresh(allego)
        before = await allego.get_stim_params()
        with pytest.raises(error, match=match):
            await allego.set_stim_params(update)
        assert await allego.get_stim_params() == before


async def test_stim_is_refused_in_the_wrong_state(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await fresh(allego)
        with pytest.raises(FailedPrecondition, match="streaming is off"):
            await allego.set_manual_stim_trigger(1)
        await allego.set_streaming("on")
        try:
            with pytest.raises(FailedPrecondition, match="while streaming"):
                await allego.set_stim_params(ARMED)
            for bad in (0, 9, -1):
                with pytest.raises(InvalidArgument, match="keypress trigger"):
                    await allego.set_manual_stim_trigger(bad)
            with pytest.raises(InvalidArgument, match="must be an int"):
                await allego.set_manual_stim_trigger("1")  # type: ignore[arg-type]
        finally:
            await allego.set_streaming("off")
        assert (await allego.get_stim_params())[6]["enabled"] is False


async def read_rows(
    allego: radiens.AsyncAllegoClient, rows: list[int], start: int, n: int
) -> np.ndarray:
    """Samples ``[start, start + n)`` of ``rows`` from the live stream."""
    got: list[np.ndarray] = []
    have = 0
    stream = allego.stream_signals(start=start, channels=rows)
    async with contextlib.aclosing(stream) as chunks:
        async for chunk in chunks:
            assert chunk.missed_samples == 0
            got.append(chunk.data)
            have += chunk.data.shape[1]
            if have >= n:
                break
    return np.concatenate(got, axis=1)[:, :n]


async def test_trigger_shows_a_charge_balanced_artifact_at_the_reported_sample(
    address: str,
) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await fresh(allego)
        await allego.set_stim_params(ARMED)
        await allego.set_streaming("on")
        try:
            await asyncio.sleep(0.3)
            fired = await allego.set_manual_stim_trigger(1)
            assert fired.fired_sys_chan_idxs == (6,) and fired.refractory_sys_chan_idxs == ()
            assert fired.first_pulse_sample == (fired.sample_index,)
            again = await allego.set_manual_stim_trigger(1)  # within the 1 ms refractory?
            s = fired.sample_index
            x = await read_rows(allego, [6, 7], s - 30, 60)
        finally:
            await allego.set_streaming("off")
    stim, neighbour = x[0], x[1]
    pulse = stim[30:36]  # 100 µs phases at 30 kHz: 3 samples each
    assert (pulse[:3] < -90_000).all() and (pulse[3:] > 90_000).all()
    assert np.abs(stim[:30]).max() < 1000 and np.abs(neighbour).max() < 1000
    assert abs(float(pulse.astype(np.float64).sum())) < 6 * 1000  # the charge cancels
    if again.fired_sys_chan_idxs:  # the second call came after the refractory period
        assert again.sample_index >= s + 6 + 30


async def test_dout_appears_in_stream_and_recording_from_the_reported_sample(
    address: str, tmp_path: Path
) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await fresh(allego)
        meta = await allego.get_channel_metadata()
        dout_rows = list(meta.index(SignalType.DOUT).sys)
        assert await allego.get_digital_out_states() == {
            "digital_outs_mode": "MANUAL",
            "states": [{"chan_idx": 0, "state": False}, {"chan_idx": 1, "state": False}],
        }
        await allego.set_recording_config(tmp_path, "dout", 0, False)
        await allego.set_recording("on")
        try:
            await asyncio.sleep(0.2)
            on = await allego.set_digital_out_manual(True, False)
            await asyncio.sleep(0.05)
            off = await allego.set_digital_out_manual(False, True)
            x = await read_rows(allego, dout_rows, on - 10, off - on + 20)
            await asyncio.sleep(0.1)
        finally:
            await allego.set_recording("off")
            await allego.set_streaming("off")
        assert await allego.get_digital_out_states() == {
            "digital_outs_mode": "MANUAL",
            "states": [{"chan_idx": 0, "state": False}, {"chan_idx": 1, "state": True}],
        }
    expected0 = np.r_[np.zeros(10), np.ones(off - on), np.zeros(10)]
    expected1 = np.r_[np.zeros(10 + off - on), np.ones(10)]
    np.testing.assert_array_equal(x[0], expected0)
    np.testing.assert_array_equal(x[1], expected1)
    with XdatReader(tmp_path / "dout_0.xdat") as reader:
        ts = reader.timestamps
        data = reader.read(channels=dout_rows)
    k_on, k_off = int(np.searchsorted(ts, on)), int(np.searchsorted(ts, off))
    assert ts[k_on] == on and ts[k_off] == off
    assert (data[0, :k_on] == 0).all() and (data[0, k_on:k_off] == 1).all()
    assert (data[0, k_off:] == 0).all() and (data[1, k_off:] == 1).all()


async def test_dout_bad_input_changes_nothing(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await fresh(allego)
        await allego.set_digital_out_manual(True, False)
        for a, b in ((1, False), (True, "off"), (None, True), (np.bool_(True), False)):
            with pytest.raises(InvalidArgument, match="must be True or False"):
                await allego.set_digital_out_manual(a, b)  # type: ignore[arg-type]
        states = (await allego.get_digital_out_states())["states"]
        assert [s["state"] for s in states] == [True, False]


async def test_analog_out_settings_and_bad_input(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await fresh(allego)
        settings = await allego.get_analog_out_settings()
        assert settings == {
            "dac": [
                {
                    "amp_ntv_chan_idx": -1,
                    "aout_ntv_chan_idx": 0,
                    "stream": 0,
                    "stream_offset_idx": 0,
                },
                {
                    "amp_ntv_chan_idx": -1,
                    "aout_ntv_chan_idx": 1,
                    "stream": 0,
                    "stream_offset_idx": 0,
                },
            ],
            "gain": 0,
            "high_pass": {"enable": False, "cutoff_freq": 0.0},
        }
        new = await allego.set_analog_out_high_pass(500)
        assert new["high_pass"] == {"enable": True, "cutoff_freq": 500.0}
        assert await allego.get_analog_out_settings() == new
        for cutoff, enable in (
            (-1, True),
            (math.nan, True),
            (math.inf, True),
            (15000, True),
            ("500", True),
            (500, "yes"),
        ):
            with pytest.raises(InvalidArgument):
                await allego.set_analog_out_high_pass(cutoff, enable)  # type: ignore[arg-type]
        assert await allego.get_analog_out_settings() == new


def test_sync_client_stim_dout_aout(address: str) -> None:
    with radiens.AllegoClient(address) as client:
        client.set_streaming("off")
        client.restart("sim-spikes", seed=3)
        assert client.set_stim_params(ARMED)["enabled"] is True
        assert client.get_stim_params()[6]["first_phase_amplitude_uA"] == 10.0
        with pytest.raises(NotFound):
            client.set_stim_params({"stim_sys_chan_idx": 1000})
        with pytest.raises(InvalidArgument):
            client.set_stim_params({"stim_sys_chan_idx": 6, "first_phase_duration_us": -1.0})
        client.set_streaming("on")
        try:
            fired = client.set_manual_stim_trigger(1)
            assert fired.fired_sys_chan_idxs == (6,) and fired.sample_index > 0
            sample = client.set_digital_out_manual(False, True)
            assert sample >= fired.sample_index
            with pytest.raises(InvalidArgument):
                client.set_digital_out_manual(0, 1)  # type: ignore[arg-type]
        finally:
            client.set_streaming("off")
        assert client.get_digital_out_states()["states"][1] == {"chan_idx": 1, "state": True}
        assert client.set_analog_out_high_pass(300, False)["high_pass"] == {
            "enable": False,
            "cutoff_freq": 300.0,
        }
        with pytest.raises(InvalidArgument):
            client.set_analog_out_high_pass(-3)
        assert client.get_analog_out_settings()["high_pass"]["cutoff_freq"] == 300.0
        client.restart("sim-spikes")


async def test_digital_input_edges_trigger_stimulation(address: str) -> None:
    """DIN 0 of the simulator is a 1 Hz square wave: rising edges at every whole second."""
    async with radiens.AsyncAllegoClient(address) as allego:
        await fresh(allego)
        await allego.set_stim_params(
            {**ARMED, "trigger_source_is_keypress": False, "trigger_source_idx": 0}
        )
        await allego.set_streaming("on")
        try:
            x = await read_rows(allego, [6], 0, 63_000)
        finally:
            await allego.set_streaming("off")
    hit = np.flatnonzero(np.abs(x[0]) > 50_000)
    starts = [int(h) for i, h in enumerate(hit) if i == 0 or hit[i - 1] != h - 1]
    assert starts == [30_000, 60_000]
