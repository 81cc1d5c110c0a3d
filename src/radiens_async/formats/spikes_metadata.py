"""``.spikes`` metadata: the ``<base>.spikes.json`` document as pydantic models, and the paths.

A ``.spikes`` set is one JSON metadata file and four headerless little-endian binaries, one value
(or one waveform) per spike, in the same order (non-decreasing sample index)::

    <base>.spikes.json        metadata (SpikesFileMetadata)
    <base>_timestamp.spikes   int64    sample index of the spike (stream time x fs)
    <base>_channel.spikes     int32    native (ntv) index of the amplifier channel it was found on
    <base>_label.spikes       int32    unit label; 0 = not assigned to a unit
    <base>_waveform.spikes    float32  (n_spikes, n_pts) C order, µV

Parsing goes through pydantic in strict JSON mode, and every failure becomes a
:class:`~radiens_async.errors.FormatError` that names the file and the key. See
``docs/spikes-format.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, NamedTuple

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from radiens_async.errors import FormatError

if TYPE_CHECKING:
    from radiens_async.formats.xdat_metadata import XdatMetadata

__all__ = [
    "BINARY_DTYPES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "INT32_MAX",
    "SPIKES_SUFFIX",
    "SpikesChannel",
    "SpikesFileMetadata",
    "SpikesPaths",
    "SpikesProvenance",
    "SpikesUnit",
    "channels_from_xdat",
    "check_channels",
    "load_spikes_metadata",
    "spikes_paths",
]

FORMAT_NAME: Final = "radiens-spikes"
FORMAT_VERSION: Final = 1
SPIKES_SUFFIX = ".spikes"
INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1
#: The largest waveform accepted (points per spike); only a guard against absurd metadata.
_MAX_PTS = 1 << 20

#: dtype of each binary, keyed by the file's tag (``<base>_<tag>.spikes``).
BINARY_DTYPES: dict[str, np.dtype[Any]] = {
    "timestamp": np.dtype("<i8"),
    "channel": np.dtype("<i4"),
    "label": np.dtype("<i4"),
    "waveform": np.dtype("<f4"),
}

_Int32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
_SampleIndex = Annotated[int, Field(ge=0, le=_INT64_MAX)]


class SpikesPaths(NamedTuple):
    """The five files of one ``.spikes`` set."""

    json: Path
    timestamp: Path
    channel: Path
    label: Path
    waveform: Path


def spikes_paths(path: str | Path) -> SpikesPaths:
    """Return the paths of the ``.spikes`` set that ``path`` names.

    Parameters
    ----------
    path : str or Path
        ``<dir>/<base>.spikes.json``, ``<dir>/<base>.spikes``, ``<dir>/<base>``, or the recording
        the spikes belong to, ``<dir>/<base>.xdat`` / ``<dir>/<base>.xdat.json``. As for XDAT,
        the base name is the part of the file name before its first ``.``.

    Returns
    -------
    SpikesPaths
        ``<base>.spikes.json`` and ``<base>_{timestamp,channel,label,waveform}.spikes``, all in
        the directory of ``path``.

    Raises
    ------
    ValueError
        If the base name is empty.

    Examples
    --------
    >>> p = spikes_paths("/rec/allego_0.xdat")
    >>> p.json.name, p.waveform.name
    ('allego_0.spikes.json', 'allego_0_waveform.spikes')
    """
    p = Path(path)
    base = p.name.split(".")[0]
    if not base:
        raise ValueError(f"spikes path {str(path)!r} has an empty base name")
    return SpikesPaths(
        p.with_name(base + SPIKES_SUFFIX + ".json"),
        *(p.with_name(f"{base}_{tag}{SPIKES_SUFFIX}") for tag in BINARY_DTYPES),
    )


class SpikesChannel(BaseModel):
    """One amplifier channel spikes may be found on: its indices, name and site (µm).

    ``dset_idx`` is the channel's position among the amplifier channels of the recording (what
    ``get_spike_timestamps`` reports as ``dset_idxs``); ``None`` means "equal to ``ntv_idx``".
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    ntv_idx: _Int32
    dset_idx: _Int32 | None = None
    name: str = ""
    x_um: float | None = None
    y_um: float | None = None
    z_um: float | None = None


