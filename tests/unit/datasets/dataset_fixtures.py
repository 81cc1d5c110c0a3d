"""Helpers for the dataset tests: XDAT recordings written with our writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from radiens_async.formats.xdat import XdatChannel, XdatWriter

FS = 10000.0
FIRST_SAMPLE = 20_000


def channels(n_amp: int = 4, n_ain: int = 1, n_din: int = 1) -> list[XdatChannel]:
    """Amp channels on a 2-column probe, then analog in and digital in."""
    out = [
        XdatChannel(
            name=f"A-{i:03d}",
            ntv_name=f"A-{i:03d}",
            signal_type="amp",
            ntv_idx=i,
            sys_idx=i,
            port="A",
            site_num=i,
            site_x_um=float(20 * (i % 2)),
            site_y_um=float(25 * (i // 2)),
            site_z_um=0.0,
            site_shape="square",
            site_area_um2=100.0,
            shank=0,
            probe_id="a1x16_5mm50",
            headstage_id="chronic_smartlink_CM16",
        )
        for i in range(n_amp)
    ]
    out += [
        XdatChannel(
            name=f"AIN-{i:02d}",
            ntv_name=f"AIN-{i:02d}",
            signal_type="ain",
            ntv_idx=i,
            sys_idx=n_amp + i,
        )
        for i in range(n_ain)
    ]
    out += [
        XdatChannel(
            name=f"DIN-{i:02d}",
            ntv_name=f"DIN-{i:02d}",
            signal_type="din",
            ntv_idx=i,
            sys_idx=n_amp + n_ain + i,
        )
        for i in range(n_din)
    ]
    return out


def signals(chans: list[XdatChannel], n: int, seed: int = 0) -> npt.NDArray[np.float32]:
    """Channel-major float32 data: noise + a sine on amp, ramps on ain, 0/1 on din."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    out = np.empty((len(chans), n), np.float32)
    for row, ch in enumerate(chans):
        if ch.signal_type == "amp":
            out[row] = 40.0 * np.sin(2 * np.pi * (50 + 10 * row) * t) + rng.normal(0, 10, n)
        elif ch.signal_type == "ain":
            out[row] = np.linspace(-1, 1, n)
        else:
            out[row] = rng.integers(0, 2, n)
    return out


def write_xdat(
    directory: Path,
    base: str,
    n: int = 20_000,
    seed: int = 0,
    chans: list[XdatChannel] | None = None,
    first_sample: int = FIRST_SAMPLE,
) -> tuple[Path, npt.NDArray[np.float32]]:
    """Write ``<directory>/<base>.xdat``; return its canonical path and the samples written."""
    chans = chans if chans is not None else channels()
    data = signals(chans, n, seed)
    with XdatWriter(directory / base, FS, chans, first_sample=first_sample) as w:
        w.append(data, first_sample=first_sample)
    return directory / f"{base}.xdat", data
