"""The causal band-pass filter that puts live samples in the spike band before detection.

Why not ``scipy.signal.sosfilt``? It is exact, but for 1024 channels fed in 1 ms blocks it costs
~0.2-0.4 core. An IIR filter is linear in its input and its state, so over a block of ``n``
samples it is one matrix::

    [y ; s'] = [[T, C], [D, E]] @ [x ; s]

with ``T`` the ``n x n`` impulse-response (Toeplitz) matrix, ``C`` the response to the initial
state, ``D`` and ``E`` the final state. Applied to all channels at once this is one small
float32 matrix product per block (~0.08 core at 1024 channels x 30 kHz in 1 ms blocks, most of
it moving data). The matrices are built by running ``sosfilt`` itself on unit inputs, so the
state is exactly ``sosfilt``'s ``zi`` and the result equals ``sosfilt`` to float32 rounding.

OpenBLAS starts threads for products of more than roughly a million multiply-adds, which for
these tiny products costs far more than it gains (and leaves threads spinning); blocks are
therefore cut into pieces of at most :data:`MAX_PIECE` samples and :data:`_MAX_MACS`
multiply-adds.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import signal

DEFAULT_BAND_HZ: Final = (300.0, 3000.0)
"""The spike band (Hz): 1st-order high-pass and 2nd-order low-pass edges."""

MAX_PIECE: Final = 24
_MAX_MACS: Final = 500_000
_MAX_TOP_FRACTION: Final = 0.45

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


def spike_band_sos(fs: float, band_hz: tuple[float, float] = DEFAULT_BAND_HZ) -> F64:
    """Second-order sections of the spike-band filter at ``fs``.

    A 1st-order Butterworth high-pass at the low edge followed by a 2nd-order Butterworth
    low-pass at the high edge. The high-pass is 1st order on purpose: its response to a spike
    decays without ringing, whereas a 2nd-order high-pass puts a negative after-lobe 1-2 ms
    after every large spike that a threshold detector then reports as a second spike. The
    low-pass is left out when ``fs`` is too low for it (top edge above ``0.45 * fs`` or less
    than 1.5 x the low edge).
    """
    lo, hi = float(band_hz[0]), float(band_hz[1])
    sections = [np.asarray(signal.butter(1, lo, "highpass", fs=fs, output="sos"))]
    if hi <= _MAX_TOP_FRACTION * fs and hi > 1.5 * lo:
        sections.append(np.asarray(signal.butter(2, hi, "lowpass", fs=fs, output="sos")))
    return np.vstack(sections).astype(np.float64)


def block_matrix(sos: F64, n: int) -> F64:
    """The ``(n + p) x (n + p)`` matrix mapping ``[x ; zi]`` to ``[y ; zf]`` for ``n`` samples.

    ``p = 2 * n_sections`` and ``zi`` is ``sosfilt``'s state, flattened in C order.
    """
    n_sec = sos.shape[0]
    p = 2 * n_sec
    m = np.zeros((n + p, n + p), dtype=np.float64)
    zero_state = np.zeros((n_sec, 2))
    for i in range(n):
        x = np.zeros(n)
        x[i] = 1.0
        y, zf = signal.sosfilt(sos, x, zi=zero_state)
        m[:n, i] = y
        m[n:, i] = zf.ravel()
    x = np.zeros(n)
    for j in range(p):
        zi = np.zeros(p)
        zi[j] = 1.0
        y, zf = signal.sosfilt(sos, x, zi=zi.reshape(n_sec, 2))
        m[:n, n + j] = y
        m[n:, n + j] = zf.ravel()
    return m


class BlockBandpass:
    """Causal spike-band filter for ``channels x samples`` blocks, all channels at once.

    Parameters
    ----------
    fs : float
        Sampling frequency (Hz).
    n_channels : int
        Rows of every block.
    band_hz : (float, float)
        Low and high edges (Hz), see :func:`spike_band_sos`.

    Examples
    --------
    >>> f = BlockBandpass(30000.0, n_channels=4)
    >>> out = np.empty((30, 4), np.float32)
    >>> f.filter_into(np.zeros((4, 30), np.float32), out)
    >>> float(abs(out).max())
    0.0
    """

    def __init__(
        self, fs: float, n_channels: int, band_hz: tuple[float, float] = DEFAULT_BAND_HZ
    ) -> None:
        self._sos = spike_band_sos(fs, band_hz)
        self._p = 2 * self._sos.shape[0]
        self._n_ch = n_channels
        self._state: F32 = np.zeros((self._p, n_channels), dtype=np.float32)
        self._mats: dict[int, F32] = {}
        self._zi_unit = signal.sosfilt_zi(self._sos).ravel().astype(np.float32)
        self._work: F32 = np.empty((MAX_PIECE + self._p, n_channels), dtype=np.float32)
        self._res: F32 = np.empty_like(self._work)

    @property
    def sos(self) -> F64:
        """The second-order sections."""
        return self._sos

    def reset(self, first: F32 | None = None) -> None:
        """Forget the past. With ``first`` (one value per channel), start in the steady state
        of a constant input equal to it, so a stream that starts off zero has no step transient.
        """
        if first is None:
            self._state[:] = 0.0
        else:
            self._state[:] = self._zi_unit[:, None] * first[None, :].astype(np.float32)

    def filter_into(self, block: F32, out: F32) -> None:
        """Filter ``block`` (channels x n) and write the result, transposed, into ``out``.

        Parameters
        ----------
        block : ndarray of float32, shape (n_channels, n)
            The next ``n`` samples of every channel.
        out : ndarray of float32, shape (n, n_channels)
            Destination (time-major), e.g. rows of a history buffer; C-contiguous rows.
        """
        n = block.shape[1]
        start = 0
        p = self._p
        while start < n:
            left = n - start
            # equal pieces (30 -> 15 + 15) rather than 24 + 6: one cached matrix per block size
            pieces = -(-left // MAX_PIECE)
            k = -(-left // pieces)
            m = self._mats.get(k)
            if m is None:
                m = block_matrix(self._sos, k).astype(np.float32)
                self._mats[k] = m
            work = self._work[: k + p]
            res = self._res[: k + p]
            work[:k] = block[:, start : start + k].T
            work[k:] = self._state
            step = max(1, _MAX_MACS // (k + p) ** 2)
            for c0 in range(0, self._n_ch, step):
                c1 = min(self._n_ch, c0 + step)
                np.matmul(m, work[:, c0:c1], out=res[:, c0:c1])
            out[start : start + k] = res[:k]
            self._state[:] = res[k:]
            start += k
