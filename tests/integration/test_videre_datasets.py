"""Videre against a real hub: linking, metadata, IDs, clearing, signals and PSD (async)."""

from __future__ import annotations

import asyncio
import datetime
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal

import radiens_async as radiens
from radiens_async.client import signals as signals_client
from radiens_async.client.videre import DatasetNotFound
from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.formats.xdat import XdatChannel, XdatWriter
from radiens_async.models.psd import PSD
from radiens_async.utils import make_signal_selector, make_time_range
from radiens_async.utils.enums import FftWindow, RadiensFileType, SignalType, TrsMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit" / "datasets"))
from dataset_fixtures import FIRST_SAMPLE, FS, write_xdat

pytestmark = pytest.mark.anyio


async def _ids(videre: radiens.AsyncVidereClient) -> list[str]:
    return list((await videre.get_dataset_ids())["dataset ID"])


async def test_link_metadata_ids_and_clear(address: str, tmp_path: Path) -> None:
    path, _ = write_xdat(tmp_path, "lmc_a", n=20_000)
    write_xdat(tmp_path, "lmc_b", n=5_000, seed=1)
    async with radiens.AsyncVidereClient(address) as videre:
        assert videre.type == radiens.utils.ClientType.VIDERE and videre.id and videre.hub
        meta = await videre.link_data_file(path, calc_metrics=False)
        assert meta.id == "lmc_a" and meta.base_name == "lmc_a" and meta.path == str(tmp_path)
        assert meta.file_type == RadiensFileType.XDAT
        assert meta.TR.timestamp.tolist() == [FIRST_SAMPLE, FIRST_SAMPLE + 20_000]
        assert meta.channel_metadata.num_sigs(SignalType.AMP) == 4
        again = await videre.link_data_file(tmp_path / "lmc_a.xdat.json")
        assert again.id == "lmc_a"  # already linked: the same dataset
        forced = await videre.link_data_file(path, force=True, calc_metrics=False)
        assert forced.id.startswith("lmc_a_-_") and forced.TR == meta.TR
        other = await videre.link_data_file(tmp_path / "lmc_b")  # no suffix: XDAT
        ids = await videre.get_dataset_ids()
        assert ids.index.name == "index" and list(ids.columns) == ["dataset ID", "base name"]
        assert {"lmc_a", forced.id, "lmc_b"} <= set(ids["dataset ID"])
        assert list(ids["dataset ID"]) == sorted(ids["dataset ID"])
        row = int(ids.index[ids["dataset ID"] == "lmc_b"][0])
        assert (await videre.get_data_file_metadata(dataset_idx=row)).id == "lmc_b"
        assert (await videre.get_data_file_metadata(dataset_id="lmc_a")) == meta
        assert (await videre.get_data_file_metadata(path=path)).id == "lmc_a"
        n, remaining = await videre.clear_dataset(dataset_id=[forced.id, other.id])
        assert n == 2 and forced.id not in set(remaining["dataset ID"])
        n, _ = await videre.clear_dataset(path=path)
        assert n == 1 and "lmc_a" not in await _ids(videre)


async def test_list_dir(address: str, tmp_path: Path) -> None:
    write_xdat(tmp_path, "ls_a", n=10_000)
    write_xdat(tmp_path, "ls_b", n=20_000)
    (tmp_path / "notes.txt").write_text("not data")
    async with radiens.AsyncVidereClient(address) as videre:
        table = await videre.list_dir(tmp_path, sort_by="name")
        assert table["base_name"].tolist() == ["ls_a", "ls_b"]
        assert table["type"].tolist() == ["xdat", "xdat"] and table["num_files"].tolist() == [3, 3]
        assert table["dur_sec"].tolist() == [1.0, 2.0] and table["num_chan"].tolist() == [6, 6]
        assert table.loc[1, "bytes_primary_data"] == 20_000 * 6 * 4 + 20_000 * 8
        assert (await videre.list_dir(tmp_path, sort_by="size"))["base_name"][0] == "ls_b"
        assert (await videre.list_dir(tmp_path, include="spikes")).empty
        with pytest.raises(InvalidArgument, match="must be in"):
            await videre.list_dir(tmp_path, sort_by="colour")
        with pytest.raises(InvalidArgument, match="is not a directory"):
            await videre.list_dir(tmp_path / "notes.txt")
        with pytest.raises(NotFound):
            await videre.list_dir(tmp_path / "nowhere")


