"""XDAT metadata: the ``<base>.xdat.json`` document as pydantic models, and the file-set paths.

The JSON keys are the ones neo's ``NeuroNexusRawIO`` reads (``status.*`` and the parallel arrays of
``sapiens_base.biointerface_map``) plus per-channel probe geometry, which neo ignores and
:meth:`XdatReader.to_probeinterface` uses. Every key this module does not model is kept in
:attr:`XdatMetadata.extras` and written back unchanged, so a file from Radiens round-trips.

Parsing is explicit rather than delegated to pydantic so that every problem becomes a
:class:`~radiens_async.errors.FormatError` naming the file, the key, what was expected and what was
found.
"""

from __future__ import annotations

import copy
import math
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from radiens_async.errors import FormatError, InvalidArgument

__all__ = [
    "CHAN_TYPE_CODES",
    "SIGNAL_UNITS",
    "SignalKind",
    "XdatChannel",
    "XdatMetadata",
    "XdatPaths",
    "check_ranges",
    "format_start_time",
    "parse_start_time",
    "signal_kind_of_code",
    "xdat_paths",
]

SignalKind = Literal["amp", "ain", "din", "dout"]

#: ``chan_type`` code written for each signal type. neo treats ``ai0`` as amplifier data (µV),
#: codes starting with ``di`` / ``do`` as digital in / out, and anything else as auxiliary analog
#: in (V). ``aux0`` is used for analog in because it cannot be mistaken for ``ai0`` by a reader
#: that only compares prefixes.
CHAN_TYPE_CODES: dict[str, str] = {"amp": "ai0", "ain": "aux0", "din": "din0", "dout": "dout0"}

#: Units of the stored values, as neo reports them (values are stored already scaled).
SIGNAL_UNITS: dict[str, str] = {"amp": "uV", "ain": "V", "din": "a.u.", "dout": "a.u."}

_FRACTION = re.compile(r"(\.\d{6})\d+")


def signal_kind_of_code(chan_type: str) -> SignalKind:
    """Return the signal type neo infers from a ``chan_type`` code.

    Parameters
    ----------
    chan_type : str
        A ``biointerface_map.chan_type`` value.

    Returns
    -------
    {'amp', 'ain', 'din', 'dout'}
        ``'amp'`` for ``ai0``, ``'din'`` / ``'dout'`` for codes starting with ``di`` / ``do``,
        ``'ain'`` for anything else.

    Examples
    --------
    >>> signal_kind_of_code("ai0"), signal_kind_of_code("din0"), signal_kind_of_code("aux0")
    ('amp', 'din', 'ain')
    """
    if chan_type == "ai0":
        return "amp"
    if chan_type[:2] == "di":
        return "din"
    if chan_type[:2] == "do":
        return "dout"
    return "ain"


class XdatPaths(NamedTuple):
    """The three files of one XDAT set."""

    json: Path
    data: Path
    timestamp: Path


def xdat_paths(path: str | Path) -> XdatPaths:
    """Return the metadata, data and timestamp paths of the XDAT set that ``path`` names.

    Parameters
    ----------
    path : str or Path
        ``<dir>/<base>.xdat.json``, ``<dir>/<base>.xdat`` or ``<dir>/<base>``. As neo does, the
        binaries are named after the part of the metadata file name before its first ``.``.

    Returns
    -------
    XdatPaths
        ``(json, data, timestamp)``: ``<base>.xdat.json``, ``<base>_data.xdat``,
        ``<base>_timestamp.xdat`` in the same directory.

    Raises
    ------
    ValueError
        If the base name is empty.

    Examples
    --------
    >>> p = xdat_paths("/rec/allego_0.xdat")
    >>> p.json.name, p.data.name, p.timestamp.name
    ('allego_0.xdat.json', 'allego_0_data.xdat', 'allego_0_timestamp.xdat')
    """
    p = Path(path)
    name = p.name
    if name.endswith(".xdat.json"):
        json_path = p
    else:
        stem = name[: -len(".xdat")] if name.endswith(".xdat") else name
        json_path = p.with_name(stem + ".xdat.json") if stem else p
    base = json_path.name.split(".")[0]
    if not base:
        raise InvalidArgument(f"XDAT path {str(path)!r} has an empty base name")
    return XdatPaths(
        json_path,
        json_path.with_name(base + "_data.xdat"),
        json_path.with_name(base + "_timestamp.xdat"),
    )


