"""Channel selection of signals and PSD requests: :class:`SigSelect` and its factory."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from radiens_async.errors import InvalidArgument
from radiens_async.utils.enums import KeyIndex

__all__ = ["ALL_SITES", "SELECTED_SITES", "SigSelect", "make_signal_selector"]

ALL_SITES: Final = -2
"""Selector value meaning "every channel of this type"."""
SELECTED_SITES: Final = -3
"""Selector value meaning "the selected channels of this type"."""


class SigSelect(NamedTuple):
    """Native indices of the requested channels per signal type (int64 arrays).

    ``[-2]`` means all channels of the type, ``[-3]`` the selected ones, an empty array none.
    """

    amp: npt.NDArray[np.int64]
    gpio_ain: npt.NDArray[np.int64]
    gpio_din: npt.NDArray[np.int64]
    gpio_dout: npt.NDArray[np.int64]
    key_idx: KeyIndex = KeyIndex.NTV


def _member(value: Any) -> npt.NDArray[np.int64]:
    if value is None:
        return np.empty(0, np.int64)
    if isinstance(value, str):
        if value == "all":
            return np.array([ALL_SITES], np.int64)
        if value == "sel":
            return np.array([SELECTED_SITES], np.int64)
        raise InvalidArgument(f"Invalid site selection {value}")
    arr = np.asarray(value).reshape(-1)
    if (
        arr.size
        and not np.issubdtype(arr.dtype, np.integer)
        and (not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.round(arr)))
    ):
        raise InvalidArgument(f"Invalid site selection {value}")
    return arr.astype(np.int64)


def make_signal_selector(
    amp: Any = None, ain: Any = None, din: Any = None, dout: Any = None
) -> SigSelect:
    """Make a :class:`SigSelect` from native indices per signal type.

    Parameters
    ----------
    amp, ain, din, dout : list, ndarray, int, 'all', 'sel' or None
        Native indices; ``'all'`` selects every channel, ``'sel'`` the selected ones, None none.

    Returns
    -------
    SigSelect
        ``key_idx`` is always :attr:`KeyIndex.NTV`.

    Raises
    ------
    InvalidArgument
        ``'Invalid site selection <x>'`` for any other string or non-integer index.

    Examples
    --------
    >>> sel = make_signal_selector(amp=[0, 3], din='all')
    >>> sel.amp.tolist(), sel.gpio_din.tolist(), sel.gpio_ain.size
    ([0, 3], [-2], 0)
    """
    return SigSelect(_member(amp), _member(ain), _member(din), _member(dout), KeyIndex.NTV)
