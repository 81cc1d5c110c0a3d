"""The enumerations of the documented ``radiens.utils.enums`` module.

Every integer enum derives from :class:`RadiensEnum`, which implements the one documented parse rule
(numbers by value, strings by member name, members unchanged). Two enums parse differently, as
documented: :class:`RadiensFileType` parses strings as file extensions and :class:`ClientType`
(string-valued) accepts short client names.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from enum import Enum, IntEnum
from typing import Any, Self, TypeVar

from radiens_async.errors import InvalidArgument

__all__ = [
    "ClientType",
    "DioMode",
    "FftWindow",
    "KeyIndex",
    "MetricMode",
    "MetricName",
    "Port",
    "PsdScaling",
    "RadiensEnum",
    "RadiensFileType",
    "RadiensService",
    "RasterMode",
    "RecordMode",
    "SignalType",
    "SignalUnits",
    "StatsVector",
    "StreamMode",
    "SummaryStats",
    "SystemMode",
    "TrsMode",
    "WorkspaceApp",
]

_V = TypeVar("_V")


class RadiensEnum(IntEnum):
    """Base of every integer-valued Radiens enum: the documented generic parse rule and helpers.

    ``str()`` and f-strings give ``'<Enum>.<MEMBER>'`` (as the documented client's enums did);
    arithmetic and comparisons behave as for ``int``.
    """

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    def __format__(self, format_spec: str) -> str:
        # A numeric spec (``f"{port:d}"``) formats the value; a bare f-string gives ``str()``.
        if format_spec:
            return int.__format__(int(self), format_spec)
        return str(self)

    @classmethod
    def parse(cls, value: object) -> Self:
        """Turn a number, a member name or a member into a member.

        Parameters
        ----------
        value : int, float, bool, str or member
            A number (``bool`` included: ``True`` is 1) is looked up by value, a string by member
            name (case-insensitive), and a member is returned unchanged.

        Returns
        -------
        member : the enum member.

        Raises
        ------
        InvalidArgument
            (a ``ValueError``) ``"Invalid <Enum> value: <x>"`` when nothing matches.
        TypeError
            ``"Expected int, str, or <Enum> instance, got <class ...>."`` for any other type,
            ``None`` included.

        Examples
        --------
        >>> Port.parse('b'), Port.parse(1), Port.parse(Port.B)
        (<Port.B: 1>, <Port.B: 1>, <Port.B: 1>)
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, numbers.Real):
            return cls._from_number(value)
        if isinstance(value, str):
            return cls._from_string(value)
        raise TypeError(f"Expected int, str, or {cls.__name__} instance, got {type(value)}.")

    @classmethod
    def _from_number(cls, value: numbers.Real) -> Self:
        number = float(value)
        if number.is_integer() and int(number) in cls._value2member_map_:
            return cls(int(number))
        raise InvalidArgument(f"Invalid {cls.__name__} value: {value}")

    @classmethod
    def _from_string(cls, value: str) -> Self:
        key = value.upper()
        for name, member in cls.__members__.items():
            if name.upper() == key:
                return member
        raise InvalidArgument(f"Invalid {cls.__name__} value: {value}")

    @property
    def pb_value(self) -> int:
        """The integer sent on the wire (the member's value).

        Examples
        --------
        >>> Port.C.pb_value
        2
        """
        return int(self.value)

    @classmethod
    def all(cls) -> list[int]:
        """All member values, in definition order.

        Examples
        --------
        >>> TrsMode.all()
        [0, 1, 2]
        """
        return [int(m.value) for m in cls]

    @classmethod
    def all_string(cls) -> list[str]:
        """All member names, in definition order.

        Examples
        --------
        >>> TrsMode.all_string()
        ['SUBSET', 'TO_HEAD', 'FROM_HEAD']
        """
        return [m.name for m in cls]

    @classmethod
    def all_enum(cls) -> list[Self]:
        """All members, in definition order.

        Examples
        --------
        >>> RasterMode.all_enum()
        [<RasterMode.CHANNELS: 0>, <RasterMode.NEURONS: 1>]
        """
        return list(cls)

    @classmethod
    def map_into_keys(cls, mapping: Mapping[Any, _V]) -> dict[Self, _V]:
        """Re-key a mapping by members (each key is parsed).

        Examples
        --------
        >>> Port.map_into_keys({'a': 32, 1: 64})
        {<Port.A: 0>: 32, <Port.B: 1>: 64}
        """
        return {cls.parse(k): v for k, v in mapping.items()}

    @classmethod
    def map_into_keys_as_names(cls, mapping: Mapping[Any, _V]) -> dict[str, _V]:
        """Re-key a mapping by member names (each key is parsed).

        Examples
        --------
        >>> Port.map_into_keys_as_names({0: 32})
        {'A': 32}
        """
        return {cls.parse(k).name: v for k, v in mapping.items()}

    @classmethod
    def map_into_keys_as_values(cls, mapping: Mapping[Any, _V]) -> dict[int, _V]:
        """Re-key a mapping by member values (each key is parsed).

        Examples
        --------
        >>> Port.map_into_keys_as_values({'B': 64})
        {1: 64}
        """
        return {int(cls.parse(k).value): v for k, v in mapping.items()}


