"""Simulated single units: placement, templates, refractory spike trains and their rendering.

Spike trains are drawn per synthesis block (see :mod:`.sim_waveforms`): block ``b`` of unit
``u`` is a dead-time Poisson process (ISI = refractory period + exponential) drawn from its own
generator; a spike is then dropped when it falls within the refractory period of the last spike
*drawn* for the previous block. The kept train of block ``b`` therefore depends only on the draws
of blocks ``b - 1`` and ``b``, respects the refractory period across block boundaries, and can
be recomputed for any sample range at any time (this is how :meth:`SpikeTrains.events` serves
ground truth for past and future ranges alike).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from radiens_async.hub.daq.channel_layout import ChannelSpec
from radiens_async.hub.daq.sim_waveforms import BLOCK_SAMPLES, F32, RngStream, block_rng

I64 = NDArray[np.int64]
_T = TypeVar("_T")

GROUND_TRUTH_DTYPE = np.dtype(
    [("sample_index", np.int64), ("unit_id", np.int32), ("channel", np.int32)]
)
"""Ground-truth record: trough sample, unit ID, peak amplifier channel (ntv index)."""

UNITS_PER_32_CHANNELS = (8, 12)
SNR_RANGE = (3.0, 15.0)
RATE_RANGE_HZ = (2.0, 20.0)
REFRACTORY_RANGE_S = (2.0e-3, 3.0e-3)
FALLBACK_PITCH_UM = 25.0
"""Spacing of the stand-in positions used when no amplifier channel has a probe site."""

_TEMPLATE_PRE_S = 0.6e-3
_TEMPLATE_POST_S = 1.2e-3
_MIN_RELATIVE_AMPLITUDE = 0.05
_DEPTH_RANGE_UM = (12.0, 30.0)


@dataclass(frozen=True, eq=False)
class SimUnit:
    """Ground truth of one simulated unit.

    Attributes
    ----------
    unit_id : int
        1-based unit ID.
    peak_channel : int
        Amplifier ntv index of the channel with the largest trough (``channels[0]``).
    channels : ndarray of int
        Amplifier ntv indices the unit reaches, largest amplitude first.
    template : ndarray of float32, shape (len(channels), n_template_samples)
        The spike waveform on each of ``channels``, µV.
    trough_index : int
        Sample of the template that carries the trough (the ground-truth spike time).
    trough_uv : float
        Template value at the trough on the peak channel (negative).
    snr : float
        ``|trough_uv| / noise_uv``.
    rate_hz : float
        Nominal firing rate.
    refractory_s : float
        Minimum interval between two spikes of this unit.
    position_um : tuple of float
        ``(x, y, z)`` of the unit in the coordinates of its port's probe (z off the probe plane).
    """

    unit_id: int
    peak_channel: int
    channels: NDArray[np.intp]
    template: F32
    trough_index: int
    trough_uv: float
    snr: float
    rate_hz: float
    refractory_s: float
    position_um: tuple[float, float, float]
    rows: NDArray[np.intp] = field(repr=False)
    """Amplifier rows (positions among the amplifier channels of the layout) of ``channels``."""


def amp_positions(amp: Sequence[ChannelSpec]) -> list[tuple[str, float, float] | None]:
    """``(port, x, y)`` per amplifier row, or ``None`` for a row without a probe site.

    When no row has a site at all, rows get stand-in positions on a line,
    :data:`FALLBACK_PITCH_UM` apart in ntv order within each port (channel adjacency).
    """
    if any(c.site is not None for c in amp):
        return [(c.port, c.site.x_um, c.site.y_um) if c.site is not None else None for c in amp]
    per_port: dict[str, int] = {}
    out: list[tuple[str, float, float] | None] = []
    for c in amp:
        i = per_port.get(c.port, 0)
        per_port[c.port] = i + 1
        out.append((c.port, 0.0, i * FALLBACK_PITCH_UM))
    return out


def spike_shape(fs: float, rng: np.random.Generator) -> tuple[F32, int]:
    """A unit-trough extracellular waveform sampled at ``fs``.

    A dominant negative Gaussian trough, a slower positive repolarisation lobe after it and,
    for some units, a small positive lobe before it (triphasic). The sampled minimum is -1.

    Returns
    -------
    shape : ndarray of float32
        The waveform, ``~1.8 ms`` long.
    trough_index : int
        Index of its minimum.
    """
    pre = max(1, round(_TEMPLATE_PRE_S * fs))
    post = max(1, round(_TEMPLATE_POST_S * fs))
    t_ms = (np.arange(-pre, post + 1, dtype=np.float64) / fs) * 1e3
    width = rng.uniform(0.08, 0.15)
    repol_amp, repol_delay, repol_width = (
        rng.uniform(0.2, 0.45),
        rng.uniform(0.3, 0.5),
        rng.uniform(0.2, 0.35),
    )
    pre_amp = rng.uniform(0.0, 0.15) if rng.random() < 0.5 else 0.0
    wave = (
        -np.exp(-0.5 * (t_ms / width) ** 2)
        + repol_amp * np.exp(-0.5 * ((t_ms - repol_delay) / repol_width) ** 2)
        + pre_amp * np.exp(-0.5 * ((t_ms + 0.2) / 0.08) ** 2)
    )
    trough = int(np.argmin(wave))
    wave /= -wave[trough]
    return wave.astype(np.float32), trough


def make_units(amp: Sequence[ChannelSpec], fs: float, seed: int, noise_uv: float) -> list[SimUnit]:
    """Place units on the probes of ``amp`` (the amplifier channels, in row order).

    Each port gets ``round(n_sites * U / 32)`` units (at least one), ``U`` drawn from
    :data:`UNITS_PER_32_CHANNELS`; a unit sits ``z`` = 12-30 µm off a site (its peak channel)
    and reaches every site of the same port where ``(z / distance)²`` is at least 0.05 of the
    peak. SNRs are spread geometrically over :data:`SNR_RANGE`, rates log-uniformly over
    :data:`RATE_RANGE_HZ`.
    """
    rng = block_rng(seed, RngStream.UNITS)
    positions = amp_positions(amp)
    by_port: dict[str, list[int]] = {}
    for row, pos in enumerate(positions):
        if pos is not None:
            by_port.setdefault(pos[0], []).append(row)
    peaks: list[int] = []
    for port in sorted(by_port):
        rows = by_port[port]
        per32 = int(rng.integers(UNITS_PER_32_CHANNELS[0], UNITS_PER_32_CHANNELS[1] + 1))
        n = max(1, round(len(rows) * per32 / 32))
        peaks += rng.choice(rows, size=n, replace=n > len(rows)).tolist()
    peaks.sort()
    n_units = len(peaks)
    if n_units == 0:
        return []
    snrs = rng.permutation(np.geomspace(SNR_RANGE[0], SNR_RANGE[1], n_units))
    rates = np.exp(rng.uniform(math.log(RATE_RANGE_HZ[0]), math.log(RATE_RANGE_HZ[1]), n_units))

    units: list[SimUnit] = []
    for i, peak in enumerate(peaks):
        port, x0, y0 = positions[peak]  # type: ignore[misc]
        z = float(rng.uniform(*_DEPTH_RANGE_UM))
        rows_l: list[int] = []
        rel_l: list[float] = []
        for row, pos in enumerate(positions):
            if pos is None or pos[0] != port:
                continue
            d2 = (pos[1] - x0) ** 2 + (pos[2] - y0) ** 2 + z * z
            rel = z * z / d2
            if rel >= _MIN_RELATIVE_AMPLITUDE:
                rows_l.append(row)
                rel_l.append(rel)
        order = np.argsort(-np.asarray(rel_l), kind="stable")
        unit_rows = np.asarray(rows_l, dtype=np.intp)[order]
        gains = np.asarray(rel_l, dtype=np.float64)[order]
        shape, trough = spike_shape(fs, rng)
        depth_uv = float(snrs[i]) * noise_uv  # the shape's trough is -1
        template = (depth_uv * gains[:, None] * shape[None, :]).astype(np.float32)
        template.setflags(write=False)
        refractory_samples = math.ceil(rng.uniform(*REFRACTORY_RANGE_S) * fs)
        channels = np.asarray([amp[r].ntv_idx for r in unit_rows], dtype=np.intp)
        channels.setflags(write=False)
        unit_rows.setflags(write=False)
        units.append(
            SimUnit(
                unit_id=i + 1,
                peak_channel=int(channels[0]),
                channels=channels,
                template=template,
                trough_index=trough,
                trough_uv=float(template[0, trough]),
                snr=float(snrs[i]),
                rate_hz=float(rates[i]),
                refractory_s=refractory_samples / fs,
                position_um=(float(x0), float(y0), z),
                rows=unit_rows,
            )
        )
    return units


class SpikeTrains:
    """Deterministic refractory spike trains of a set of units, served block by block.

    Parameters
    ----------
    units : sequence of SimUnit
        The units (their rates and refractory periods).
    fs : float
        Sampling frequency (Hz).
    seed : int
        Simulator seed.
    """

    _CACHE_BLOCKS = 8

    def __init__(self, units: Sequence[SimUnit], fs: float, seed: int) -> None:
        self._seed = seed
        self._n = len(units)
        self._refractory = np.array([round(u.refractory_s * fs) for u in units], dtype=np.int64)
        rates = np.array([u.rate_hz for u in units], dtype=np.float64)
        # mean of the exponential part of the ISI, in samples, so the mean ISI is 1 / rate
        self._exp_mean = np.maximum(1.0 / np.maximum(rates, 1e-9) * fs - self._refractory, 1.0)
        self._unit_ids = np.array([u.unit_id for u in units], dtype=np.int32)
        self._peaks = np.array([u.peak_channel for u in units], dtype=np.int32)
        self._drawn: OrderedDict[int, list[I64]] = OrderedDict()
        self._kept: OrderedDict[int, tuple[I64, NDArray[np.intp]]] = OrderedDict()

    def _draw(self, block: int) -> list[I64]:
        """Spike times drawn for ``block`` (absolute samples), one array per unit."""
        hit = self._drawn.get(block)
        if hit is not None:
            return hit
        rng = block_rng(self._seed, RngStream.SPIKE_TRAINS, block)
        start = block * BLOCK_SAMPLES
        n_cols = int(BLOCK_SAMPLES / float(np.min(self._exp_mean + self._refractory)) * 1.5) + 8
        times = np.zeros((self._n, 0), dtype=np.int64)
        last = -self._refractory.copy()
        while True:
            gaps = np.floor(rng.standard_exponential((self._n, n_cols)) * self._exp_mean[:, None])
            steps = gaps.astype(np.int64) + self._refractory[:, None]
            more = last[:, None] + np.cumsum(steps, axis=1)
            times = np.hstack([times, more])
            last = more[:, -1]
            if np.all(last >= BLOCK_SAMPLES):
                break
        drawn = [start + row[row < BLOCK_SAMPLES] for row in times]
        self._remember(self._drawn, block, drawn)
        return drawn

    def _kept_block(self, block: int) -> tuple[I64, NDArray[np.intp]]:
        """Spikes kept in ``block``: ``(times, unit positions)`` sorted by time then unit."""
        hit = self._kept.get(block)
        if hit is not None:
            return hit
        drawn = self._draw(block)
        previous = self._draw(block - 1) if block > 0 else None
        times_l: list[I64] = []
        units_l: list[NDArray[np.intp]] = []
        for u, t in enumerate(drawn):
            if previous is not None and len(previous[u]) > 0:
                t = t[t - previous[u][-1] >= self._refractory[u]]
            times_l.append(t)
            units_l.append(np.full(len(t), u, dtype=np.intp))
        times = np.concatenate(times_l) if times_l else np.zeros(0, dtype=np.int64)
        units = np.concatenate(units_l) if units_l else np.zeros(0, dtype=np.intp)
        order = np.lexsort((units, times))
        kept = (times[order], units[order])
        self._remember(self._kept, block, kept)
        return kept

    @classmethod
    def _remember(cls, cache: OrderedDict[int, _T], block: int, value: _T) -> None:
        cache[block] = value
        while len(cache) > cls._CACHE_BLOCKS:
            cache.popitem(last=False)

    def spikes_near(self, block: int) -> tuple[I64, NDArray[np.intp]]:
        """Kept spikes of blocks ``block - 1 .. block + 1`` (enough to render ``block``)."""
        parts = [self._kept_block(b) for b in (block - 1, block, block + 1) if b >= 0]
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
        )

    def events(self, start: int, stop: int) -> NDArray[np.void]:
        """Ground truth of every spike whose trough lies in ``[start, stop)``.

        Returns
        -------
        ndarray of :data:`GROUND_TRUTH_DTYPE`
            Sorted by sample index, then unit ID.
        """
        start = max(0, start)
        if stop <= start or self._n == 0:
            return np.zeros(0, dtype=GROUND_TRUTH_DTYPE)
        parts = [
            self._kept_block(b)
            for b in range(start // BLOCK_SAMPLES, (stop - 1) // BLOCK_SAMPLES + 1)
        ]
        times = np.concatenate([p[0] for p in parts])
        units = np.concatenate([p[1] for p in parts])
        keep = (times >= start) & (times < stop)
        out = np.zeros(int(keep.sum()), dtype=GROUND_TRUTH_DTYPE)
        out["sample_index"] = times[keep]
        out["unit_id"] = self._unit_ids[units[keep]]
        out["channel"] = self._peaks[units[keep]]
        return out


def render_spikes(out: F32, block: int, units: Sequence[SimUnit], trains: SpikeTrains) -> None:
    """Add the templates of every spike that overlaps ``block`` to ``out`` (amplifier rows)."""
    k0 = block * BLOCK_SAMPLES
    k1 = k0 + BLOCK_SAMPLES
    times, which = trains.spikes_near(block)
    for t, u in zip(times.tolist(), which.tolist(), strict=True):
        unit = units[u]
        s0 = t - unit.trough_index
        a = max(s0, k0)
        e = min(s0 + unit.template.shape[1], k1)
        if a < e:
            out[unit.rows, a - k0 : e - k0] += unit.template[:, a - s0 : e - s0]
