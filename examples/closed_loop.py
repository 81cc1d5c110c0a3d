"""Closed loop: toggle a digital out (or trigger stimulation) when a unit bursts, and measure it.

An asyncio controller watches the live spike stream of ``smartbox_sim_gen_spikes``. A unit (a
channel and the sorter's label) *bursts* when it fires ``--burst-spikes`` spikes within
``--burst-window-ms``; the controller then toggles digital out 1 (``--action dout``) or triggers
keypress stimulation on a stim channel (``--action stim``), once for all the bursts completed by
one batch of the stream (they arrived together; each is timed on its own).

Both calls report the stream sample at which their effect starts, so the reaction latency is
measured in samples, on the hub's own clock: ``(effect sample - sample of the spike that
completed the burst) / fs``, where the spike sample is the spike's peak as the hub detected it.
No wall clock is involved. As a breakdown, the part spent before the controller had the spike
(detection and delivery: the hub's ``acquired_ns`` of the spike's sample to the batch's arrival,
one monotonic clock on one machine) is reported too.

Every two seconds a second task reads the affected channel back from the live stream and checks,
for every action, that it shows the effect at exactly the reported sample: the new ``gpio_dout``
state (two toggles that land on the same sample leave the last one's), or the stimulus artifact's
first phase on the stim channel. The first ``--warmup-s`` of the stream (the spike detector's noise
estimate settling) is watched but not reacted to.

    python examples/closed_loop.py                       # 10 s on the embedded hub
    python examples/closed_loop.py --seconds 60 --channels 32 --action stim

Prints p50 / p99 / max reaction latency and the number of reactions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np

import radiens_async as radiens
from radiens_async.utils.enums import SignalType

STIM_CHANNEL = 0
STIM_UA = 5.0
STIM_UV = STIM_UA * 10_000.0  # the simulated electrode shows 10 000 µV per µA
TRIGGER = 1


@dataclass
class ClosedLoopResult:
    """What one run measured (latencies in ms, computed from sample indices)."""

    n_channels: int
    action: str
    seconds: float
    spikes: int = 0
    missed_spikes: int = 0
    reactions: int = 0  # bursts reacted to
    actions: int = 0  # digital-out writes or stim triggers (one per batch with bursts)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    delivery_ms: list[float] = field(default_factory=list, repr=False)
    verified_in_stream: int = 0
    mismatched_in_stream: int = 0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def summary(self) -> dict[str, object]:
        out = {k: v for k, v in asdict(self).items() if k not in ("latencies_ms", "delivery_ms")}
        delivery = self.delivery_ms or [float("nan")]
        out.update(
            p50_ms=self.percentile(50),
            p99_ms=self.percentile(99),
            max_ms=max(self.latencies_ms, default=float("nan")),
            delivery_p50_ms=float(np.percentile(delivery, 50)),
            delivery_p99_ms=float(np.percentile(delivery, 99)),
        )
        return out


class BurstDetector:
    """Per unit, the sample indices of its recent spikes; a burst is ``n`` within ``window``."""

    def __init__(self, n_spikes: int, window_samples: int) -> None:
        self.n = n_spikes
        self.window = window_samples
        self.recent: dict[tuple[int, int], deque[int]] = {}

    def feed(self, sample: int, channel: int, label: int) -> bool:
        """Add one spike; True when it completes a burst (the unit's history then restarts)."""
        times = self.recent.setdefault((channel, label), deque(maxlen=self.n))
        times.append(sample)
        if len(times) == self.n and times[-1] - times[0] <= self.window:
            times.clear()
            return True
        return False


async def read_rows(
    allego: radiens.AsyncAllegoClient, row: int, start: int, stop: int
) -> np.ndarray:
    """Samples ``[start, stop)`` of the channel ``row`` (sys index), read back from the live cache.

    One short stream per check: the hub sends the cached backlog in large messages, so this
    costs far less than following the row live (1000 messages a second) would.
    """
    got: list[np.ndarray] = []
    have = 0
    stream = allego.stream_signals(start=start, channels=[row])
    async with contextlib.aclosing(stream) as chunks:
        async for chunk in chunks:
            got.append(chunk.data[0])
            have += chunk.data.shape[1]
            if have >= stop - start:
                break
    return np.concatenate(got)[: stop - start] if got else np.zeros(0, np.float32)


def shows(action: str, value: float, state: bool) -> bool:
    """Whether a stream sample shows an action's effect: the digital-out state, or the first
    (cathodic) phase of the stimulus artifact."""
    if action == "dout":
        return bool(value) == state
    return value < -STIM_UV / 2


async def verify_in_stream(
    allego: radiens.AsyncAllegoClient, action: str, row: int, reported: list[tuple[int, bool]]
) -> tuple[int, int]:
    """(actions whose effect the stream shows at their sample, those it does not).

    Two digital-out toggles that land on the same sample leave the state of the last one.
    """
    if not reported:
        return 0, 0
    first, last = reported[0][0], reported[-1][0]
    x = await read_rows(allego, row, first, last + 1)
    last_state = dict(reported)  # the last write at each sample wins
    ok = sum(
        1
        for sample, _ in reported
        if sample - first < x.size and shows(action, x[sample - first], last_state[sample])
    )
    return ok, len(reported) - ok


async def verify_periodically(
    allego: radiens.AsyncAllegoClient,
    action: str,
    row: int,
    reported: list[tuple[int, bool]],
    result: ClosedLoopResult,
    every_s: float = 2.0,
) -> None:
    """Check the reactions so far every ``every_s`` (well within what the live cache holds)."""
    checked = 0
    while True:
        await asyncio.sleep(every_s)
        upto = len(reported)
        ok, bad = await verify_in_stream(allego, action, row, reported[checked:upto])
        result.verified_in_stream += ok
        result.mismatched_in_stream += bad
        checked = upto


async def run_closed_loop(
    address: str | None = None,
    *,
    seconds: float = 10.0,
    n_channels: int = 32,
    action: str = "dout",
    burst_spikes: int = 2,
    burst_window_ms: float = 25.0,
    seed: int = 1,
    warmup_s: float = 1.0,
    verbose: bool = True,
) -> ClosedLoopResult:
    """Run the controller for ``seconds`` of stream and return what it measured."""
    result = ClosedLoopResult(n_channels, action, seconds)
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.set_streaming("off")
        await allego.restart("smartbox_sim_gen_spikes", seed=seed, num_channels=n_channels)
        fs = (await allego.get_status()).sample_freq
        if action == "stim":
            await allego.set_stim_params(
                {
                    "stim_sys_chan_idx": STIM_CHANNEL,
                    "enabled": True,
                    "trigger_source_is_keypress": True,
                    "trigger_source_idx": TRIGGER,
                    "first_phase_amplitude_uA": STIM_UA,
                    "second_phase_amplitude_uA": STIM_UA,
                    "refactory_period_ms": 0.0,
                }
            )
        meta = await allego.get_channel_metadata()
        row = meta.index(SignalType.DOUT).sys[0] if action == "dout" else STIM_CHANNEL
        await allego.set_digital_out_manual(False, False)
        await allego.set_streaming("on")
        detector = BurstDetector(burst_spikes, round(burst_window_ms * fs / 1000.0))
        reported: list[tuple[int, bool]] = []
        checker = asyncio.create_task(verify_periodically(allego, action, row, reported, result))
        state = False
        stop_sample = None
        try:
            spikes = allego.spikes().stream(start="now")
            async with contextlib.aclosing(spikes) as batches:
                async for batch in batches:
                    received_ns = time.monotonic_ns()
                    result.spikes += batch.n_spikes
                    result.missed_spikes += batch.missed_spikes
                    bursts: list[tuple[int, int]] = []  # (spike sample, its acquired_ns)
                    for sample, channel, label, acquired_ns in zip(
                        batch.sample_index.tolist(),
                        batch.channel.tolist(),
                        batch.label.tolist(),
                        batch.acquired_ns.tolist(),
                        strict=True,
                    ):
                        if sample < warmup_s * fs:
                            continue
                        if stop_sample is None:
                            stop_sample = sample + round(seconds * fs)
                        if detector.feed(sample, channel, label):
                            bursts.append((sample, acquired_ns))
                    if bursts:
                        # one action answers every burst of the batch (they arrived together)
                        result.actions += 1
                        if action == "dout":
                            state = not state
                            effect = await allego.set_digital_out_manual(state, False)
                            reported.append((effect, state))
                        else:
                            fired = await allego.set_manual_stim_trigger(TRIGGER)
                            effect = fired.sample_index
                            if fired.fired_sys_chan_idxs:  # not ignored as refractory
                                reported.append((effect, True))
                        for sample, acquired_ns in bursts:
                            result.reactions += 1
                            result.latencies_ms.append((effect - sample) * 1000.0 / fs)
                            result.delivery_ms.append((received_ns - acquired_ns) / 1e6)
                    if (
                        stop_sample is not None
                        and batch.sample_index.size
                        and (int(batch.sample_index[-1]) >= stop_sample)
                    ):
                        break
            checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checker
            checked = result.verified_in_stream + result.mismatched_in_stream
            await asyncio.sleep(0.01)  # the last change is acquired
            ok, bad = await verify_in_stream(allego, action, row, reported[checked:])
            result.verified_in_stream += ok
            result.mismatched_in_stream += bad
        finally:
            checker.cancel()
            await allego.set_streaming("off")
    if verbose:
        print_result(result)
    return result


def print_result(r: ClosedLoopResult) -> None:
    s = r.summary()
    print(
        f"closed loop ({r.action}, {r.n_channels} channels, {r.seconds:g} s): {r.spikes} spikes, "
        f"{r.reactions} bursts reacted to with {r.actions} {r.action} actions"
    )
    print(
        f"reaction latency (spike sample -> {r.action} sample): p50 {s['p50_ms']:.2f} ms, "
        f"p99 {s['p99_ms']:.2f} ms, max {s['max_ms']:.2f} ms (n={r.reactions}); of which "
        f"detection + delivery p50 {s['delivery_p50_ms']:.2f} ms, p99 {s['delivery_p99_ms']:.2f} ms"
    )
    seen = "digital out states" if r.action == "dout" else "stimulus artifacts"
    print(
        f"{seen} seen in the stream at the reported sample: "
        f"{r.verified_in_stream}/{r.verified_in_stream + r.mismatched_in_stream}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", help="host:port of a hub (default: the embedded hub)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--action", choices=("dout", "stim"), default="dout")
    parser.add_argument("--burst-spikes", type=int, default=2)
    parser.add_argument("--burst-window-ms", type=float, default=25.0)
    parser.add_argument("--warmup-s", type=float, default=1.0)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON too")
    args = parser.parse_args(argv)
    result = asyncio.run(
        run_closed_loop(
            args.address,
            seconds=args.seconds,
            n_channels=args.channels,
            action=args.action,
            burst_spikes=args.burst_spikes,
            burst_window_ms=args.burst_window_ms,
            warmup_s=args.warmup_s,
        )
    )
    if args.json:
        print(json.dumps(result.summary()))
    return 0 if result.mismatched_in_stream == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
