"""Building blocks of the device simulator's continuous signals, synthesised one block at a time.

Everything here works on fixed-size blocks of :data:`BLOCK_SAMPLES` samples and draws its
randomness from :func:`block_rng`, so block ``b`` depends only on the seed and ``b``: that is what
makes the simulator's output independent of how callers split their reads.

Cost model (1024 channels x 30 kHz, one core): numpy's Gaussian generator costs ~10 ns per
float32 sample, i.e. a third of a core on its own, so white noise is served from a
:class:`NoiseBank` instead (~0.7 ns per sample); sines use precomputed reduced-phase tables and
``np.sin`` on float32 (~1.5 ns per sample); sums of many sines shared by many channels are one
float32 matrix product per block.
"""

from __future__ import annotations

import math
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

BLOCK_SAMPLES = 4096
"""Samples per internal synthesis block."""

MAX_FREQ_FRACTION_OF_FS = 0.4
"""No simulated frequency exceeds this fraction of fs (0.8 of Nyquist)."""

NOISE_BANK_SAMPLES = 1 << 20
"""Length of each of the two Gaussian banks behind :class:`NoiseBank`."""

TWO_PI = 2.0 * math.pi

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


class RngStream(IntEnum):
    """Independent random streams, mixed into the seed together with a block index."""

    NOISE_BANK = 1
    NOISE_OFFSETS = 2
    SIGNAL_PARAMS = 3
    UNITS = 4
    SPIKE_TRAINS = 5


def block_rng(seed: int, stream: RngStream, index: int = 0) -> np.random.Generator:
    """A generator that depends only on ``(seed, stream, index)``.

    Parameters
    ----------
    seed : int
        Simulator seed (>= 0).
    stream : RngStream
        Which consumer draws from it; different streams never share numbers.
    index : int
        Block index (or 0 for one-off draws).

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(stream), index)))


def freq_scale(fs: float, f_top_hz: float) -> float:
    """Factor that keeps a band whose top is ``f_top_hz`` below ``0.4 * fs``.

    Returns 1 when the band already fits; otherwise the whole band is scaled down
    proportionally, which keeps frequencies distinct and ordered.
    """
    return min(1.0, MAX_FREQ_FRACTION_OF_FS * fs / f_top_hz)


def block_start_phase(freqs_hz: F64, fs: float, block: int) -> F64:
    """Phase ``2π f k0 / fs`` at the first sample ``k0`` of ``block``, reduced to ``[0, 2π)``.

    Computed through the fractional number of cycles in float64, so it stays accurate for
    days of samples.
    """
    cycles = freqs_hz * (float(block * BLOCK_SAMPLES) / fs)
    return TWO_PI * (cycles - np.floor(cycles))


def phase_table(freqs_hz: F64, fs: float) -> F32:
    """``(2π f n / fs) mod 2π`` for ``n`` in one block, shape ``(len(freqs), BLOCK_SAMPLES)``."""
    cycles = np.outer(freqs_hz / fs, np.arange(BLOCK_SAMPLES, dtype=np.float64))
    return np.ascontiguousarray(TWO_PI * (cycles - np.floor(cycles)), dtype=np.float32)


class NoiseBank:
    """White Gaussian noise, ``sd`` per sample, added block by block.

    Each row of a block is the sum of two ``BLOCK_SAMPLES`` long slices of two independent,
    standardised Gaussian banks (scaled by ``sd / √2``), at offsets drawn per block and per
    row. Within a row the samples are i.i.d. N(0, sd²); the same pair of slices recurs with
    probability ~1e-12. The price is that two rows of one block can share one slice at a
    non-zero lag (weight 1/√2 each), which spike detection and lag-0 whitening do not see.

    Parameters
    ----------
    seed : int
        Simulator seed.
    sd : float
        Standard deviation of the noise (µV).
    """

    def __init__(self, seed: int, sd: float) -> None:
        rng = block_rng(seed, RngStream.NOISE_BANK)
        n = NOISE_BANK_SAMPLES + BLOCK_SAMPLES
        banks = rng.standard_normal((2, n), dtype=np.float32)
        banks -= banks.mean(axis=1, keepdims=True)
        banks *= np.float32(sd / math.sqrt(2.0)) / banks.std(axis=1, keepdims=True)
        self._banks: F32 = banks
        self.seed = seed
        self.sd = sd

    def add_to(self, block: F32, block_index: int) -> None:
        """Add this block's noise to every row of ``block`` (shape ``(n, BLOCK_SAMPLES)``)."""
        if block.shape[0] == 0 or self.sd == 0.0:
            return
        rng = block_rng(self.seed, RngStream.NOISE_OFFSETS, block_index)
        offsets = rng.integers(0, NOISE_BANK_SAMPLES, size=(2, block.shape[0]))
        first, second = self._banks
        n = BLOCK_SAMPLES
        for row, o1, o2 in zip(block, offsets[0].tolist(), offsets[1].tolist(), strict=True):
            row += first[o1 : o1 + n]
            row += second[o2 : o2 + n]


