"""Where and under which name Allego records: validation and the documented file-set naming.

With the timestamp flag on, a recording is named ``<base>_<index>__uid<MMDD-HH-MM-SS>`` (local
start time), otherwise ``<base>_<index>``; the XDAT set is written into the configured directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.models.argument_checks import LONGEST_RECORDING_SUFFIX, check_name_length

_FORBIDDEN_IN_BASE = ("/", "\\", ".", "\0")


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    """A validated recording configuration.

    Examples
    --------
    >>> cfg = RecordingConfig.checked("/tmp", "allego", 0, True)  # doctest: +SKIP
    >>> cfg.file_set_name(datetime(2024, 9, 6, 13, 55, 32))  # doctest: +SKIP
    'allego_0__uid0906-13-55-32'
    """

    path: Path
    base_name: str
    index: int
    time_stamp: bool

    @classmethod
    def checked(cls, path: str, base_name: str, index: int, time_stamp: bool) -> RecordingConfig:
        """Validate every field; raise a typed error naming the bad one."""
        if not base_name or not base_name.strip():
            raise InvalidArgument("base name must not be empty")
        bad = [c for c in _FORBIDDEN_IN_BASE if c in base_name]
        if bad:
            raise InvalidArgument(
                f"base name {base_name!r} must not contain {' '.join(repr(c) for c in bad)}"
            )
        if index < 0:
            raise InvalidArgument(f"index must be >= 0, got {index}")
        check_name_length(
            "base name", f"{base_name}_{index}", longest_suffix=LONGEST_RECORDING_SUFFIX
        )
        if not path:
            raise InvalidArgument("recording path must not be empty")
        directory = Path(path).expanduser()
        if not directory.is_absolute():
            raise InvalidArgument(f"recording path must be absolute, got {path!r}")
        if len(os.fsencode(directory)) > 4095:
            raise InvalidArgument(f"recording path is {len(str(directory))} characters long")
        if not directory.exists():
            raise NotFound(f"recording path {str(directory)!r} does not exist")
        if not directory.is_dir():
            raise InvalidArgument(f"recording path {str(directory)!r} is not a directory")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise InvalidArgument(f"recording path {str(directory)!r} is not writable")
        return cls(directory, base_name, index, time_stamp)

    def file_set_name(self, start: datetime) -> str:
        """The documented name of a recording started at local time ``start``."""
        name = f"{self.base_name}_{self.index}"
        if self.time_stamp:
            name += "__uid" + start.strftime("%m%d-%H-%M-%S")
        return name

    def next_index(self) -> RecordingConfig:
        """The same configuration with the index moved on by one (after each recording)."""
        return RecordingConfig(self.path, self.base_name, self.index + 1, self.time_stamp)
