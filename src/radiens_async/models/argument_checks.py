"""Argument checks shared by every client method and the hub's argument validation.

Each check raises :class:`~radiens_async.errors.InvalidArgument` naming the parameter and the
accepted range, before anything is sent: a value the wire field cannot carry (an int beyond
int32/int64, ``None``, a bool where a number is wanted, NaN, inf, a negative size) never reaches
protobuf, whose own ``ValueError: Value out of range`` names neither.

:func:`os_error_to_typed` is the hub's one mapping of an ``OSError`` (a path too long, a directory
where a file was expected, no permission ...) to a typed error by its cause.

Examples
--------
>>> check_int("num_channels", 32, low=1, bits=32)
32
>>> check_int("trigger", 9, low=1, high=8, bits=32)
Traceback (most recent call last):
...
radiens_async.errors.InvalidArgument: trigger must be an int in [1, 8], got 9
"""

from __future__ import annotations

import errno
import math
import numbers
import os
from collections.abc import Iterable

import numpy as np

from radiens_async.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RemoteError,
    ResourceExhausted,
    WrongType,
)

__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "LONGEST_RECORDING_SUFFIX",
    "NAME_MAX",
    "WrongType",
    "check_bool",
    "check_float",
    "check_int",
    "check_int_list",
    "check_name_length",
    "check_optional_int",
    "check_str",
    "os_error_to_typed",
]

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
NAME_MAX = 255
"""The longest file name (bytes, UTF-8) the usual file systems (ext4, APFS, NTFS) accept."""
LONGEST_RECORDING_SUFFIX = "0000__uid0906-13-55-32_timestamp.xdat"
"""What a recording adds to ``<base>_<index>`` at most: a few more recordings' index digits, the
start-time stamp and the longest XDAT file ending."""


def _int_bounds(bits: int, low: int | None, high: int | None) -> tuple[int, int]:
    wire_low, wire_high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return (
        wire_low if low is None else max(low, wire_low),
        wire_high if high is None else min(high, wire_high),
    )


def check_int(
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    bits: int = 64,
) -> int:
    """``value`` as an int in ``[low, high]`` that a signed ``bits``-bit wire field carries.

    Parameters
    ----------
    name : str
        The parameter name, for the message.
    value : object
        The value given: an int or numpy integer (a bool is refused: ``True`` is not a count).
    low, high : int, optional
        Bounds (inclusive); default: the wire field's range.
    bits : {32, 64}
        Width of the signed protobuf field the value travels in.

    Returns
    -------
    int

    Raises
    ------
    InvalidArgument
        Not an int (``None``, a bool, a float, a string), or outside the range.

    Examples
    --------
    >>> check_int("max_samples", 0, low=0)
    0
    """
    lo, hi = _int_bounds(bits, low, high)
    accepted = f"an int in [{lo}, {hi}]" if high is not None else f"an int >= {lo} and <= {hi}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise WrongType(f"{name} must be {accepted}, got {value!r}")
    number = int(value)  # numpy integers too
    if not lo <= number <= hi:
        raise InvalidArgument(f"{name} must be {accepted}, got {number}")
    return number


def check_optional_int(
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    bits: int = 64,
) -> int | None:
    """:func:`check_int`, letting ``None`` (the default) through.

    Examples
    --------
    >>> check_optional_int("seed", None) is None
    True
    """
    return None if value is None else check_int(name, value, low=low, high=high, bits=bits)


def check_int_list(
    name: str, values: Iterable[object] | None, *, low: int = 0, bits: int = 32
) -> list[int]:
    """A sequence of ints, each checked as :func:`check_int` (``None``: empty).

    Raises
    ------
    InvalidArgument
        Not a sequence (a string or a single int), or an element that is not an int in range.

    Examples
    --------
    >>> check_int_list("channels", (0, 3))
    [0, 3]
    """
    if values is None:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise WrongType(f"{name} must be a sequence of ints, got {values!r}")
    return [check_int(f"{name}[{i}]", v, low=low, bits=bits) for i, v in enumerate(values)]