def parse_start_time(text: str) -> datetime:
    """Parse an ISO 8601 start time with UTC offset, as Radiens writes it (7 fractional digits).

    Parameters
    ----------
    text : str
        For example ``'2024-07-01T13:04:49.4972245-04:00'``; 6 fractional digits or none are
        accepted too.

    Returns
    -------
    datetime
        A timezone-aware datetime (digits beyond microseconds are dropped).

    Raises
    ------
    ValueError
        If the text is not ISO 8601 or has no UTC offset.

    Examples
    --------
    >>> parse_start_time("2024-07-01T13:04:49.4972245-04:00").isoformat()
    '2024-07-01T13:04:49.497224-04:00'
    """
    value = datetime.fromisoformat(_FRACTION.sub(r"\1", text))
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"start time {text!r} has no UTC offset")
    return value


def format_start_time(value: datetime) -> str:
    """Format a timezone-aware datetime the way Radiens writes ``status.start_time``.

    Parameters
    ----------
    value : datetime
        Timezone-aware local time.

    Returns
    -------
    str
        ISO 8601 with 7 fractional digits and a ``±HH:MM`` offset.

    Examples
    --------
    >>> from datetime import timedelta, timezone
    >>> format_start_time(datetime(2024, 7, 1, 13, 4, 49, 497224, timezone(timedelta(hours=-4))))
    '2024-07-01T13:04:49.4972240-04:00'
    """
    text = value.isoformat(timespec="microseconds")
    head, offset = text[:26], text[26:]
    return f"{head}0{offset}"


