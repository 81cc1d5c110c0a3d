"""get_signals through a real hub: the local-map and gRPC paths agree, repeated calls (cached
channel tables and picks) follow a dataset that is relinked with other channels."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import radiens_async as radiens
from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.utils import make_signal_selector

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit" / "datasets"))
from dataset_fixtures import FIRST_SAMPLE, FS, channels, write_xdat

pytestmark = pytest.mark.anyio


def _remove(directory: Path, prefix: str) -> None:
    for f in directory.glob(f"{prefix}*"):
        f.unlink()


async def test_local_and_grpc_paths_agree(address: str, tmp_path: Path) -> None:
    path, data = write_xdat(tmp_path, "paths", n=12_000, seed=3)
    t0 = FIRST_SAMPLE / FS
    sel = make_signal_selector(amp=[3, 1], ain=[0])
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(path, calc_metrics=False)
        sig = videre.signals()
        for window, sig_sel, rows in [
            ([t0, t0 + 0.5], None, [0, 1, 2, 3, 4, 5]),
            ([t0 + 0.0123, t0 + 1.1], sel, [3, 1, 4]),
            ([t0 + 1.0, t0 + 1.2], None, [0, 1, 2, 3, 4, 5]),
        ]:
            got = {}
            for local in (True, False):
                sig.local_reads = local
                got[local] = await sig.get_signals(window, sig_sel=sig_sel, dataset_metadata=meta)
            a, b = got[True], got[False]
            assert a.TR == b.TR and a.channel_metadata == b.channel_metadata
            i0, i1 = (int(v) - FIRST_SAMPLE for v in a.TR.timestamp)
            both = np.vstack([a.signals.amp, a.signals.gpio_ain, a.signals.gpio_din])
            np.testing.assert_array_equal(both, data[rows, i0:i1])
            for x, y in zip(a.signals, b.signals, strict=True):
                assert x.dtype == y.dtype == np.float64
                np.testing.assert_array_equal(x, y)
        sig.local_reads = True
        with pytest.raises(InvalidArgument):
            await sig.get_signals([t0 + 0.5, t0 + 0.1], dataset_metadata=meta)
        await videre.clear_dataset(dataset_id=meta.id)


async def test_repeated_calls_follow_a_relinked_dataset(address: str, tmp_path: Path) -> None:
    path, _ = write_xdat(tmp_path, "relink", n=6000, seed=4)
    t0 = FIRST_SAMPLE / FS
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(path, calc_metrics=False)
        for _ in range(3):
            got = await videre.signals().get_signals([t0, t0 + 0.1], dataset_metadata=meta)
            assert got.signals.amp.shape == (4, 1000)
        await videre.clear_dataset(dataset_id=meta.id)
        with pytest.raises(NotFound):
            await videre.signals().get_signals([t0, t0 + 0.1], dataset_metadata=meta)
        _remove(tmp_path, "relink")
        _, new = write_xdat(tmp_path, "relink", n=6000, seed=5,
                            chans=channels(n_amp=7, n_ain=0, n_din=0))  # fmt: skip
        meta2 = await videre.link_data_file(path, calc_metrics=False)
        assert meta2.id == meta.id
        got = await videre.signals().get_signals([t0, t0 + 0.1], dataset_metadata=meta2)
        assert got.signals.amp.shape == (7, 1000)
        assert len(got.channel_metadata.channels) == 7
        np.testing.assert_array_equal(got.signals.amp, new[:, :1000])
        await videre.clear_dataset(dataset_id=meta2.id)
