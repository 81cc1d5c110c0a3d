"""Robust per-channel noise SD of the spike-band signal, estimated online.

The estimate is ``median(|x|) / 0.6745`` (the MAD of a zero-median signal), which spikes barely
move. It starts with an exact median over a warm-up window (default 100 ms) and then tracks the
median with a multiplicative stochastic-approximation step per block::

    m <- m * exp(g * k * (fraction of |x| above m  -  1/2))

which costs one comparison per (sub-sampled) sample, keeps no history, and follows slow changes
with a time constant of ``tau_s`` (default 2 s; the estimate then wanders by < 1 %).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from radiens_async.dsp.signal_metrics import MAD_TO_SD

DEFAULT_WARMUP_S: Final = 0.1
DEFAULT_TAU_S: Final = 2.0
_TRACK_STRIDE: Final = 4
# d P(|x| > m) / d ln m at the median of a Gaussian |x| is -2 * 0.6745 * phi(0.6745) ~ -0.43
_SLOPE: Final = 0.43
_MIN_MAD: Final = 1e-6

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


class NoiseEstimator:
    """Online robust noise SD of ``n_channels`` channels.

    Parameters
    ----------
    n_channels : int
        Channels.
    fs : float
        Sampling frequency (Hz).
    warmup_s : float
        Length of the exact-median warm-up window.
    tau_s : float
        Tracking time constant after the warm-up.

    Examples
    --------
    >>> est = NoiseEstimator(2, fs=1000.0, warmup_s=1.0)
    >>> rng = np.random.default_rng(0)
    >>> est.update(rng.normal(0.0, [[3.0], [5.0]], (2, 1000)).T.astype(np.float32))
    >>> est.ready, np.round(est.sd_uv, 0).tolist()
    (True, [3.0, 5.0])
    """

    def __init__(
        self,
        n_channels: int,
        fs: float,
        warmup_s: float = DEFAULT_WARMUP_S,
        tau_s: float = DEFAULT_TAU_S,
    ) -> None:
        self._n = n_channels
        self._warmup_n = max(8, round(warmup_s * fs))
        self._gain = 1.0 / (_SLOPE * tau_s * fs)
        self._warm: F32 | None = None
        self._warm_fill = 0
        self._mad: F64 = np.full(n_channels, math.nan)
        self._mad32: F32 = np.full(n_channels, np.nan, dtype=np.float32)
        self._phase = 0

    @property
    def ready(self) -> bool:
        """Whether the warm-up is over and :attr:`sd_uv` holds numbers."""
        return self._warm_fill >= self._warmup_n

    @property
    def sd_uv(self) -> F64:
        """Current noise SD per channel (µV); NaN during the warm-up. A copy."""
        return self._mad * MAD_TO_SD

    def restart(self) -> None:
        """Forget everything and warm up again."""
        self._warm = None
        self._warm_fill = 0
        self._mad[:] = math.nan
        self._mad32[:] = np.nan

    def update(self, rows: F32) -> None:
        """Feed the next samples, time-major (``n_samples x n_channels``)."""
        k = rows.shape[0]
        if k == 0 or self._n == 0:
            return
        if not self.ready:
            self._warm_up(rows)
            return
        # sub-sample with a phase that carries over blocks, so every sample gets its turn
        first = (-self._phase) % _TRACK_STRIDE
        used = rows[first::_TRACK_STRIDE]
        self._phase = (self._phase + k) % _TRACK_STRIDE
        if used.shape[0] == 0:
            return
        above = np.count_nonzero(np.abs(used) > self._mad32, axis=0)
        frac = above / used.shape[0]
        self._mad *= np.exp(self._gain * k * (frac - 0.5))
        np.maximum(self._mad, _MIN_MAD, out=self._mad)
        self._mad32[:] = self._mad

    def _warm_up(self, rows: F32) -> None:
        if self._warm is None:
            self._warm = np.empty((self._warmup_n, self._n), dtype=np.float32)
        take = min(rows.shape[0], self._warmup_n - self._warm_fill)
        self._warm[self._warm_fill : self._warm_fill + take] = rows[:take]
        self._warm_fill += take
        if self.ready:
            mad = np.median(np.abs(self._warm), axis=0).astype(np.float64)
            # a dead (all-zero) channel would otherwise lock the tracker at zero
            self._mad[:] = np.maximum(mad, _MIN_MAD)
            self._mad32[:] = self._mad
            self._warm = None