class SpikesUnit(BaseModel):
    """One unit (neuron, cluster) of the set.

    ``label`` is the value stored with its spikes (0: its spikes are stored unlabeled, e.g. a
    Kilosort cluster marked ``noise`` and demoted on import). ``cluster_id`` is the sorter's own
    id (Kilosort / phy), ``group`` the curation group (phy ``cluster_group.tsv``) and
    ``ks_label`` Kilosort's own label (``cluster_KSLabel.tsv``). ``channel`` is the ntv index
    most of its spikes were stored on.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    label: _Int32
    cluster_id: _Int32 | None = None
    group: str | None = None
    ks_label: str | None = None
    channel: _Int32 | None = None
    n_spikes: _SampleIndex | None = None


class SpikesProvenance(BaseModel):
    """Where the spikes came from.

    ``source`` is ``'radiens-async live sorter'``, ``'kilosort'`` or another free text;
    ``details`` holds source-specific JSON (the Kilosort folder, scaling used ...).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    source: str
    created: AwareDatetime
    software: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class SpikesFileMetadata(BaseModel):
    """The contents of ``<base>.spikes.json``.

    Attributes
    ----------
    format, format_version : str, int
        ``'radiens-spikes'`` and ``1``.
    fs : float
        Sampling rate (Hz) of the recording the sample indices count.
    n_spikes : int
        Spikes in the binaries (bytes beyond are ignored: a writer appended them after its last
        metadata rewrite).
    n_pts, pre_pts : int
        Points per waveform, and how many of them precede the spike's sample index.
    waveform_units : str
        Always ``'uV'``.
    time_range : tuple of float
        ``[t_start, t_stop]`` in seconds of stream time: the span of the recording that was
        searched for spikes. Sample ``s`` is at ``s / fs``; every spike lies in
        ``[round(t_start * fs), round(t_stop * fs))``.
    timestamp_range : tuple of int or None
        Sample index of the first and the last spike; ``None`` when there are none.
    complete : bool
        ``True`` once the writer was closed; ``False`` while writing (or if it was killed).
    source_recording : str or None
        Base name of the recording (``<base>.xdat``) the spikes were found in.
    provenance : SpikesProvenance
    channels : list of SpikesChannel
        The channels the spikes may be on (empty: unknown).
    units : list of SpikesUnit
        The units behind the labels (empty: unknown).
    extras : dict
        Free JSON, kept unchanged.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    format: Literal["radiens-spikes"] = FORMAT_NAME
    format_version: Literal[1] = FORMAT_VERSION
    fs: float = Field(gt=0)
    n_spikes: _SampleIndex
    n_pts: Annotated[int, Field(ge=1, le=_MAX_PTS)]
    pre_pts: Annotated[int, Field(ge=0, le=_MAX_PTS)]
    waveform_units: Literal["uV"] = "uV"
    time_range: tuple[float, float]
    timestamp_range: tuple[_SampleIndex, _SampleIndex] | None
    complete: bool = False
    source_recording: str | None = None
    provenance: SpikesProvenance
    channels: list[SpikesChannel] = Field(default_factory=list)
    units: list[SpikesUnit] = Field(default_factory=list)
    extras: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> SpikesFileMetadata:
        if self.pre_pts >= self.n_pts:
            raise ValueError(f"pre_pts={self.pre_pts} must be less than n_pts={self.n_pts}")
        t0, t1 = self.time_range
        if t1 < t0:
            raise ValueError(f"time_range {list(self.time_range)} has t_stop < t_start")
        if not (math.isfinite(t0 * self.fs) and math.isfinite(t1 * self.fs)):
            raise ValueError(f"time_range {list(self.time_range)} x fs is not finite")
        s0, s1 = self.sample_range
        if (self.timestamp_range is None) != (self.n_spikes == 0):
            raise ValueError(
                f"timestamp_range must be null exactly when n_spikes is 0 (n_spikes="
                f"{self.n_spikes}, timestamp_range={self.timestamp_range})"
            )
        if self.timestamp_range is not None:
            first, last = self.timestamp_range
            if not s0 <= first <= last < s1:
                raise ValueError(
                    f"timestamp_range {[first, last]} is not inside the searched samples"
                    f" [{s0}, {s1}) of time_range {list(self.time_range)}"
                )
        ntv = [ch.ntv_idx for ch in self.channels]
        if len(set(ntv)) != len(ntv):
            raise ValueError("channels: ntv_idx values must be unique")
        return self

    @property
    def sample_range(self) -> tuple[int, int]:
        """``[first, stop)`` sample indices searched for spikes (``round(time_range * fs)``)."""
        return round(self.time_range[0] * self.fs), round(self.time_range[1] * self.fs)

    @property
    def duration_s(self) -> float:
        """Length of the searched span in seconds."""
        return self.time_range[1] - self.time_range[0]

    def to_json(self) -> str:
        """Return the JSON document.

        Returns
        -------
        str

        Examples
        --------
        >>> from datetime import datetime, timezone
        >>> md = SpikesFileMetadata(
        ...     fs=30000.0, n_spikes=0, n_pts=60, pre_pts=20, time_range=(0.0, 0.0),
        ...     timestamp_range=None,
        ...     provenance=SpikesProvenance(source="test", created=datetime.now(timezone.utc)))
        >>> SpikesFileMetadata.from_json(md.to_json()) == md
        True
        """
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes, source: str | Path | None = None) -> SpikesFileMetadata:
        """Parse and check a ``.spikes.json`` document.

        Parameters
        ----------
        text : str or bytes
            The file's contents.
        source : str or Path, optional
            The file it came from; named in error messages.

        Returns
        -------
        SpikesFileMetadata

        Raises
        ------
        FormatError
            If the text is not JSON, is not a ``.spikes`` metadata document of a known version,
            or a key is missing, of the wrong type, out of range or inconsistent with another.

        Examples
        --------
        >>> SpikesFileMetadata.from_json('{"format": "radiens-spikes"}')
        Traceback (most recent call last):
        ...
        radiens_async.errors.FormatError: missing key fs
        """
        where = f"{source}: " if source is not None else ""
        try:
            return cls.model_validate_json(text, strict=True)
        except ValidationError as exc:
            raise FormatError(where + _describe_error(exc)) from None


def load_spikes_metadata(path: Path) -> SpikesFileMetadata:
    """Read and check ``<base>.spikes.json``.

    Parameters
    ----------
    path : Path
        The metadata file.

    Returns
    -------
    SpikesFileMetadata

    Raises
    ------
    FormatError
        If the file is missing or unreadable, or its contents are not valid (see
        :meth:`SpikesFileMetadata.from_json`).

    Examples
    --------
    >>> load_spikes_metadata(Path("/data/allego_0.spikes.json")).n_spikes  # doctest: +SKIP
    1523
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FormatError(f"{path}: metadata file not found") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot read the metadata file ({exc})") from None
    return SpikesFileMetadata.from_json(raw, source=path)


