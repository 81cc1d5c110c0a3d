"""Intan RHD, Blackrock NSx and Open Ephys recordings through neo's raw readers.

neo is an optional dependency of the hub (``pip install radiens-async[neo]``), imported only
when such a file is linked. neo's rawio readers memory-map the files and read any window of a
signal stream, so nothing is loaded whole. The streams at the highest sampling rate are used:
channels in µV (or mV) become amplifier channels (in µV), channels in V become analog in,
dimensionless ones digital in.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from radiens_async.errors import FailedPrecondition, FormatError
from radiens_async.formats.xdat_metadata import SignalKind, XdatChannel
from radiens_async.hub.datasets.source import Columns
from radiens_async.utils.enums import RadiensFileType

_RAWIO_OF = {
    RadiensFileType.RHD: "IntanRawIO",
    RadiensFileType.NSX: "BlackrockRawIO",
    RadiensFileType.OE_DAT: "OpenEphysBinaryRawIO",
}
_UV_SCALE = {"uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1000.0}
_KIND_ORDER: dict[SignalKind, int] = {"amp": 0, "ain": 1, "din": 2, "dout": 3}


def import_neo_rawio() -> Any:
    """``neo.rawio``, or a clear error when the optional dependency is missing.

    Raises
    ------
    FailedPrecondition
        When neo is not installed on the hub.
    """
    try:
        import neo.rawio
    except ImportError:
        raise FailedPrecondition(
            "reading this file type needs neo on the hub: pip install 'radiens-async[neo]'"
        ) from None
    return neo.rawio


def _kind(units: str) -> tuple[SignalKind, float]:
    u = units.strip().lower()
    if u in _UV_SCALE:
        return "amp", _UV_SCALE[u]
    if u in ("v", "volt", "volts"):
        return "ain", 1.0
    return "din", 1.0


class NeoSource:
    """One recording read through a neo rawio reader (block 0, segment 0).

    Parameters
    ----------
    path : Path
        The ``.rhd`` file, a Blackrock ``.nsX`` file, or an Open Ephys ``structure.oebin`` (its
        folder is read).
    file_type : RadiensFileType
        RHD, NSX or OE_DAT.

    Raises
    ------
    FailedPrecondition
        When neo is not installed.
    FormatError
        When neo cannot parse the file or finds no continuous signals.
    """

    def __init__(self, path: Path, file_type: RadiensFileType) -> None:
        rawio_mod = import_neo_rawio()
        self.file_type = file_type
        cls = getattr(rawio_mod, _RAWIO_OF[file_type])
        try:
            if file_type == RadiensFileType.OE_DAT:
                reader = cls(dirname=str(path.parent))
            else:
                reader = cls(filename=str(path))
            reader.parse_header()
        except Exception as exc:
            raise FormatError(f"{path}: neo cannot read it as {file_type.name}: {exc}") from exc
        self._reader = reader
        streams = reader.header["signal_streams"]
        if len(streams) == 0:
            raise FormatError(f"{path}: no continuous signals found")
        rates, sizes = [], []
        for s in range(len(streams)):
            rates.append(float(reader.get_signal_sampling_rate(stream_index=s)))
            sizes.append(int(reader.get_signal_size(0, 0, stream_index=s)))
        fs = max(rates)
        n = max(sz for r, sz in zip(rates, sizes, strict=True) if r == fs)
        chans_all = reader.header["signal_channels"]
        parts: list[tuple[SignalKind, int, int, float, str]] = []
        for s, stream in enumerate(streams):
            if rates[s] != fs or sizes[s] != n:
                continue
            members = np.flatnonzero(chans_all["stream_id"] == stream["id"])
            for local, row in enumerate(members):
                kind, scale = _kind(str(chans_all["units"][row]))
                parts.append((kind, s, local, scale, str(chans_all["name"][row])))
        parts.sort(key=lambda p: _KIND_ORDER[p[0]])  # amp, ain, din, dout like the live stream
        self._parts = parts
        self.fs = fs
        self.n_samples = n
        t0 = float(reader.get_signal_t_start(0, 0, stream_index=parts[0][1]))
        self.t0_sec = t0
        self.first_sample = round(t0 * fs)
        self.start_time = _start_time(reader)
        counts: dict[str, int] = {}
        self.channels = []
        for sys_idx, (kind, _s, _local, _scale, name) in enumerate(parts):
            ntv = counts.get(kind, 0)
            counts[kind] = ntv + 1
            self.channels.append(
                XdatChannel(
                    name=name, ntv_name=name, signal_type=kind, ntv_idx=ntv, sys_idx=sys_idx
                )
            )
        key = f"{path.resolve()}|{fs:g}|{n}|{self.start_time}".encode()
        self.dataset_uid = hashlib.sha1(key).hexdigest()[:16]

    def read(self, start: int, stop: int, columns: Columns) -> npt.NDArray[np.float32]:
        """Samples ``[start, stop)`` of ``columns`` (data-column indices), channel-major float32."""
        cols = np.arange(len(self._parts))[columns]
        out = np.empty((cols.size, stop - start), np.float32)
        by_stream: dict[int, list[tuple[int, int, float]]] = {}
        for row, col in enumerate(cols):
            _, s, local, scale, _ = self._parts[col]
            by_stream.setdefault(s, []).append((row, local, scale))
        for s, members in by_stream.items():
            locals_ = [m[1] for m in members]
            raw = self._reader.get_analogsignal_chunk(
                block_index=0,
                seg_index=0,
                i_start=start,
                i_stop=stop,
                stream_index=s,
                channel_indexes=locals_,
            )
            values = self._reader.rescale_signal_raw_to_float(
                raw, dtype="float64", stream_index=s, channel_indexes=locals_
            )
            for j, (row, _local, scale) in enumerate(members):
                out[row] = values[:, j] * scale
        return out

    def close(self) -> None:
        self._reader = None


def _start_time(reader: Any) -> datetime | None:
    try:
        value = reader.raw_annotations["blocks"][0]["segments"][0].get("rec_datetime")
    except (KeyError, IndexError, TypeError, AttributeError):
        value = None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None