class XdatChannel(BaseModel):
    """One column of the data file: names, signal type, indices and probe site.

    Positions are in µm in the probe's coordinate system (``site_y_um`` is the height above the
    tip); ``None`` means unknown. ``chan_type`` defaults to the code of ``signal_type``
    (:data:`CHAN_TYPE_CODES`) and must agree with it as neo reads it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    ntv_name: str
    signal_type: SignalKind
    chan_type: str = ""
    ntv_idx: Annotated[int, Field(ge=0)] = 0
    sys_idx: Annotated[int, Field(ge=0)] = 0
    port: str = ""
    site_num: int | None = None
    site_x_um: float | None = None
    site_y_um: float | None = None
    site_z_um: float | None = None
    site_shape: str | None = None
    site_area_um2: float | None = None
    shank: int | None = None
    probe_id: str = ""
    headstage_id: str = ""

    @model_validator(mode="after")
    def _chan_type_matches(self) -> XdatChannel:
        if not self.chan_type:
            object.__setattr__(self, "chan_type", CHAN_TYPE_CODES[self.signal_type])
        elif signal_kind_of_code(self.chan_type) != self.signal_type:
            raise ValueError(
                f"chan_type {self.chan_type!r} reads as {signal_kind_of_code(self.chan_type)!r}"
                f" in neo, not {self.signal_type!r}"
            )
        return self

    @property
    def units(self) -> str:
        """Units of the stored values: ``'uV'`` (amp), ``'V'`` (ain) or ``'a.u.'`` (din/dout)."""
        return SIGNAL_UNITS[self.signal_type]


# biointerface_map key -> (XdatChannel field, kind). Kinds: str, int, num (float or null),
# optint / optstr (null allowed).
_REQUIRED_ARRAYS: tuple[tuple[str, str], ...] = (
    ("chan_name", "name"),
    ("ntv_chan_name", "ntv_name"),
    ("chan_type", "chan_type"),
)
_OPTIONAL_ARRAYS: tuple[tuple[str, str, str], ...] = (
    ("sig_type", "signal_type", "str"),
    ("ntv_chan_idx", "ntv_idx", "int"),
    ("sys_chan_idx", "sys_idx", "int"),
    ("port", "port", "str"),
    ("site_num", "site_num", "optint"),
    ("site_x", "site_x_um", "num"),
    ("site_y", "site_y_um", "num"),
    ("site_z", "site_z_um", "num"),
    ("site_shape", "site_shape", "optstr"),
    ("site_area", "site_area_um2", "num"),
    ("shank", "shank", "optint"),
    ("probe_id", "probe_id", "str"),
    ("headstage_id", "headstage_id", "str"),
)
_STATUS_KEYS = ("samp_freq", "shape", "t_range", "timestamp_range", "start_time")


class XdatMetadata(BaseModel):
    """The contents of ``<base>.xdat.json``.

    Attributes
    ----------
    fs : float
        Sampling rate in Hz (``status.samp_freq``), the same for every channel.
    n_samples, n_channels : int
        ``status.shape``; the data file holds ``n_samples * n_channels`` float32 values.
    t_range : tuple of float
        ``status.t_range``: ``[t_start, t_stop]`` in seconds of stream time. Sample ``i`` of the
        file is at ``t_start + i / fs``.
    timestamp_range : tuple of int
        ``status.timestamp_range``: first and last sample index (``first + n_samples - 1`` when
        there are no gaps).
    start_time : datetime
        Local wall-clock time of the first sample, timezone-aware.
    channels : list of XdatChannel
        One per data column, in column order.
    extras : dict
        Every JSON key not modelled here, nested as in the file; written back unchanged.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    fs: float = Field(gt=0, allow_inf_nan=False)
    n_samples: int = Field(ge=0)
    n_channels: int = Field(ge=1)
    t_range: tuple[float, float]
    timestamp_range: tuple[int, int]
    start_time: datetime
    channels: list[XdatChannel]
    extras: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> XdatMetadata:
        if len(self.channels) != self.n_channels:
            raise ValueError(
                f"{len(self.channels)} channels given for n_channels={self.n_channels}"
            )
        if self.start_time.tzinfo is None or self.start_time.utcoffset() is None:
            raise ValueError("start_time must be timezone-aware")
        t0, t1 = self.t_range
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 < t0:
            raise ValueError(f"t_range {list(self.t_range)} must be finite with t_stop >= t_start")
        if self.timestamp_range[1] < self.timestamp_range[0] - 1:
            raise ValueError(f"timestamp_range {list(self.timestamp_range)} is decreasing")
        return self

    @property
    def duration_s(self) -> float:
        """Duration of the stored data in seconds (``n_samples / fs``)."""
        return self.n_samples / self.fs

    def to_json_dict(self) -> dict[str, Any]:
        """Return the JSON document, ready for ``json.dump``.

        Returns
        -------
        dict
            ``status``, ``sapiens_base.biointerface_map`` and :attr:`extras` merged (modelled keys
            win).

        Examples
        --------
        >>> from datetime import timezone
        >>> ch = XdatChannel(name="A-000", ntv_name="A-000", signal_type="amp")
        >>> md = XdatMetadata(fs=30000.0, n_samples=0, n_channels=1, t_range=(0.0, 0.0),
        ...                   timestamp_range=(0, -1), start_time=datetime.now(timezone.utc),
        ...                   channels=[ch])
        >>> md.to_json_dict()["sapiens_base"]["biointerface_map"]["chan_type"]
        ['ai0']
        """
        return _merge(copy.deepcopy(self.extras), self._own_json())

    def _own_json(self) -> dict[str, Any]:
        return {
            "status": status_json(
                self.fs,
                self.n_samples,
                self.n_channels,
                self.t_range,
                self.timestamp_range,
                self.start_time,
            ),
            "sapiens_base": {"biointerface_map": biointerface_map_json(self.channels)},
        }

    @classmethod
    def from_json_dict(cls, doc: Any, source: str | Path | None = None) -> XdatMetadata:
        """Build the model from a parsed ``.xdat.json`` document, checking every key.

        Parameters
        ----------
        doc : Any
            The result of ``json.load``.
        source : str or Path, optional
            The file the document came from; named in error messages.

        Returns
        -------
        XdatMetadata

        Raises
        ------
        FormatError
            If a key is missing or of the wrong type or shape, the parallel arrays differ in
            length, ``samp_freq`` is not positive, the start time is not ISO 8601 with an offset,
            or the values are inconsistent.

        Examples
        --------
        >>> doc = {"status": {"samp_freq": 1000, "shape": [0, 1], "t_range": [0, 0],
        ...                   "timestamp_range": [0, -1],
        ...                   "start_time": "2024-07-01T13:04:49.4972245-04:00"},
        ...        "sapiens_base": {"biointerface_map": {
        ...            "chan_name": ["A-000"], "ntv_chan_name": ["A-000"], "chan_type": ["ai0"]}}}
        >>> XdatMetadata.from_json_dict(doc).channels[0].signal_type
        'amp'
        """
        where = f"{source}: " if source is not None else ""
        try:
            return _parse(doc, where)
        except FormatError:
            raise
        except ValidationError as exc:
            raise FormatError(f"{where}inconsistent metadata: {_first_error(exc)}") from None


