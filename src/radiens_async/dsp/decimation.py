"""Decimation with an anti-alias filter (pure numpy/scipy), whole blocks or aligned chunks.

The signal is low-pass filtered with :func:`~radiens_async.dsp.filters.anti_alias_sos` (zero
phase) and every ``factor``-th sample is kept, starting with the first: the same result as
``scipy.signal.decimate(x, factor, ftype='iir', zero_phase=True)``. Digital channels must not be
filtered; :func:`pick_every` keeps every ``factor``-th sample without filtering.

Examples
--------
>>> import numpy as np
>>> decimate(np.ones((2, 100), np.float32), 3).shape
(2, 34)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from radiens_async.dsp.filters import anti_alias_sos, apply_sos

__all__ = ["decimate", "decimated_length", "pick_every"]


def decimated_length(n_samples: int, factor: int) -> int:
    """Samples left after keeping every ``factor``-th of ``n_samples``, from the first.

    Examples
    --------
    >>> decimated_length(10, 3)
    4
    """
    return -(-int(n_samples) // int(factor))


def pick_every(
    block: npt.NDArray[np.float32], factor: int, offset: int = 0
) -> npt.NDArray[np.float32]:
    """Keep every ``factor``-th sample of a channel-major block, starting at column ``offset``.

    Examples
    --------
    >>> import numpy as np
    >>> pick_every(np.arange(10, dtype=np.float32)[None, :], 4)
    array([[0., 4., 8.]], dtype=float32)
    """
    return np.ascontiguousarray(block[:, offset::factor], dtype=np.float32)


def decimate(block: npt.NDArray[np.float32], factor: int) -> npt.NDArray[np.float32]:
    """Anti-alias filter (zero phase) then keep every ``factor``-th sample.

    Parameters
    ----------
    block : ndarray, shape (n_channels, n_samples)
        Samples.
    factor : int
        Decimation factor (>= 2); the new sampling rate is ``fs / factor``.

    Returns
    -------
    ndarray of float32, shape (n_channels, ceil(n_samples / factor))

    Raises
    ------
    InvalidArgument
        If ``factor`` is not an int >= 2.

    Examples
    --------
    >>> import numpy as np
    >>> decimate(np.zeros((1, 100), np.float32), 4).shape
    (1, 25)
    """
    filtered = apply_sos(anti_alias_sos(factor), block, axis=-1)
    return np.ascontiguousarray(filtered[:, ::factor], dtype=np.float32)
