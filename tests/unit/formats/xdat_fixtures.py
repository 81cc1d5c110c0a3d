"""Helpers for the XDAT tests: a channel map of every signal type and a written recording."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from radiens_async.formats.xdat import SignalKind, XdatChannel, XdatWriter

FS = 30000.0
FIRST_SAMPLE = 123_457


def make_channels(
    n_amp: int = 8, n_ain: int = 2, n_din: int = 2, n_dout: int = 2, probes: int = 1
) -> list[XdatChannel]:
    """Amp channels on a 2-column probe (one per ``probes``), then ain, din, dout."""
    out: list[XdatChannel] = []
    sys_idx = 0
    per_probe = n_amp // probes
    for i in range(n_amp):
        probe = i // per_probe
        out.append(
            XdatChannel(
                name=f"pri-{i:03d}",  # display name differs from the id, as in Radiens
                ntv_name=f"A-{i:03d}",
                signal_type="amp",
                ntv_idx=i,
                sys_idx=sys_idx,
                port="A",
                site_num=i + 1,
                site_x_um=float(30 * (i % 2) + 1000 * probe),
                site_y_um=float(25 * (i // 2)),
                site_z_um=0.0,
                site_shape="circle",
                site_area_um2=177.0,
                shank=(i % per_probe) // 4,
                probe_id=f"A1x{per_probe}-{probe}",
                headstage_id="smartlink32",
            )
        )
        sys_idx += 1
    kinds: list[tuple[SignalKind, int, str]] = [
        ("ain", n_ain, "AIN"),
        ("din", n_din, "DIN"),
        ("dout", n_dout, "DOUT"),
    ]
    for kind, count, prefix in kinds:
        for i in range(count):
            out.append(
                XdatChannel(
                    name=f"{prefix.lower()}-{i:02d}",
                    ntv_name=f"{prefix}-{i:02d}",
                    signal_type=kind,
                    ntv_idx=i,
                    sys_idx=sys_idx,
                )
            )
            sys_idx += 1
    return out


def random_signals(channels: list[XdatChannel], n: int, seed: int = 0) -> npt.NDArray[np.float32]:
    """Channel-major float32 data with realistic value ranges per signal type."""
    rng = np.random.default_rng(seed)
    data = np.empty((len(channels), n), np.float32)
    for row, ch in enumerate(channels):
        if ch.signal_type == "amp":
            data[row] = rng.normal(0.0, 80.0, n)  # µV
        elif ch.signal_type == "ain":
            data[row] = rng.uniform(-5.0, 5.0, n)  # V
        else:
            data[row] = rng.integers(0, 2, n)  # 0/1
    return data


@dataclass
class Recording:
    base: Path
    data: npt.NDArray[np.float32]  # channel-major, what was appended
    channels: list[XdatChannel]
    first_sample: int


def write_recording(
    directory: Path,
    name: str = "allego_0__uid0701-13-04-49",
    n: int = 20_000,
    seed: int = 0,
    channels: list[XdatChannel] | None = None,
) -> Recording:
    """Write ``n`` samples in many blocks of random sizes (1..900 samples)."""
    chans = make_channels() if channels is None else channels
    data = random_signals(chans, n, seed)
    base = directory / name
    rng = np.random.default_rng(seed + 1)
    with XdatWriter(base, FS, chans, first_sample=FIRST_SAMPLE) as writer:
        pos = 0
        while pos < n:
            step = int(rng.integers(1, 900))
            writer.append(data[:, pos : pos + step], first_sample=FIRST_SAMPLE + pos)
            pos += step
    return Recording(base, data, chans, FIRST_SAMPLE)