def status_json(
    fs: float,
    n_samples: int,
    n_channels: int,
    t_range: tuple[float, float],
    timestamp_range: tuple[int, int],
    start_time: datetime,
) -> dict[str, Any]:
    """Return the ``status`` object of the metadata document.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz.
    n_samples, n_channels : int
        Shape of the data file.
    t_range : tuple of float
        ``[t_start, t_stop]`` in seconds of stream time.
    timestamp_range : tuple of int
        First and last sample index.
    start_time : datetime
        Timezone-aware wall time of the first sample.

    Returns
    -------
    dict

    Examples
    --------
    >>> from datetime import timezone
    >>> status_json(1000.0, 5, 2, (1.0, 1.005), (1000, 1004), datetime.now(timezone.utc))["shape"]
    [5, 2]
    """
    return {
        "samp_freq": fs,
        "shape": [n_samples, n_channels],
        "t_range": [t_range[0], t_range[1]],
        "timestamp_range": [timestamp_range[0], timestamp_range[1]],
        "start_time": format_start_time(start_time),
    }


def biointerface_map_json(channels: list[XdatChannel]) -> dict[str, list[Any]]:
    """Return ``sapiens_base.biointerface_map``: one parallel array per key.

    Parameters
    ----------
    channels : list of XdatChannel
        In data-column order.

    Returns
    -------
    dict of str to list

    Examples
    --------
    >>> ch = XdatChannel(name="DIN-00", ntv_name="DIN-00", signal_type="din")
    >>> biointerface_map_json([ch])["chan_type"]
    ['din0']
    """
    out: dict[str, list[Any]] = {key: [] for key, _ in _REQUIRED_ARRAYS}
    out.update({key: [] for key, _, _ in _OPTIONAL_ARRAYS})
    for ch in channels:
        for key, field in _REQUIRED_ARRAYS:
            out[key].append(getattr(ch, field))
        for key, field, _ in _OPTIONAL_ARRAYS:
            out[key].append(getattr(ch, field))
    return out


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    return f"{loc}: {err['msg']}" if loc else str(err["msg"])


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _object(doc: Any, key: str, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise FormatError(
            f"{where}{key or 'document'} must be a JSON object, found {_describe(doc)}"
        )
    return doc


def _member(obj: dict[str, Any], key: str, path: str, where: str) -> Any:
    if key not in obj:
        raise FormatError(f"{where}missing key {path}")
    return obj[key]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_num(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int too large for a float
        return False


def _pair(value: Any, path: str, where: str, integer: bool) -> tuple[Any, Any]:
    check = _is_int if integer else _is_num
    what = "integers" if integer else "finite numbers"
    if not (isinstance(value, list) and len(value) == 2 and all(check(v) for v in value)):
        raise FormatError(f"{where}{path} must be a list of 2 {what}, found {_describe(value)}")
    return value[0], value[1]


def check_ranges(md: XdatMetadata, where: str = "") -> None:
    """Check that ``t_range`` and ``timestamp_range`` describe the samples ``shape`` declares.

    The sample-index span of ``timestamp_range`` covers at least ``n_samples`` (more when the
    recording has gaps). ``t_range`` lasts between ``(n_samples - 1) / fs`` (Radiens: first to
    last sample) and the index span over ``fs`` (our writer: ``n_samples / fs`` without gaps),
    within float rounding.

    Parameters
    ----------
    md : XdatMetadata
        Parsed metadata.
    where : str
        Prefix of the message (the file).

    Raises
    ------
    FormatError
        The ranges contradict ``shape`` and ``samp_freq``.

    Examples
    --------
    >>> doc = {"status": {"samp_freq": 1000, "shape": [5, 1], "t_range": [0, 9.0],
    ...                   "timestamp_range": [0, 4],
    ...                   "start_time": "2024-07-01T13:04:49-04:00"},
    ...        "sapiens_base": {"biointerface_map": {"chan_name": ["a"],
    ...                         "ntv_chan_name": ["A-000"], "chan_type": ["ai0"]}}}
    >>> check_ranges(XdatMetadata.from_json_dict(doc))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    radiens_async.errors.FormatError: status.t_range [0.0, 9.0] lasts 9 s = 9000 samples at ...
    """
    n, fs = md.n_samples, md.fs
    ts0, ts1 = md.timestamp_range
    span = ts1 - ts0 + 1
    if n > 0 and span < n:
        raise FormatError(
            f"{where}status.timestamp_range {[ts0, ts1]} spans {span} sample indices but"
            f" status.shape holds {n} samples"
        )
    t0, t1 = md.t_range
    duration = (t1 - t0) * fs  # in samples
    slack = 0.01 + 8 * sys.float_info.epsilon * max(abs(t0), abs(t1)) * fs
    longest = max(span, n, 1)
    if not n - 1 - slack <= duration <= longest + slack:
        raise FormatError(
            f"{where}status.t_range {[t0, t1]} lasts {t1 - t0:g} s = {duration:g} samples at"
            f" status.samp_freq {fs:g} Hz, but status.shape holds {n} samples"
            f" (expected {max(n - 1, 0)}..{longest} samples)"
        )


def _parse(doc: Any, where: str) -> XdatMetadata:
    doc = _object(doc, "", where)
    status = _object(_member(doc, "status", "status", where), "status", where)
    fs = _member(status, "samp_freq", "status.samp_freq", where)
    if not _is_num(fs) or fs <= 0:
        raise FormatError(
            f"{where}status.samp_freq must be a positive number, found {_describe(fs)}"
        )
    n_samples, n_channels = _pair(
        _member(status, "shape", "status.shape", where), "status.shape", where, integer=True
    )
    if n_samples < 0 or n_channels < 1:
        raise FormatError(
            f"{where}status.shape must be [n_samples >= 0, n_channels >= 1],"
            f" found {[n_samples, n_channels]}"
        )
    t_range = _pair(
        _member(status, "t_range", "status.t_range", where), "status.t_range", where, integer=False
    )
    if t_range[1] < t_range[0]:
        raise FormatError(f"{where}status.t_range {list(t_range)} has t_stop < t_start")
    ts_range = _pair(
        _member(status, "timestamp_range", "status.timestamp_range", where),
        "status.timestamp_range",
        where,
        integer=True,
    )
    if ts_range[1] < ts_range[0] - 1:
        raise FormatError(f"{where}status.timestamp_range {list(ts_range)} is decreasing")
    start_text = _member(status, "start_time", "status.start_time", where)
    if not isinstance(start_text, str):
        raise FormatError(
            f"{where}status.start_time must be a string, found {_describe(start_text)}"
        )
    try:
        start_time = parse_start_time(start_text)
    except ValueError as exc:
        raise FormatError(
            f"{where}status.start_time must be ISO 8601 with a UTC offset ({exc})"
        ) from None

    base = _object(_member(doc, "sapiens_base", "sapiens_base", where), "sapiens_base", where)
    bmap = _object(
        _member(base, "biointerface_map", "sapiens_base.biointerface_map", where),
        "sapiens_base.biointerface_map",
        where,
    )
    channels = _parse_channels(bmap, n_channels, where)

    extras = _unmodelled(doc, status, base, bmap)

    return XdatMetadata(
        fs=float(fs),
        n_samples=n_samples,
        n_channels=n_channels,
        t_range=(float(t_range[0]), float(t_range[1])),
        timestamp_range=ts_range,
        start_time=start_time,
        channels=channels,
        extras=extras,
    )


_MODELLED_ARRAYS = frozenset(
    [key for key, _ in _REQUIRED_ARRAYS] + [key for key, _, _ in _OPTIONAL_ARRAYS]
)


def _unmodelled(
    doc: dict[str, Any], status: dict[str, Any], base: dict[str, Any], bmap: dict[str, Any]
) -> dict[str, Any]:
    """Deep copy of every key the model does not hold, nested as in ``doc`` (empty objects
    dropped); the modelled arrays, thousands of values for a large probe, are not copied."""

    def rest(obj: dict[str, Any], skip: frozenset[str] | tuple[str, ...]) -> dict[str, Any]:
        return {key: copy.deepcopy(value) for key, value in obj.items() if key not in skip}

    extras: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "status":
            part = rest(status, _STATUS_KEYS)
        elif key == "sapiens_base":
            part = {}
            for inner, inner_value in base.items():
                if inner != "biointerface_map":
                    part[inner] = copy.deepcopy(inner_value)
                elif bmap_rest := rest(bmap, _MODELLED_ARRAYS):
                    part[inner] = bmap_rest
        else:
            extras[key] = copy.deepcopy(value)
            continue
        if part:
            extras[key] = part
    return extras


def _parse_channels(bmap: dict[str, Any], n_channels: int, where: str) -> list[XdatChannel]:
    prefix = "sapiens_base.biointerface_map."
    columns: dict[str, list[Any]] = {}

    def array(key: str, required: bool) -> list[Any] | None:
        if key not in bmap:
            if required:
                raise FormatError(f"{where}missing key {prefix}{key}")
            return None
        value = bmap[key]
        if not isinstance(value, list):
            raise FormatError(f"{where}{prefix}{key} must be a list, found {_describe(value)}")
        if len(value) != n_channels:
            raise FormatError(
                f"{where}{prefix}{key} has {len(value)} entries, status.shape says"
                f" {n_channels} channels"
            )
        return value

    checks = {
        "str": (lambda v: isinstance(v, str), "strings"),
        "optstr": (lambda v: v is None or isinstance(v, str), "strings or null"),
        "int": (lambda v: _is_int(v) and v >= 0, "non-negative integers"),
        "optint": (lambda v: v is None or _is_int(v), "integers or null"),
        "num": (lambda v: v is None or _is_num(v), "finite numbers or null"),
    }
    for key, field in _REQUIRED_ARRAYS:
        values = array(key, required=True)
        assert values is not None  # required arrays are never None
        _check_items(values, checks["str"], prefix + key, where)
        columns[field] = values
    for key, field, kind in _OPTIONAL_ARRAYS:
        values = array(key, required=False)
        if values is not None:
            _check_items(values, checks[kind], prefix + key, where)
            columns[field] = values

    channels: list[XdatChannel] = []
    per_type: dict[str, int] = {}
    for i in range(n_channels):
        row = {field: values[i] for field, values in columns.items()}
        inferred = signal_kind_of_code(row["chan_type"])
        if "signal_type" not in row:
            row["signal_type"] = inferred
        elif row["signal_type"] != inferred:
            raise FormatError(
                f"{where}channel {i}: {prefix}sig_type {row['signal_type']!r} disagrees with"
                f" chan_type {row['chan_type']!r} (which neo reads as {inferred!r})"
            )
        row.setdefault("ntv_idx", per_type.get(inferred, 0))
        row.setdefault("sys_idx", i)
        per_type[inferred] = per_type.get(inferred, 0) + 1
        channels.append(XdatChannel(**row))
    return channels


def _check_items(values: list[Any], check: tuple[Any, str], path: str, where: str) -> None:
    predicate, what = check
    for i, value in enumerate(values):
        if not predicate(value):
            raise FormatError(f"{where}{path}[{i}] must be {what}, found {_describe(value)}")