class SineTable:
    """One sine per row: ``amplitude * sin(2π f_row k / fs + phase_row)``.

    Parameters
    ----------
    freqs_hz : ndarray
        Frequency of each row.
    phases : ndarray
        Phase of each row at sample 0 (radians).
    amplitude : float
        Common amplitude.
    fs : float
        Sampling frequency (Hz).
    """

    def __init__(self, freqs_hz: F64, phases: F64, amplitude: float, fs: float) -> None:
        self._freqs = np.asarray(freqs_hz, dtype=np.float64)
        self._phases = np.asarray(phases, dtype=np.float64)
        self._amplitude = np.float32(amplitude)
        self._fs = fs
        self._table = phase_table(self._freqs, fs)

    def write(self, out: F32, block_index: int) -> None:
        """Write this block's sines into ``out`` (shape ``(n_rows, BLOCK_SAMPLES)``)."""
        start = block_start_phase(self._freqs, self._fs, block_index) + self._phases
        np.add(self._table, start.astype(np.float32)[:, None], out=out)
        np.sin(out, out=out)
        out *= self._amplitude


class ComponentSines:
    """Rows that are sums of a few sinusoids each: ``Σ_c A[r, c] sin(2π f[r, c] k / fs + φ[r, c])``.

    A block of ``L * L`` samples (``L = 64``) is viewed as an ``L x L`` matrix (coarse step ``m``,
    fine step ``i``); a sinusoid is then rank 2 in it, ``sin(ψ_m + ω i) = sin ψ_m cos ω i +
    cos ψ_m sin ω i``. Each row of a block is therefore one small ``(L, 2C) @ (2C, L)`` product:
    ~4C flops per sample, and -- unlike one large matrix product -- small enough that BLAS stays
    single-threaded (a threaded BLAS spin-waits and costs more CPU than it saves here).

    Parameters
    ----------
    freqs_hz, amplitudes, phases : ndarray, shape (n_rows, C)
        Frequency, amplitude and phase at sample 0 of every component of every row.
    fs : float
        Sampling frequency (Hz).
    """

    FINE = 64

    def __init__(self, freqs_hz: F64, amplitudes: F64, phases: F64, fs: float) -> None:
        if BLOCK_SAMPLES != self.FINE * self.FINE:
            raise AssertionError("BLOCK_SAMPLES must be FINE**2")
        self._cycles_per_sample = np.asarray(freqs_hz, dtype=np.float64) / fs
        self._amplitudes = np.asarray(amplitudes, dtype=np.float64)
        self._phase_cycles = np.asarray(phases, dtype=np.float64) / TWO_PI
        n_rows, n_comp = self._cycles_per_sample.shape
        fine = self._cycles_per_sample[:, :, None] * np.arange(self.FINE, dtype=np.float64)
        fine = TWO_PI * (fine - np.floor(fine))
        # (n_rows, 2C, FINE): rows 2c / 2c+1 hold cos / sin of component c
        basis = np.empty((n_rows, n_comp, 2, self.FINE), dtype=np.float32)
        basis[:, :, 0] = np.cos(fine)
        basis[:, :, 1] = np.sin(fine)
        self._fine: F32 = basis.reshape(n_rows, 2 * n_comp, self.FINE)
        self._coarse: F32 = np.empty((n_rows, self.FINE, n_comp, 2), dtype=np.float32)
        self._steps = np.arange(self.FINE, dtype=np.float64) * self.FINE

    def write(self, out: F32, block_index: int) -> None:
        """Write this block's sums into ``out`` (shape ``(n_rows, BLOCK_SAMPLES)``, C order)."""
        n_rows, n_comp = self._cycles_per_sample.shape
        if n_rows == 0:
            return
        k0 = float(block_index * BLOCK_SAMPLES)
        cycles = self._cycles_per_sample[:, None, :] * (k0 + self._steps)[None, :, None]
        cycles += self._phase_cycles[:, None, :]
        psi = (TWO_PI * (cycles - np.floor(cycles))).astype(np.float32)
        amp = self._amplitudes.astype(np.float32)[:, None, :]
        coarse = self._coarse
        np.multiply(np.sin(psi), amp, out=coarse[..., 0])
        np.multiply(np.cos(psi), amp, out=coarse[..., 1])
        np.matmul(
            coarse.reshape(n_rows, self.FINE, 2 * n_comp),
            self._fine,
            out=out.reshape(n_rows, self.FINE, self.FINE),
        )