class StreamMode(RadiensEnum):
    """Signal streaming off/on; :attr:`status` gives the documented status string."""

    OFF = 0
    ON = 1

    @property
    def status(self) -> str:
        """``'S_ON'`` or ``'S_OFF'``, as in ``AllegoState.stream.mode``.

        Examples
        --------
        >>> StreamMode.parse('on').status
        'S_ON'
        """
        return f"S_{self.name}"

    @classmethod
    def from_status(cls, status: str) -> StreamMode:
        """Member for a status string ``'S_ON'``/``'S_OFF'``.

        Examples
        --------
        >>> StreamMode.from_status('S_OFF')
        <StreamMode.OFF: 0>
        """
        return _from_status(cls, status, "S_")


class RecordMode(RadiensEnum):
    """Recording off/on; :attr:`status` gives the documented status string."""

    OFF = 0
    ON = 1

    @property
    def status(self) -> str:
        """``'R_ON'`` or ``'R_OFF'``, as in ``AllegoState.recording.mode``.

        Examples
        --------
        >>> RecordMode.ON.status
        'R_ON'
        """
        return f"R_{self.name}"

    @classmethod
    def from_status(cls, status: str) -> RecordMode:
        """Member for a status string ``'R_ON'``/``'R_OFF'``.

        Examples
        --------
        >>> RecordMode.from_status('R_ON')
        <RecordMode.ON: 1>
        """
        return _from_status(cls, status, "R_")


_M = TypeVar("_M", StreamMode, RecordMode)


def _from_status(cls: type[_M], status: str, prefix: str) -> _M:
    if isinstance(status, str) and status.upper().startswith(prefix):
        name = status.upper().removeprefix(prefix)
        if name in cls.__members__:
            return cls[name]
    raise InvalidArgument(f"Invalid {cls.__name__} value: {status}")


class Port(RadiensEnum):
    """Headstage ports A..H."""

    A = 0
    B = 1
    C = 2
    D = 3
    E = 4
    F = 5
    G = 6
    H = 7


class SignalType(RadiensEnum):
    """Signal types, in their fixed system-index order (amp, ain, din, dout)."""

    AMP = 0
    AIN = 1
    DIN = 2
    DOUT = 3


class KeyIndex(RadiensEnum):
    """The three channel index spaces: native, dataset and system."""

    NTV = 0
    DATA = 1
    SYS = 2


_UNIT_LABELS = {0: "Unknown", 1: "μV", 2: "V", 3: "Bin"}


class SignalUnits(RadiensEnum):
    """Units of a signal type; ``str()`` gives the label (``'μV'``, ``'V'``, ``'Bin'``)."""

    UNKNOWN = 0
    MICROVOLTS = 1
    VOLTS = 2
    BINARY = 3

    def __str__(self) -> str:
        return _UNIT_LABELS[int(self.value)]

    @property
    def label(self) -> str:
        """The unit label, same as ``str()``.

        Examples
        --------
        >>> SignalUnits.MICROVOLTS.label
        'μV'
        """
        return str(self)


class TrsMode(RadiensEnum):
    """Time-range selector: ``[start, end)``, ``[start, head]`` or ``[head - start, head]``."""

    SUBSET = 0
    TO_HEAD = 1
    FROM_HEAD = 2


class FftWindow(RadiensEnum):
    """Time-domain window of the PSD."""

    HAMMING_p01 = 0
    HAMMING_p05 = 1
    PASS_THROUGH = 2