def check_float(
    name: str,
    value: object,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    unit: str = "",
) -> float:
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` with ``low_open``).

    Parameters
    ----------
    name : str
        The parameter name, for the message.
    value : object
        A real number, numpy's too (a bool, ``None``, NaN and inf are refused).
    low, high : float
        Bounds; ``high`` is inclusive.
    low_open : bool
        Exclude ``low`` itself (a duration that must be positive).
    unit : str
        Appended to the range in the message (``"s"``, ``"Hz"``).

    Raises
    ------
    InvalidArgument
        Not a number, not finite, or outside the range.

    Examples
    --------
    >>> check_float("max_lag_s", 0.5, low=0, high=60, low_open=True, unit="s")
    0.5
    """
    bracket = "(" if low_open else "["
    accepted = f"a finite number in {bracket}{low:g}, {high:g}]" + (f" {unit}" if unit else "")
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise WrongType(f"{name} must be {accepted}, got {value!r}")
    try:
        x = float(value)
    except OverflowError:  # an int beyond float range
        raise InvalidArgument(f"{name} must be {accepted}, got {value!r}") from None
    if not math.isfinite(x) or x < low or (low_open and x == low) or x > high:
        raise InvalidArgument(f"{name} must be {accepted}, got {value!r}")
    return x


def check_bool(name: str, value: object) -> bool:
    """``value`` if it is a bool.

    Raises
    ------
    InvalidArgument
        Anything else (``None``, 0/1, a string).

    Examples
    --------
    >>> check_bool("force", False)
    False
    """
    if not isinstance(value, bool):
        raise WrongType(f"{name} must be True or False, got {value!r}")
    return value


def check_str(name: str, value: object, *, non_empty: bool = True, max_len: int = 4096) -> str:
    """``value`` if it is a str (not empty when ``non_empty``) of at most ``max_len`` characters.

    Raises
    ------
    InvalidArgument
        Not a str, empty, too long or holding a NUL character.

    Examples
    --------
    >>> check_str("dataset_id", "rec_0")
    'rec_0'
    """
    if not isinstance(value, str):
        raise WrongType(f"{name} must be a str, got {value!r}")
    if non_empty and not value.strip():
        raise InvalidArgument(f"{name} must not be empty")
    if len(value) > max_len:
        raise InvalidArgument(f"{name} must be at most {max_len} characters, got {len(value)}")
    if "\0" in value:
        raise InvalidArgument(f"{name} must not contain a NUL character")
    return value


def check_name_length(name: str, file_name: str, *, longest_suffix: str = "") -> None:
    """Refuse a file name (plus the longest suffix the writer appends) beyond :data:`NAME_MAX`.

    Parameters
    ----------
    name : str
        The parameter that set the name, for the message.
    file_name : str
        The name without directory.
    longest_suffix : str
        The longest ending the writer adds (``"_timestamp.xdat"``).

    Raises
    ------
    InvalidArgument
        The name would exceed :data:`NAME_MAX` bytes.

    Examples
    --------
    >>> check_name_length("base_name", "rec_0", longest_suffix="_timestamp.xdat")
    """
    size = len((file_name + longest_suffix).encode("utf-8", "surrogateescape"))
    if size > NAME_MAX:
        raise InvalidArgument(
            f"{name} makes the file name {size} bytes long ({file_name[:40]!r}...); "
            f"file names are limited to {NAME_MAX} bytes (shorten it by {size - NAME_MAX})"
        )


def os_error_to_typed(exc: OSError, what: str) -> RemoteError:
    """The typed error an ``OSError`` about ``what`` (a path, a target) stands for.

    Parameters
    ----------
    exc : OSError
        The error from the file system.
    what : str
        What was being done (``"link /data/x.xdat"``), for the message.

    Returns
    -------
    RemoteError
        ``NotFound`` (no such file), ``AlreadyExists``, ``InvalidArgument`` (a name too long, a
        directory where a file was wanted or the reverse, an invalid name), ``FailedPrecondition``
        (no permission, a read-only file system), ``ResourceExhausted`` (disk full, quota),
        else ``FailedPrecondition`` with the cause.

    Examples
    --------
    >>> type(os_error_to_typed(IsADirectoryError(21, "Is a directory", "/"), "read /"))
    <class 'radiens_async.errors.InvalidArgument'>
    """
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    message = f"cannot {what}: {reason}{where}"
    code = exc.errno
    if isinstance(exc, FileNotFoundError) or code == errno.ENOENT:
        return NotFound(message)
    if isinstance(exc, FileExistsError) or code == errno.EEXIST:
        return AlreadyExists(message)
    if code in (errno.ENAMETOOLONG, errno.EINVAL) or isinstance(
        exc, IsADirectoryError | NotADirectoryError
    ):
        return InvalidArgument(message)
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE):
        return ResourceExhausted(message)
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return FailedPrecondition(message + "; check the permissions of the path")
    return FailedPrecondition(message)