async def test_get_metadata_by_path_links_it(address: str, tmp_path: Path) -> None:
    path, _ = write_xdat(tmp_path, "bypath", n=1000)
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.get_data_file_metadata(path=path)
        assert meta.id == "bypath" and "bypath" in await _ids(videre)
        await videre.clear_dataset(dataset_id="bypath")


async def test_bad_inputs_leave_the_catalog_unchanged(address: str, tmp_path: Path) -> None:
    path, _ = write_xdat(tmp_path, "bad_in", n=2000)
    (tmp_path / "table.csv").write_text("1,2\n")
    (tmp_path / "notes.txt").write_text("x")
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(path, calc_metrics=False)
        before = await _ids(videre)
        with pytest.raises(NotFound):
            await videre.link_data_file(tmp_path / "missing.xdat")
        with pytest.raises(InvalidArgument, match="cannot be linked"):
            await videre.link_data_file(tmp_path / "table.csv")
        with pytest.raises(InvalidArgument, match="unknown file extension"):
            await videre.link_data_file(tmp_path / "notes.txt")
        with pytest.raises(DatasetNotFound, match="No dataset found"):
            await videre.get_data_file_metadata(dataset_idx=len(before) + 5)
        with pytest.raises(DatasetNotFound, match="not an available dataset ID"):
            await videre.get_data_file_metadata(dataset_id="nope", fail_hard=True)
        with pytest.raises(ValueError):  # documented as ValueError too
            await videre.get_data_file_metadata(dataset_id="nope")
        with pytest.raises(InvalidArgument, match="path must be a string or Path"):
            await videre.get_data_file_metadata()
        with pytest.raises(DatasetNotFound):
            await videre.clear_dataset(dataset_id=["bad_in", "nope"])
        with pytest.raises(DatasetNotFound):
            await videre.clear_dataset(dataset_idx=999)
        with pytest.raises(InvalidArgument):
            await videre.clear_dataset()
        sig = videre.signals()
        bad_windows = [
            ([0.0, 1.0], TrsMode.SUBSET, "outside"),  # before the data (it starts at 2 s)
            ([2.1, 2.05], TrsMode.SUBSET, "reversed"),
            ([2.1, 2.1], TrsMode.SUBSET, "no samples"),
            ([2.1, 99.0], TrsMode.SUBSET, "outside"),
            ([99.0], TrsMode.FROM_HEAD, "before the data"),
            ([-1.0], TrsMode.FROM_HEAD, "positive"),
        ]
        for tr, mode, message in bad_windows:
            with pytest.raises(InvalidArgument, match=message):
                await sig.get_signals(tr, sel_mode=mode, dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match="empty channel selection"):
            await sig.get_signals([2.0, 2.1], sig_sel=make_signal_selector(), dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match="not a channel"):
            await sig.get_signals(
                [2.0, 2.1], sig_sel=make_signal_selector(amp=[0, 40]), dataset_metadata=meta
            )
        with pytest.raises(InvalidArgument, match="dataset_metadata must be provided"):
            await sig.get_signals([2.0, 2.1])
        with pytest.raises(InvalidArgument, match="TimeRange, list, or numpy array"):
            await sig.get_signals((2.0, 2.1), dataset_metadata=meta)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="Nyquist"):
            await sig.get_psd([2.0, 2.2], freq_range=[1, 1500], dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match="low < high"):
            await sig.get_psd([2.0, 2.2], freq_range=[300, 1], dataset_metadata=meta)
        with pytest.raises(InvalidArgument, match="amplifier channels only"):
            await sig.get_psd(
                [2.0, 2.2], sig_sel=make_signal_selector(din="all"), dataset_metadata=meta
            )
        unknown = meta.model_copy(update={"dsource_id": "never_linked"})
        with pytest.raises(NotFound):
            await sig.get_signals([2.0, 2.1], dataset_metadata=unknown)
        assert await _ids(videre) == before
        await videre.clear_dataset(dataset_id="bad_in")