class PsdScaling(RadiensEnum):
    """PSD scale."""

    ABSOLUTE = 0


class DioMode(RadiensEnum):
    """Digital-out mode (the simulator's ``pulse`` mode is not part of the documented enum)."""

    MANUAL = 0
    EVENTS = 1
    GATED = 2


class WorkspaceApp(RadiensEnum):
    """The app a workspace belongs to."""

    ALLEGO = 0
    CURATE = 1
    VIDERE = 2


class RasterMode(RadiensEnum):
    """Spike raster rows: channels or neurons."""

    CHANNELS = 0
    NEURONS = 1


class SummaryStats(RadiensEnum):
    """Summary statistics of a vector (``COUNT`` is an alias of ``MODE_COUNT``)."""

    MEAN = 0
    SD = 1
    MODE = 2
    MIN = 3
    MAX = 4
    MODE_COUNT = 5
    COUNT = 5
    MEDIAN = 6
    Q25 = 7
    Q75 = 8
    SKEW = 9
    KURTOSIS = 10
    N = 11


StatsVector = SummaryStats
"""The documented alternative name of :class:`SummaryStats`."""


class MetricMode(RadiensEnum):
    """Signal-metric accumulation mode."""

    BASE = 0
    AVG = 1
    STREAM = 2


class MetricName(RadiensEnum):
    """Signal metrics (values as documented; the hub numbers them the same way)."""

    NUM_PTS = 0
    NUM_PTS_ISI = 1
    DUR_SEC = 2
    MEAN = 3
    MIN = 4
    MIN_ISI = 5
    MAX = 6
    MAX_ISI = 7
    MAX_ABS = 8
    MAX_ABS_ISI = 9
    TIMESTAMP_MIN = 10
    TIMESTAMP_MAX = 11
    MAX_MIN_DIFF_ABS = 12
    MAX_MIN_DIFF_ABS_ISI = 13
    SD = 14
    SD_ISI = 15
    VAR = 16
    VAR_ISI = 17
    RMS = 18
    RMS_ISI = 19
    NOISE_UV = 20
    SNR = 21
    NUM_EVENTS = 22
    EVENT_RATE = 23
    EVENT_MAX = 24
    EVENT_MIN = 25
    EVENT_MAX_ABS = 26
    EVENT_MAX_MIN_DIFF_ABS = 27
    EVENT_TIMESTAMP_MIN = 28
    EVENT_TIMESTAMP_MAX = 29
    EVENT_TIMESTAMP_MAX_ABS = 30
    EVENT_TIMESTAMP_MAX_MIN_DIFF_ABS = 31
    MEAN_MAX = 32
    MEAN_MIN = 33
    MEAN_MAX_ABS = 34
    EVENT_MEAN_MAX_MIN_DIFF_ABS = 35
    MAX_MIN_DIFF_ABS_AMPLIFIED = 36


class RadiensService(RadiensEnum):
    """Radiens back-end services (not sent on the wire)."""

    CORE = 1
    DASH = 2
    SORTER = 3
    DEV = 4
    RADIENSPY = 5


class RadiensFileType(RadiensEnum):
    """Radiens file types; strings parse as file extensions (``'xdat'``, ``'.h5'``, ``'bin'``)."""

    RHD = 0
    XDAT = 1
    CSV = 2
    HDF5 = 3
    NEX5 = 4
    NWB = 5
    KILOSORT2 = 8
    NSX = 13
    TDT = 15
    SPIKES = 16
    OE_DAT = 22

    @classmethod
    def _from_string(cls, value: str) -> Self:
        ext = value.lower().removeprefix(".")
        try:
            return cls(_EXT_TO_TYPE[ext])
        except KeyError:
            raise InvalidArgument(f".{ext} is invalid or unknown file extension") from None

    @classmethod
    def from_path(cls, path: str) -> RadiensFileType:
        """File type from a file path's suffix; no suffix means XDAT.

        Parameters
        ----------
        path : str
            A file path or name.

        Raises
        ------
        InvalidArgument
            ``'<.ext> is invalid or unknown file extension'``.

        Examples
        --------
        >>> RadiensFileType.from_path('~/data/rec_0.H5'), RadiensFileType.from_path('rec_0')
        (<RadiensFileType.HDF5: 3>, <RadiensFileType.XDAT: 1>)
        """
        name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            return cls.XDAT
        return cls._from_string(ext)

    @property
    def suffix(self) -> str:
        """The suffix of a file composed in this format (``HDF5`` gives ``'.h5'``).

        Examples
        --------
        >>> RadiensFileType.KILOSORT2.suffix
        '.bin'
        """
        return _TYPE_TO_SUFFIX[self.name]

    @property
    def ext(self) -> str:
        """The lowercase extension string used in descriptors (the member name in lowercase).

        Examples
        --------
        >>> RadiensFileType.OE_DAT.ext
        'oe_dat'
        """
        return self.name.lower()


