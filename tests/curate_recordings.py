"""Recordings for the Curate tests: small XDAT sets with amplifier, analog and digital channels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from radiens_async.formats.xdat import XdatChannel, XdatWriter, xdat_paths

FS = 30000.0
FIRST_SAMPLE = 45_000  # the file starts 1.5 s into stream time


@dataclass
class CurateRecording:
    base: Path
    data: npt.NDArray[np.float32]  # channel-major, as written
    channels: list[XdatChannel]
    fs: float
    first_sample: int

    @property
    def path(self) -> Path:
        return self.base.with_name(self.base.name + ".xdat")

    @property
    def t0(self) -> float:
        return self.first_sample / self.fs

    def checksum(self) -> str:
        return source_checksum(self.base)


def curate_channels(n_amp: int = 6, n_ain: int = 1, n_din: int = 1) -> list[XdatChannel]:
    out: list[XdatChannel] = []
    for i in range(n_amp):
        out.append(
            XdatChannel(
                name=f"A-{i:03d}",
                ntv_name=f"A-{i:03d}",
                signal_type="amp",
                ntv_idx=i,
                sys_idx=len(out),
                port="A",
                site_num=i + 1,
                site_x_um=float(30 * (i % 2)),
                site_y_um=float(25 * (i // 2)),
                site_z_um=0.0,
                site_shape="circle",
                site_area_um2=177.0,
                shank=0,
                probe_id="A1x6",
            )
        )
    for i in range(n_ain):
        out.append(
            XdatChannel(
                name=f"AIN-{i:02d}",
                ntv_name=f"AIN-{i:02d}",
                signal_type="ain",
                ntv_idx=i,
                sys_idx=len(out),
            )
        )
    for i in range(n_din):
        out.append(
            XdatChannel(
                name=f"DIN-{i:02d}",
                ntv_name=f"DIN-{i:02d}",
                signal_type="din",
                ntv_idx=i,
                sys_idx=len(out),
            )
        )
    return out


def curate_signals(
    channels: list[XdatChannel], n: int, fs: float = FS, seed: int = 0
) -> npt.NDArray[np.float32]:
    """Noise, a DC offset, mains hum and tones across the band; digital channels 0/1."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    data = np.empty((len(channels), n), np.float32)
    for row, ch in enumerate(channels):
        if ch.signal_type == "amp":
            x = rng.normal(0.0, 30.0, n) + 200.0 + 40.0 * np.sin(2 * np.pi * 50.0 * t + row)
            x += 25.0 * np.sin(2 * np.pi * 1000.0 * t) + 10.0 * np.sin(2 * np.pi * 9000.0 * t)
            data[row] = x
        elif ch.signal_type == "ain":
            data[row] = 1.0 + np.sin(2 * np.pi * 3.0 * t) + rng.normal(0, 0.05, n)
        else:
            data[row] = (np.sin(2 * np.pi * 7.0 * t) > 0).astype(np.float32)
    return data


def write_curate_recording(
    directory: Path,
    name: str = "rec_0",
    n: int = 60_000,
    fs: float = FS,
    channels: list[XdatChannel] | None = None,
    seed: int = 0,
    first_sample: int = FIRST_SAMPLE,
) -> CurateRecording:
    chans = curate_channels() if channels is None else channels
    data = curate_signals(chans, n, fs, seed)
    base = directory / name
    with XdatWriter(base, fs, chans, first_sample=first_sample) as writer:
        writer.append(data)
    return CurateRecording(base, data, chans, fs, first_sample)


def source_checksum(base: Path) -> str:
    """SHA-256 over the three files of an XDAT set (and their modification times)."""
    digest = hashlib.sha256()
    for path in xdat_paths(base):
        digest.update(path.read_bytes())
        digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()