def channels_from_xdat(metadata: XdatMetadata) -> list[SpikesChannel]:
    """Describe a recording's amplifier channels as spike channels.

    Parameters
    ----------
    metadata : XdatMetadata
        The recording's metadata.

    Returns
    -------
    list of SpikesChannel
        One per amplifier channel, in data-column order: its ``ntv_idx``, its position among the
        amplifier channels as ``dset_idx``, its name and site position.

    Examples
    --------
    >>> from radiens_async.formats.xdat import XdatReader
    >>> with XdatReader("/data/allego_0.xdat") as rec:  # doctest: +SKIP
    ...     channels_from_xdat(rec.metadata)[0]
    SpikesChannel(ntv_idx=0, dset_idx=0, name='A-000', x_um=0.0, y_um=0.0, z_um=None)
    """
    amp = [ch for ch in metadata.channels if ch.signal_type == "amp"]
    return [
        SpikesChannel(
            ntv_idx=ch.ntv_idx,
            dset_idx=i,
            name=ch.name,
            x_um=ch.site_x_um,
            y_um=ch.site_y_um,
            z_um=ch.site_z_um,
        )
        for i, ch in enumerate(amp)
    ]


def check_channels(channels: Sequence[Any] | None) -> list[SpikesChannel]:
    """Return ``channels`` as a list of :class:`SpikesChannel` (``None`` -> empty).

    Raises
    ------
    ValueError
        If an item is not a SpikesChannel or an ntv index repeats.
    """
    out = list(channels or [])
    if not all(isinstance(ch, SpikesChannel) for ch in out):
        raise ValueError("channels must be a sequence of SpikesChannel")
    ntv = [ch.ntv_idx for ch in out]
    if len(set(ntv)) != len(ntv):
        raise ValueError("channels: ntv_idx values must be unique")
    return out


def _describe_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    if err["type"] == "missing":
        return f"missing key {loc}"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "value_error":
        return f"inconsistent metadata{' in ' + loc if loc else ''}: {message}"
    if not loc:
        return message
    found = repr(err.get("input"))
    if len(found) > 60:
        found = found[:57] + "..."
    return f"{loc}: {message}, found {found}"