_EXT_TO_TYPE: dict[str, int] = {
    "rhd": 0,
    "xdat": 1,
    "csv": 2,
    "hdf5": 3,
    "h5": 3,
    "nex5": 4,
    "nwb": 5,
    "kilosort2": 8,
    "bin": 8,
    "nsx": 13,
    "tdt": 15,
    "spikes": 16,
    "oebin": 22,
    "oe_dat": 22,
}

_TYPE_TO_SUFFIX: dict[str, str] = {
    "RHD": ".rhd",
    "XDAT": ".xdat",
    "CSV": ".csv",
    "HDF5": ".h5",
    "NEX5": ".nex5",
    "NWB": ".nwb",
    "KILOSORT2": ".bin",
    "NSX": ".nsx",
    "TDT": ".tdt",
    "SPIKES": ".spikes",
    "OE_DAT": ".oebin",
}


class SystemMode(RadiensEnum):
    """Allego system ("backbone") modes: hardware devices and simulators.

    ``SystemMode.parse`` follows the generic rule (member name, any case). For the short names
    users type (``'sim-spikes'``, ``'sbpro'`` ...) use
    :func:`radiens_async.utils.aliases.parse_system_mode`.
    """

    SMARTBOX_PRO = 0
    SMARTBOX_SIM_GEN_SINE = 1
    SMARTBOX_SIM_GEN_SPIKES = 2
    OPEN_EPHYS_USB3 = 4
    INTAN_RECORDING_CONTROLLER_1024 = 5
    SMARTBOX_CLASSIC = 6
    INTAN_RECORDING_CONTROLLER_512 = 7
    OPEN_EPHYS_USB2 = 8
    INTAN_USB2 = 9
    SMARTBOX_SIM_GEN_SINE_MAPPED = 10
    SMARTBOX_SIM_GEN_SINE_HIGH_FREQ = 11
    SMARTBOX_SIM_GEN_SINE_MULTI_BAND = 12
    SMARTBOX_PRO_SINAPS_256 = 13
    SMARTBOX_PRO_SINAPS_1024 = 14
    XDAQ_ONE_REC = 15
    XDAQ_ONE_STIM = 16
    XDAQ_CORE_REC = 17
    XDAQ_CORE_STIM = 18
    SMARTBOX_PRO_SINAPS_512 = 19


# Not StrEnum: str() must stay "ClientType.ALLEGO" as the documented messages show it.
class ClientType(str, Enum):  # noqa: UP042
    """The type of a client; values are the documented class names.

    ``str()`` and f-strings give ``'ClientType.ALLEGO'``, as the documented error texts show.
    """

    ALLEGO = "AllegoClient"
    VIDERE = "VidereClient"
    CURATE = "CurateClient"

    @classmethod
    def parse(cls, value: object) -> ClientType:
        """Parse ``'allego'``/``'allegoclient'``, ``'videre'``..., case-insensitively.

        Parameters
        ----------
        value : str or ClientType
            A client name, with or without the ``client`` suffix, or a member.

        Raises
        ------
        InvalidArgument
            ``"Invalid ClientType value: <x>"`` for an unknown name.
        TypeError
            For anything that is neither a string nor a member.

        Examples
        --------
        >>> ClientType.parse('Allego'), ClientType.parse('CURATECLIENT')
        (<ClientType.ALLEGO: 'AllegoClient'>, <ClientType.CURATE: 'CurateClient'>)
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().lower().removesuffix("client")
            for member in cls:
                if member.name.lower() == key:
                    return member
            raise InvalidArgument(f"Invalid {cls.__name__} value: {value}")
        raise TypeError(f"Expected str or {cls.__name__} instance, got {type(value)}.")
