"""``ChannelMetadata``: the channels of a signal group, their index spaces, sites and sensors.

Every channel has three indices: ``ntv`` (position in the hardware stream, per signal type),
``dset`` (position in the dataset, per signal type; equals ``ntv`` unless reordered) and ``sys``
(position across all types, in the order amp, ain, din, dout).
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from radiens_async.errors import InvalidArgument
from radiens_async.utils.constants import COLOR_GROUP_IDX_UNSET, PORT_LETTERS, SITE_NUM_UNSET
from radiens_async.utils.enums import Port, SignalType, SignalUnits

__all__ = [
    "SIGNAL_UNITS",
    "ChannelInfo",
    "ChannelMetadata",
    "KeyIdxs",
    "SensorSpec",
]

SIGNAL_UNITS: Final[dict[SignalType, SignalUnits]] = {
    SignalType.AMP: SignalUnits.MICROVOLTS,
    SignalType.AIN: SignalUnits.VOLTS,
    SignalType.DIN: SignalUnits.BINARY,
    SignalType.DOUT: SignalUnits.BINARY,
}
"""Units of each signal type: amplifier µV, analog-in V, digital 0/1."""

_STYPE_ERROR: Final = "stype not in signal map"
_SITE_COLUMNS: Final = ("site_ctr_x", "site_ctr_y", "site_ctr_z")


class KeyIdxs(NamedTuple):
    """Native, dataset and system indices of a set of channels, in table-row order."""

    ntv: list[int]
    dset: list[int]
    sys: list[int]


def _port_letter(value: Any) -> str:
    if isinstance(value, str) and value in ("", *PORT_LETTERS):
        return value
    return Port.parse(value).name


class ChannelInfo(BaseModel):
    """One channel: one row of :attr:`ChannelMetadata.table` (positions in µm).

    ``site_num == -23`` and ``color_group_idx == 2147483647`` mean "unset". ``dataset_key_idx``
    defaults to ``ntv_key_idx`` and ``dataset_key_idx_abs`` to ``sys_key_idx``.

    Examples
    --------
    >>> ch = ChannelInfo(port='A', chan_name='A-000', chan_type='amp', ntv_key_idx=0,
    ...                  sys_key_idx=0)
    >>> ch.chan_type, ch.dataset_key_idx, ch.site_num
    (<SignalType.AMP: 0>, 0, -23)
    """

    model_config = ConfigDict(frozen=True)

    port: str = ""
    chan_name: str = ""
    chan_type: SignalType
    ntv_key_idx: int
    site_num: int = SITE_NUM_UNSET
    color_group_idx: int = COLOR_GROUP_IDX_UNSET
    selected: bool = True
    audio: list[bool] = Field(default_factory=lambda: [False, False], min_length=2, max_length=2)
    site_shape: str = ""
    site_ctr_x: float = 0.0
    site_ctr_y: float = 0.0
    site_ctr_z: float = 0.0
    site_lim_x_min: float = 0.0
    site_lim_y_min: float = 0.0
    site_lim_z_min: float = 0.0
    site_lim_x_max: float = 0.0
    site_lim_y_max: float = 0.0
    site_lim_z_max: float = 0.0
    site_ctr_tcs_x: float = 0.0
    site_ctr_tcs_y: float = 0.0
    site_ctr_tcs_z: float = 0.0
    sensor_units: int = 0
    sys_key_idx: int
    site_area_um2: float = 0.0
    scs_to_tcs: list[float] = Field(
        default_factory=lambda: [0.0, 0.0, 0.0], min_length=3, max_length=3
    )
    sensor_id: str = ""
    probe_id: str = ""
    headstage_id: str = ""
    ntv_chan_name: str = ""
    sensor_uid: str = ""
    dataset_key_idx: int = -1
    dataset_key_idx_abs: int = -1

    @model_validator(mode="before")
    @classmethod
    def _default_dataset_idxs(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if data.get("dataset_key_idx") is None:
                data["dataset_key_idx"] = data.get("ntv_key_idx")
            if data.get("dataset_key_idx_abs") is None:
                data["dataset_key_idx_abs"] = data.get("sys_key_idx")
        return data

    @field_validator("chan_type", mode="before")
    @classmethod
    def _parse_chan_type(cls, value: Any) -> SignalType:
        return SignalType.parse(value)

    @field_validator("port", mode="before")
    @classmethod
    def _parse_port(cls, value: Any) -> str:
        return _port_letter(value)


_COLUMNS: Final = tuple(ChannelInfo.model_fields)


def _zero_position() -> dict[str, float]:
    return dict.fromkeys(("x", "y", "z", "ring_angle", "axial_angle", "arc_angle"), 0.0)


class SensorSpec(BaseModel):
    """A sensor (headstage + probe) on one port: probe outline and placement, in µm and degrees.

    Examples
    --------
    >>> SensorSpec(probe_id='buz32', headstage_id='passthrough_32').sensor_pos['x']
    0.0
    """

    model_config = ConfigDict(frozen=True)

    probe_id: str = ""
    headstage_id: str = ""
    sensor_uid: str = ""
    x_min: float = 0.0
    x_max: float = 0.0
    y_min: float = 0.0
    y_max: float = 0.0
    wireframe_x: list[float] = Field(default_factory=list)
    wireframe_y: list[float] = Field(default_factory=list)
    wireframe_vtx_x_lim: list[float] = Field(default_factory=list)
    wireframe_vtx_y_lim: list[float] = Field(default_factory=list)
    sensor_pos: dict[str, float] = Field(default_factory=_zero_position)

    @field_validator("sensor_pos", mode="before")
    @classmethod
    def _complete_position(cls, value: Any) -> dict[str, Any]:
        return {**_zero_position(), **dict(value or {})}


class ChannelMetadata(BaseModel):
    """The channels of a signal group (``get_channel_metadata()``), in table-row order.

    ``has_discrete`` defaults to "has digital channels" and ``has_continuous_amp`` to "has
    amplifier channels".

    Examples
    --------
    >>> async with AsyncAllegoClient() as client:
    ...     meta = await client.get_channel_metadata()
    >>> meta.num_sigs(SignalType.AMP), meta.index(SignalType.AIN).sys[:2]
    (32, [32, 33])
    """

    model_config = ConfigDict(frozen=True)

    channels: tuple[ChannelInfo, ...] = ()
    fs: float = 0.0
    dataset_uid: str = ""
    source_label: str = ""
    neighbor_max_radius_um: float = 0.0
    sensors: dict[str, list[SensorSpec]] = Field(default_factory=dict)
    has_discrete: bool = False
    has_continuous_amp: bool = False

    @model_validator(mode="before")
    @classmethod
    def _default_flags(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "has_discrete" in data and "has_continuous_amp" in data:
            return data
        types = set()
        for ch in data.get("channels") or ():
            raw = ch.chan_type if isinstance(ch, ChannelInfo) else dict(ch).get("chan_type")
            types.add(SignalType.parse(raw))
        data.setdefault("has_discrete", bool(types & {SignalType.DIN, SignalType.DOUT}))
        data.setdefault("has_continuous_amp", SignalType.AMP in types)
        return data

    @field_validator("sensors", mode="before")
    @classmethod
    def _sensor_ports(cls, value: Any) -> dict[str, Any]:
        return {_port_letter(k): v for k, v in dict(value or {}).items()}

    # -- documented surface -------------------------------------------------------------------

    @property
    def attributes(self) -> dict[str, Any]:
        """Dataset-wide attributes.

        Returns
        -------
        dict
            Keys ``dataset_uid``, ``fs``, ``source_label``, ``neighbor_max_radius_um``,
            ``signal_units`` ({SignalType: SignalUnits}), ``has_discrete`` and
            ``has_continuous_amp``.

        Examples
        --------
        >>> meta.attributes['signal_units'][SignalType.AMP].label
        'μV'
        """
        return {
            "dataset_uid": self.dataset_uid,
            "fs": self.fs,
            "source_label": self.source_label,
            "neighbor_max_radius_um": self.neighbor_max_radius_um,
            "signal_units": self.sig_units,
            "has_discrete": self.has_discrete,
            "has_continuous_amp": self.has_continuous_amp,
        }

    @property
    def table(self) -> pd.DataFrame:
        """One row per channel, index ``dyn_sort_idx`` (0..N-1), columns in documented order.

        ``chan_type`` holds ``SignalType`` members; ``audio`` and ``scs_to_tcs`` hold lists.
        A new frame is built on each access, so changing it does not change the metadata.

        Examples
        --------
        >>> meta.table.loc[0, ['port', 'chan_type', 'ntv_key_idx']].tolist()
        ['A', <SignalType.AMP: 0>, 0]
        """
        data: dict[str, Any] = {
            name: [getattr(ch, name) for ch in self.channels] for name in _COLUMNS
        }
        # An object array keeps the enum members: pandas would store an IntEnum list as int64.
        chan_types = np.empty(len(self.channels), dtype=object)
        chan_types[:] = data["chan_type"]
        data["chan_type"] = chan_types
        index = pd.RangeIndex(len(self.channels), name="dyn_sort_idx")
        return pd.DataFrame(data, columns=list(_COLUMNS), index=index)

    def _of_type(self, stype: SignalType, selected_only: bool) -> list[ChannelInfo]:
        if not isinstance(stype, SignalType):
            raise InvalidArgument(_STYPE_ERROR)
        return [
            ch
            for ch in self.channels
            if ch.chan_type == stype and (ch.selected or not selected_only)
        ]

    @staticmethod
    def _key_idxs(channels: list[ChannelInfo]) -> KeyIdxs:
        return KeyIdxs(
            ntv=[ch.ntv_key_idx for ch in channels],
            dset=[ch.dataset_key_idx for ch in channels],
            sys=[ch.sys_key_idx for ch in channels],
        )

    def index(self, stype: SignalType) -> KeyIdxs:
        """Native, dataset and system indices of all channels of one signal type.

        Parameters
        ----------
        stype : SignalType
            The signal type (a member; strings are refused).

        Returns
        -------
        KeyIdxs
            ``KeyIdxs(ntv=[...], dset=[...], sys=[...])`` in table-row order.

        Raises
        ------
        InvalidArgument
            (a ``ValueError``) ``'stype not in signal map'`` when ``stype`` is not a member.

        Examples
        --------
        >>> meta.index(SignalType.AIN)
        KeyIdxs(ntv=[0, 1], dset=[0, 1], sys=[32, 33])
        """
        return self._key_idxs(self._of_type(stype, selected_only=False))

    def sel_index(self, stype: SignalType) -> KeyIdxs:
        """Like :meth:`index`, for the selected channels only.

        Raises
        ------
        InvalidArgument
            ``'stype not in signal map'`` when ``stype`` is not a ``SignalType`` member.

        Examples
        --------
        >>> meta.sel_index(SignalType.DOUT).sys
        [36, 37]
        """
        return self._key_idxs(self._of_type(stype, selected_only=True))

    def num_sigs(self, stype: SignalType) -> int:
        """Number of channels of one signal type.

        Raises
        ------
        InvalidArgument
            ``'stype not in signal map'`` when ``stype`` is not a ``SignalType`` member.

        Examples
        --------
        >>> meta.num_sigs(SignalType.AMP)
        32
        """
        return len(self._of_type(stype, selected_only=False))

    def sel_num_sigs(self, stype: SignalType) -> int:
        """Number of selected channels of one signal type.

        Raises
        ------
        InvalidArgument
            ``'stype not in signal map'`` when ``stype`` is not a ``SignalType`` member.

        Examples
        --------
        >>> meta.sel_num_sigs(SignalType.AMP)
        32
        """
        return len(self._of_type(stype, selected_only=True))

    def num_sigs_total(self) -> int:
        """Number of channels of all types.

        Examples
        --------
        >>> meta.num_sigs_total()
        38
        """
        return len(self.channels)

    @property
    def num_selected_sigs_total(self) -> int:
        """Number of selected channels of all types.

        Examples
        --------
        >>> meta.num_selected_sigs_total
        38
        """
        return sum(1 for ch in self.channels if ch.selected)

    @property
    def sig_units(self) -> dict[SignalType, SignalUnits]:
        """Units of each signal type: AMP µV, AIN V, DIN and DOUT binary.

        Examples
        --------
        >>> str(meta.sig_units[SignalType.AIN])
        'V'
        """
        return dict(SIGNAL_UNITS)

    @property
    def sensor_spec(self) -> dict[str, list[dict[str, Any]]]:
        """Sensors per port letter A..H, as dicts (an empty list for a port with no sensor).

        Examples
        --------
        >>> meta.sensor_spec['A'][0]['probe_id'], meta.sensor_spec['B']
        ('a1x32_poly3_8mm50s_177', [])
        """
        return {
            port: [sensor.model_dump() for sensor in self.sensors.get(port, [])]
            for port in PORT_LETTERS
        }

    def site_positions(self, stype: SignalType = SignalType.AMP) -> pd.DataFrame:
        """Site centres of the channels of one signal type, in µm.

        Parameters
        ----------
        stype : SignalType
            The signal type (default AMP).

        Returns
        -------
        pandas.DataFrame
            Index ``ntv_key_idx``, columns ``site_ctr_x``, ``site_ctr_y``, ``site_ctr_z``, rows in
            table-row order.

        Raises
        ------
        InvalidArgument
            ``'stype not in signal map'`` when ``stype`` is not a ``SignalType`` member.

        Examples
        --------
        >>> meta.site_positions().loc[0, 'site_ctr_y']
        0.0
        """
        channels = self._of_type(stype, selected_only=False)
        return pd.DataFrame(
            {col: [float(getattr(ch, col)) for ch in channels] for col in _SITE_COLUMNS},
            index=pd.Index([ch.ntv_key_idx for ch in channels], name="ntv_key_idx"),
            columns=list(_SITE_COLUMNS),
        )

    def __repr__(self) -> str:
        return repr(self.table)

    def __str__(self) -> str:
        return str(self.table)