async def test_signals_windows_and_selection(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data = write_xdat(tmp_path, "win", n=30_000)
    t0 = FIRST_SAMPLE / FS
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(path, calc_metrics=False)
        sig = videre.signals()
        with pytest.warns(UserWarning, match="no requested time range"):
            whole = await sig.get_signals(dataset_metadata=meta)
        np.testing.assert_array_equal(whole.signals.amp, data[:4].astype(np.float64))
        np.testing.assert_array_equal(whole.signals.gpio_ain, data[4:5])
        np.testing.assert_array_equal(whole.signals.gpio_din, data[5:6])
        assert (
            whole.signals.gpio_dout.shape == (0, 30_000) and whole.signals.amp.dtype == np.float64
        )
        assert whole.TR == meta.TR and whole.dsource_id == "win"

        part = await sig.get_signals([t0 + 0.5, t0 + 1.25], dataset_metadata=meta)
        np.testing.assert_array_equal(part.signals.amp, data[:4, 5000:12500])
        assert part.TR.timestamp.tolist() == [FIRST_SAMPLE + 5000, FIRST_SAMPLE + 12500]
        tr = make_time_range(timestamp=[FIRST_SAMPLE + 100, FIRST_SAMPLE + 300], fs=FS)
        np.testing.assert_array_equal(
            (await sig.get_signals(tr, dataset_metadata=meta)).signals.amp, data[:4, 100:300]
        )
        to_head = await sig.get_signals([t0 + 2.0], sel_mode="TO_HEAD", dataset_metadata=meta)
        np.testing.assert_array_equal(to_head.signals.amp, data[:4, 20000:])
        from_head = await sig.get_signals(
            np.array([0.25]), sel_mode=TrsMode.FROM_HEAD, dataset_metadata=meta
        )
        np.testing.assert_array_equal(from_head.signals.amp, data[:4, -2500:])
        chosen = await sig.get_signals(
            [t0, t0 + 0.1],
            sig_sel=make_signal_selector(amp=[3, 1], din="all"),
            dataset_metadata=meta,
        )
        np.testing.assert_array_equal(chosen.signals.amp, data[[3, 1], :1000])
        np.testing.assert_array_equal(chosen.signals.gpio_din, data[5:6, :1000])
        assert chosen.signals.gpio_ain.shape == (0, 1000)
        assert chosen.channel_metadata.index(SignalType.AMP).ntv == [3, 1]
        both = part.concat(await sig.get_signals([t0 + 1.25, t0 + 1.5], dataset_metadata=meta))
        np.testing.assert_array_equal(both.signals.amp, data[:4, 5000:15000])
        sig.local_reads = False  # the samples over gRPC, in blocks of 64 KiB (5 blocks)
        monkeypatch.setattr(signals_client, "SIGNALS_BLOCK_BYTES", 1)
        grpc_sel = await sig.get_signals(
            [t0, t0 + 2.5], sig_sel=make_signal_selector(amp=[2, 0], ain="all"),
            dataset_metadata=meta,
        )  # fmt: skip
        np.testing.assert_array_equal(grpc_sel.signals.amp, data[[2, 0], :25000])
        np.testing.assert_array_equal(grpc_sel.signals.gpio_ain, data[4:5, :25000])
        await videre.clear_dataset(dataset_id="win")


async def test_changed_or_removed_files_are_not_served_stale(address: str, tmp_path: Path) -> None:
    path, data = write_xdat(tmp_path, "chg", n=4000, seed=1)
    t0 = FIRST_SAMPLE / FS
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(path, calc_metrics=False)
        first = await videre.signals().get_signals([t0, t0 + 0.1], dataset_metadata=meta)
        np.testing.assert_array_equal(first.signals.amp, data[:4, :1000])
        for f in os.listdir(tmp_path):
            if f.startswith("chg"):
                os.unlink(tmp_path / f)
        with pytest.raises(NotFound, match=r"gone|not found"):
            await videre.signals().get_signals([t0, t0 + 0.1], dataset_metadata=meta)
        _, new = write_xdat(tmp_path, "chg", n=8000, seed=2)  # rewritten: longer, new samples
        os.utime(tmp_path / "chg.xdat.json", ns=(1, 1))  # a different mtime for sure
        fresh = await videre.get_data_file_metadata(dataset_id="chg")
        assert fresh.TR.N == 8000
        again = await videre.signals().get_signals([t0, t0 + 0.1], dataset_metadata=fresh)
        np.testing.assert_array_equal(again.signals.amp, new[:4, :1000])
        await videre.clear_dataset(dataset_id="chg")


async def test_psd_equals_scipy_welch(address: str, tmp_path: Path, anyio_backend: str) -> None:
    path, data = write_xdat(tmp_path, "psd", n=40_000)
    t0 = FIRST_SAMPLE / FS
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(path, calc_metrics=False)
        out = tmp_path / "psd_out.txt"
        with pytest.warns(UserWarning, match="replaced with .npz"):
            psd = await videre.signals().get_psd(
                [t0, t0 + 3.0],
                samp_freq=2000.0,
                freq_range=[1, 300],
                window=FftWindow.HAMMING_p05,
                freq_resolution=2.0,
                file=out,
                dataset_metadata=meta,
            )
        x = data[:4, :30_000].astype(np.float32).astype(np.float64)
        y = scipy.signal.resample_poly(x, 1, 5, axis=-1)
        f, p = scipy.signal.welch(y, 2000.0, window="hamming", nperseg=1000, noverlap=50)
        keep = (f >= 1) & (f <= 300)
        np.testing.assert_array_equal(psd.frequencies, f[keep])
        np.testing.assert_allclose(psd.psd, p[:, keep], rtol=1e-6)
        assert psd.freq_bin_width == 2.0 and psd.window_type == FftWindow.HAMMING_p05
        assert psd.freq_range.tolist() == [2.0, 302.0]
        assert psd.units[SignalType.AMP] == "μV²/Hz"
        peak = psd.frequencies[np.argmax(psd.psd, axis=1)]
        assert peak.tolist() == [50.0, 60.0, 70.0, 80.0]  # the sines written on each channel
        loaded = PSD.load(tmp_path / "psd_out.npz", meta)
        np.testing.assert_array_equal(loaded.psd, psd.psd)
        native = await videre.signals().get_psd(
            [t0, t0 + 3.0], samp_freq=None, collapse_freq=True, freq_range=[40, 90],
            window="PASS_THROUGH", dataset_metadata=meta,
        )  # fmt: skip
        assert native.psd.shape == (4, 1) and native.samp_freq == FS
        await videre.clear_dataset(dataset_id="psd")


async def test_hub_recording_links_and_matches_neo(address: str, tmp_path: Path) -> None:
    """A dataset recorded by our hub links, and its samples equal neo's independent reader."""
    from neo.rawio import NeuroNexusRawIO

    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes", seed=3)
        await allego.set_recording_config(tmp_path, "hubrec", 0, False)
        await allego.set_streaming("on")
        await allego.set_recording("on")
        await asyncio.sleep(1.5)
        await allego.set_recording("off")
        await allego.set_streaming("off")
    rec = tmp_path / next(f for f in os.listdir(tmp_path) if f.endswith(".xdat.json"))
    base = rec.name.removesuffix(".xdat.json")
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(tmp_path / f"{base}.xdat", calc_metrics=False)
        raw = NeuroNexusRawIO(filename=str(rec))
        raw.parse_header()
        n = raw.get_signal_size(0, 0, 0)
        assert n == meta.TR.N and meta.TR.fs == raw.get_signal_sampling_rate(0)
        ref = raw.rescale_signal_raw_to_float(
            raw.get_analogsignal_chunk(0, 0, 0, n, 0), dtype="float64", stream_index=0
        )
        sig = await videre.signals().get_signals(meta.TR, dataset_metadata=meta)
        n_amp = ref.shape[1]
        np.testing.assert_allclose(sig.signals.amp, ref.T[:n_amp], rtol=1e-6)
        await videre.clear_dataset(dataset_id=meta.id)


async def test_spikeinterface_recording_links(address: str, tmp_path: Path) -> None:
    """A SpikeInterface recording, written through our XDAT writer, returns its traces."""
    import spikeinterface.core as si

    rng = np.random.default_rng(5)
    traces = rng.normal(0, 30, (12_000, 6)).astype(np.float32)
    recording = si.NumpyRecording(traces, sampling_frequency=20_000.0)
    chans = [
        XdatChannel(name=str(c), ntv_name=str(c), signal_type="amp", ntv_idx=i, sys_idx=i)
        for i, c in enumerate(recording.get_channel_ids())
    ]
    with XdatWriter(tmp_path / "si_rec", 20_000.0, chans) as w:
        w.append_sample_major(recording.get_traces())
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(tmp_path / "si_rec.xdat", calc_metrics=False)
        sig = await videre.signals().get_signals(meta.TR, dataset_metadata=meta)
        np.testing.assert_array_equal(sig.signals.amp, recording.get_traces().T)
        await videre.clear_dataset(dataset_id=meta.id)


def _write_nwb(path: Path, data_uv: np.ndarray, fs: float, t0: float) -> None:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile(
        session_description="videre test",
        identifier="videre-nwb-1",
        session_start_time=datetime.datetime(2024, 7, 1, 13, 4, 49, tzinfo=datetime.UTC),
    )
    device = nwb.create_device(name="probe")
    group = nwb.create_electrode_group(
        name="shank0", description="", location="cortex", device=device
    )
    for i in range(data_uv.shape[1]):
        nwb.add_electrode(x=0.0, y=20.0 * i, z=0.0, location="cortex", group=group)
    region = nwb.create_electrode_table_region(list(range(data_uv.shape[1])), "all")
    nwb.add_acquisition(
        ElectricalSeries(
            name="ElectricalSeries",
            data=data_uv,
            electrodes=region,
            rate=fs,
            starting_time=t0,
            conversion=1e-6,  # stored in µV
        )
    )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


async def test_nwb_file_links_and_returns_its_samples(address: str, tmp_path: Path) -> None:
    data = np.random.default_rng(2).normal(0, 50, (9000, 5)).astype(np.float32)
    _write_nwb(tmp_path / "session.nwb", data, 3000.0, 2.0)
    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(tmp_path / "session.nwb", calc_metrics=False)
        assert meta.file_type == RadiensFileType.NWB and meta.TR.fs == 3000.0
        assert meta.TR.sec.tolist() == [2.0, 5.0] and meta.dataset_uid == "videre-nwb-1"
        assert meta.channel_metadata.table["site_ctr_y"].tolist() == [0, 20, 40, 60, 80]
        sig = await videre.signals().get_signals([2.5, 3.0], dataset_metadata=meta)
        np.testing.assert_allclose(sig.signals.amp, data[1500:3000].T, rtol=1e-6)
        await videre.clear_dataset(dataset_id=meta.id)


async def test_live_allego_signals_psd(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-sine", seed=1)
        await allego.set_streaming("on")
        try:
            await asyncio.sleep(1.5)
            live = await allego.signals().get_signals([1.0], sel_mode="FROM_HEAD")
            fs = live.TR.fs
            assert round(fs) == live.TR.N and live.dsource_id == "Live Signals"
            assert live.signals.amp.shape[1] == round(fs) and live.signals.amp.shape[0] > 0
            psd = await allego.signals().get_psd([1.0], sel_mode="FROM_HEAD", freq_range=[1, 500])
            assert psd.psd.shape[0] == live.signals.amp.shape[0]
            assert np.all(np.isfinite(psd.psd))
        finally:
            await allego.set_streaming("off")
