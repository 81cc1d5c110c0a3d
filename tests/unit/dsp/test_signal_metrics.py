"""dsp.signal_metrics: every MetricName against an independent numpy computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiens_async.dsp.signal_metrics import (
    MetricsParams,
    combine_modes,
    packet_metrics,
    packet_metrics_and_isi_mean,
)
from radiens_async.errors import InvalidArgument
from radiens_async.utils.enums import MetricMode, MetricName

FS = 10000.0
PRE, POST, SHADOW = 5, 10, 15  # samples at FS (0.5 ms, 1.0 ms, 1.5 ms)


def _packet(seed: int = 0, n: int = 10000, n_ch: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 10, (n_ch, n))
    for c in range(n_ch):  # spikes: a negative deflection then a positive rebound
        for t in rng.choice(np.arange(50, n - 50), 40 + 10 * c, replace=False):
            x[c, t : t + 3] -= 80 + 10 * c
            x[c, t + 3 : t + 6] += 30
    return x


def _reference_events(x, neg, pos, weak_neg=-math.inf, weak_pos=math.inf):  # type: ignore[no-untyped-def]
    """A sample-by-sample state machine, written independently of the kernel."""
    events = []
    last = None
    for i in range(1, len(x)):
        crossed = (x[i] <= neg < x[i - 1]) or (x[i] >= pos > x[i - 1])
        if not crossed:
            continue
        if last is not None and i - last < SHADOW:
            continue
        if i - PRE < 0 or i + POST >= len(x):
            continue
        w = x[i - PRE : i + POST + 1]
        if min(w) <= weak_neg or max(w) >= weak_pos:
            continue
        events.append(i)
        last = i
    return events


def _reference(x: np.ndarray, first: int, neg: float, pos: float, **weak: float) -> dict:
    n = len(x)
    noise = np.median(np.abs(x - np.median(x))) / 0.6745
    ev = _reference_events(x, neg, pos, **weak)
    mask = np.ones(n, bool)
    wins = []
    for i in ev:
        mask[i - PRE : i + POST + 1] = False
        wins.append((i, x[i - PRE : i + POST + 1], np.arange(i - PRE, i + POST + 1)))
    isi = x[mask]
    sd = x.std()
    pp = x.max() - x.min()
    r = {
        MetricName.NUM_PTS: n,
        MetricName.NUM_PTS_ISI: isi.size,
        MetricName.DUR_SEC: n / FS,
        MetricName.MEAN: x.mean(),
        MetricName.MIN: x.min(),
        MetricName.MIN_ISI: isi.min(),
        MetricName.MAX: x.max(),
        MetricName.MAX_ISI: isi.max(),
        MetricName.MAX_ABS: np.abs(x).max(),
        MetricName.MAX_ABS_ISI: np.abs(isi).max(),
        MetricName.TIMESTAMP_MIN: first + np.argmin(x),
        MetricName.TIMESTAMP_MAX: first + np.argmax(x),
        MetricName.MAX_MIN_DIFF_ABS: pp,
        MetricName.MAX_MIN_DIFF_ABS_ISI: isi.max() - isi.min(),
        MetricName.SD: sd,
        MetricName.SD_ISI: isi.std(),
        MetricName.VAR: x.var(),
        MetricName.VAR_ISI: isi.var(),
        MetricName.RMS: np.sqrt(np.mean(x**2)),
        MetricName.RMS_ISI: np.sqrt(np.mean(isi**2)),
        MetricName.NOISE_UV: noise,
        MetricName.NUM_EVENTS: len(ev),
        MetricName.EVENT_RATE: len(ev) / (n / FS),
        MetricName.MAX_MIN_DIFF_ABS_AMPLIFIED: pp**2 if pp > 2 * sd else 0.0,
    }
    if ev:
        maxes = [w.max() for _, w, _ in wins]
        mins = [w.min() for _, w, _ in wins]
        abss = [np.abs(w).max() for _, w, _ in wins]
        pps = [w.max() - w.min() for _, w, _ in wins]
        k = int(np.argmax(maxes))
        r[MetricName.EVENT_MAX] = maxes[k]
        r[MetricName.EVENT_TIMESTAMP_MAX] = first + wins[k][2][np.argmax(wins[k][1])]
        k = int(np.argmin(mins))
        r[MetricName.EVENT_MIN] = mins[k]
        r[MetricName.EVENT_TIMESTAMP_MIN] = first + wins[k][2][np.argmin(wins[k][1])]
        k = int(np.argmax(abss))
        r[MetricName.EVENT_MAX_ABS] = abss[k]
        r[MetricName.EVENT_TIMESTAMP_MAX_ABS] = first + wins[k][2][np.argmax(np.abs(wins[k][1]))]
        k = int(np.argmax(pps))
        r[MetricName.EVENT_MAX_MIN_DIFF_ABS] = pps[k]
        r[MetricName.EVENT_TIMESTAMP_MAX_MIN_DIFF_ABS] = first + wins[k][0]
        r[MetricName.MEAN_MAX] = np.mean(maxes)
        r[MetricName.MEAN_MIN] = np.mean(mins)
        r[MetricName.MEAN_MAX_ABS] = np.mean(abss)
        r[MetricName.EVENT_MEAN_MAX_MIN_DIFF_ABS] = np.mean(pps)
        r[MetricName.SNR] = np.mean(abss) / noise
    return r


def _params(n_ch: int, neg: float, pos: float, ref: str = "uV") -> MetricsParams:
    p = MetricsParams.standard(n_ch)
    rows = np.arange(n_ch)
    p = p.with_levels(rows, (neg, pos), ref, weak=False)
    return p


@pytest.mark.parametrize("pos_armed", [False, True])
def test_every_metric_equals_numpy(pos_armed: bool) -> None:
    x = _packet()
    first = 123_000
    params = _params(3, -60.0, 25.0)
    if not pos_armed:
        params = params.with_active(np.arange(3), (True, False), weak=False)
    got = packet_metrics(x, first, FS, params)
    assert got.shape == (3, len(MetricName))
    for c in range(3):
        ref = _reference(x[c], first, -60.0, 25.0 if pos_armed else math.inf)
        assert ref[MetricName.NUM_EVENTS] > 10
        for name, value in ref.items():
            assert got[c, name] == pytest.approx(value, rel=1e-9, abs=1e-9), name.name
        assert set(ref) == set(MetricName), set(MetricName) - set(ref)


def test_sd_and_rms_scaled_thresholds() -> None:
    x = _packet(1)
    sd_params = _params(3, -4.0, 4.0, ref="sd")
    rms_params = _params(3, -3.0, 3.0, ref="rms")
    got_sd = packet_metrics(x, 0, FS, sd_params)
    got_rms = packet_metrics(x, 0, FS, rms_params)
    for c in range(3):
        noise = np.median(np.abs(x[c] - np.median(x[c]))) / 0.6745
        rms = np.sqrt(np.mean(x[c] ** 2))
        assert got_sd[c, MetricName.NUM_EVENTS] == len(
            _reference_events(x[c], -4 * noise, 4 * noise)
        )
        assert got_rms[c, MetricName.NUM_EVENTS] == len(_reference_events(x[c], -3 * rms, 3 * rms))


def test_weak_threshold_rejects_artifacts() -> None:
    x = _packet(2)
    x[0, 5000:5003] -= 2000  # an artifact
    p = _params(3, -60.0, 25.0).with_levels(np.arange(3), (-500.0, None), "uV", weak=True)
    p = p.with_active(np.arange(3), (True, False), weak=True)
    got = packet_metrics(x, 0, FS, p)
    ref = _reference(x[0], 0, -60.0, 25.0, weak_neg=-500.0)
    assert got[0, MetricName.NUM_EVENTS] == ref[MetricName.NUM_EVENTS]
    assert got[0, MetricName.EVENT_MIN] > -500


def test_no_events_sentinels() -> None:
    x = np.random.default_rng(0).normal(0, 1, (1, 2000))
    got = packet_metrics(x, 0, FS, _params(1, -1e6, 1e6))[0]
    assert got[MetricName.NUM_EVENTS] == 0 and got[MetricName.EVENT_RATE] == 0
    assert math.isnan(got[MetricName.SNR]) and got[MetricName.EVENT_MIN] == math.inf
    assert got[MetricName.EVENT_MAX] == -math.inf and got[MetricName.MEAN_MAX_ABS] == -math.inf
    assert got[MetricName.NUM_PTS_ISI] == 2000 and got[MetricName.RMS_ISI] == got[MetricName.RMS]


def test_modes_equal_numpy_over_packets() -> None:
    x = _packet(3, n=30000)
    params = _params(3, -60.0, 25.0)
    parts = [
        packet_metrics_and_isi_mean(x[:, i : i + 10000], i, FS, params) for i in (0, 10000, 20000)
    ]
    base = np.stack([b for b, _ in parts])
    isi_mean = np.stack([m for _, m in parts])
    np.testing.assert_array_equal(combine_modes(base, MetricMode.BASE), base)
    avg = combine_modes(base, MetricMode.AVG)
    np.testing.assert_allclose(avg[1, :, MetricName.RMS], base[:2, :, MetricName.RMS].mean(axis=0))
    st = combine_modes(base, MetricMode.STREAM, isi_mean)
    for c in range(3):
        whole = x[c, :20000]
        refs = [_reference(x[c, i : i + 10000], i, -60.0, 25.0) for i in (0, 10000)]
        isi = np.concatenate(
            [x[c, i : i + 10000][_isi_mask(x[c, i : i + 10000])] for i in (0, 10000)]
        )
        s = st[1, c]
        assert s[MetricName.NUM_PTS] == 20000
        assert s[MetricName.MEAN] == pytest.approx(whole.mean(), rel=1e-9)
        assert s[MetricName.RMS] == pytest.approx(np.sqrt(np.mean(whole**2)), rel=1e-9)
        assert s[MetricName.SD] == pytest.approx(whole.std(), rel=1e-9)
        assert s[MetricName.VAR_ISI] == pytest.approx(isi.var(), rel=1e-9)
        assert s[MetricName.MIN] == whole.min()
        assert s[MetricName.TIMESTAMP_MIN] == np.argmin(whole)
        n_ev = sum(r[MetricName.NUM_EVENTS] for r in refs)
        assert s[MetricName.NUM_EVENTS] == n_ev
        assert s[MetricName.EVENT_RATE] == pytest.approx(n_ev / 2.0)
        mean_abs = sum(r[MetricName.MEAN_MAX_ABS] * r[MetricName.NUM_EVENTS] for r in refs) / n_ev
        assert s[MetricName.MEAN_MAX_ABS] == pytest.approx(mean_abs, rel=1e-9)
        assert s[MetricName.EVENT_MIN] == min(r[MetricName.EVENT_MIN] for r in refs)


def _isi_mask(x: np.ndarray) -> np.ndarray:
    mask = np.ones(len(x), bool)
    for i in _reference_events(x, -60.0, 25.0):
        mask[i - PRE : i + POST + 1] = False
    return mask


def test_bad_input() -> None:
    with pytest.raises(InvalidArgument):
        packet_metrics(np.zeros((2, 10)), 0, FS, MetricsParams.standard(3))
    with pytest.raises(InvalidArgument):
        MetricsParams.standard(2).with_levels(np.arange(2), (1.0, None), "volts", weak=False)
    with pytest.raises(InvalidArgument):
        MetricsParams.standard(2).with_levels(np.arange(2), (math.nan, None), "uV", weak=False)
    with pytest.raises(InvalidArgument):
        combine_modes(np.zeros((1, 1, len(MetricName))), MetricMode.STREAM)
