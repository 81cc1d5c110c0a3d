"""DatasetCatalog: linking, IDs, persistence, stale files, spikes, other formats."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import numpy as np
import pytest
from dataset_fixtures import FIRST_SAMPLE, FS, channels, write_xdat

from radiens_async.errors import FailedPrecondition, FormatError, InvalidArgument, NotFound
from radiens_async.formats.spikes_file import SpikesWriter
from radiens_async.hub.datasets.catalog import DatasetCatalog
from radiens_async.hub.store import HubStore
from radiens_async.utils.enums import RadiensFileType, SignalType


@pytest.fixture
def catalog(tmp_path: Path) -> DatasetCatalog:
    return DatasetCatalog(HubStore(tmp_path / "hub"))


def test_link_ids_force_and_clear(catalog: DatasetCatalog, tmp_path: Path) -> None:
    path, _ = write_xdat(tmp_path, "rec_0", n=1000)
    meta = catalog.link(path)
    assert meta.id == "rec_0" and catalog.link(tmp_path / "rec_0_data.xdat").id == "rec_0"
    forced = catalog.link(path, force=True)
    assert forced.id.startswith("rec_0_-_") and len(forced.id) == len("rec_0_-_") + 9
    assert catalog.ids() == sorted([("rec_0", "rec_0"), (forced.id, "rec_0")])
    assert catalog.id_at(0) == catalog.ids()[0][0]
    assert catalog.find_path(str(tmp_path / "rec_0.xdat.json")) == "rec_0"
    assert catalog.find_path(tmp_path / "other.xdat") is None
    with pytest.raises(NotFound, match="not an available dataset index"):
        catalog.id_at(2)
    with pytest.raises(NotFound):
        catalog.clear(["rec_0", "missing"])
    assert len(catalog.ids()) == 2  # nothing cleared by a failed request
    assert catalog.clear([forced.id]) == 1 and catalog.ids() == [("rec_0", "rec_0")]
    assert catalog.clear() == 1 and catalog.ids() == []
    with pytest.raises(NotFound):
        catalog.metadata("rec_0")


def test_same_stem_in_another_directory_gets_its_own_id(
    catalog: DatasetCatalog, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pa, _ = write_xdat(tmp_path / "a", "rec", n=500)
    pb, _ = write_xdat(tmp_path / "b", "rec", n=700)
    assert catalog.link(pa).id == "rec"
    other = catalog.link(pb)
    assert other.id.startswith("rec_-_") and other.TR.N == 700


def test_catalog_is_persisted(tmp_path: Path) -> None:
    path, data = write_xdat(tmp_path, "keep", n=2000)
    first = DatasetCatalog(HubStore(tmp_path / "hub"))
    meta = first.link(path)
    again = DatasetCatalog(HubStore(tmp_path / "hub"))  # a restarted hub
    assert again.ids() == [("keep", "keep")]
    assert again.metadata("keep") == meta
    view = again.view("keep")
    np.testing.assert_array_equal(view.read(10, 20, slice(0, 4)), data[:4, 10:20])


def test_failed_links_store_nothing(catalog: DatasetCatalog, tmp_path: Path) -> None:
    write_xdat(tmp_path, "broken", n=1000)
    (tmp_path / "broken.xdat.json").write_text("{}")
    with pytest.raises(FormatError):
        catalog.link(tmp_path / "broken.xdat")
    with pytest.raises(NotFound):
        catalog.link(tmp_path / "absent.xdat")
    (tmp_path / "x.csv").write_text("")
    with pytest.raises(InvalidArgument):
        catalog.link(tmp_path / "x.csv")
    (tmp_path / "bad.nwb").write_text("not hdf5")
    with pytest.raises(FormatError):
        catalog.link(tmp_path / "bad.nwb")
    assert catalog.ids() == []


def test_changed_and_missing_files(catalog: DatasetCatalog, tmp_path: Path) -> None:
    path, _ = write_xdat(tmp_path, "live", n=1000)
    catalog.link(path)
    changed: list[str] = []
    catalog.on_change.append(changed.append)
    assert catalog.view("live").n_samples == 1000
    for name in os.listdir(tmp_path):
        if name.startswith("live"):
            os.unlink(tmp_path / name)
    with pytest.raises(NotFound, match="gone"):
        catalog.view("live")
    assert catalog.ids() == [("live", "live")]  # still linked: the user decides
    _, new = write_xdat(tmp_path, "live", n=3000, seed=9)
    os.utime(tmp_path / "live_data.xdat", ns=(5, 5))
    view = catalog.view("live")
    assert (view.n_samples == 3000 and view.version == 0) or view.n_samples == 3000
    np.testing.assert_array_equal(view.read(0, 5, slice(0, 4)), new[:4, :5])
    assert changed == ["live"]
    assert catalog.metadata("live").TR.N == 3000


def test_spikes_beside_a_recording(catalog: DatasetCatalog, tmp_path: Path) -> None:
    path, _ = write_xdat(tmp_path, "sorted", n=5000)
    with SpikesWriter(tmp_path / "sorted", FS, n_pts=20, pre_pts=5, start_sample=FIRST_SAMPLE) as w:
        w.append(
            [FIRST_SAMPLE + 100, FIRST_SAMPLE + 900],
            channel=[0, 2],
            label=[1, 0],
            waveform=np.zeros((2, 20), np.float32),
        )
    plain, _ = write_xdat(tmp_path, "plain", n=1000)
    meta = catalog.link(path)
    assert meta.spikes_ids == ("sorted.spikes",)
    assert ("sorted.spikes", "sorted") in catalog.ids()
    with catalog.spikes_reader_for("sorted") as r:
        assert r.timestamps().tolist() == [FIRST_SAMPLE + 100, FIRST_SAMPLE + 900]
    with catalog.spikes_reader_for("sorted.spikes") as r:
        assert r.n_spikes == 2
    spikes_meta = catalog.metadata("sorted.spikes")
    assert spikes_meta.file_type == RadiensFileType.SPIKES
    with pytest.raises(FailedPrecondition, match="spikes set"):
        catalog.view("sorted.spikes")
    catalog.link(plain)
    with pytest.raises(FailedPrecondition, match="has no spikes"):
        catalog.spikes_reader_for("plain")
    with pytest.raises(NotFound):
        catalog.spikes_reader_for("unknown")
    assert catalog.clear(["sorted"]) == 2  # the recording and its spikes
    assert ("sorted.spikes", "sorted") not in catalog.ids()


def _write_open_ephys(root: Path, data: np.ndarray, fs: float, first: int) -> Path:
    """A minimal Open Ephys binary recording (the layout neo's reader expects)."""
    rec = root / "Record Node 101" / "experiment1" / "recording1"
    stream = rec / "continuous" / "Acquisition_Board-100.Rhythm Data"
    stream.mkdir(parents=True)
    data.astype(np.int16).tofile(stream / "continuous.dat")
    n = data.shape[0]
    np.save(stream / "sample_numbers.npy", np.arange(first, first + n, dtype=np.int64))
    np.save(stream / "timestamps.npy", np.arange(first, first + n) / fs)
    oebin = {
        "GUI version": "0.6.4",
        "continuous": [
            {
                "folder_name": "Acquisition_Board-100.Rhythm Data/",
                "sample_rate": fs,
                "source_processor_name": "Acquisition Board",
                "source_processor_id": 100,
                "stream_name": "Rhythm Data",
                "recorded_processor": "Acquisition Board",
                "recorded_processor_id": 100,
                "num_channels": data.shape[1],
                "channels": [
                    {"channel_name": f"CH{i + 1}", "description": "", "identifier": "",
                     "history": "", "bit_volts": 0.195, "units": "uV"}
                    for i in range(data.shape[1])
                ],
            }
        ],
        "events": [],
        "spikes": [],
    }  # fmt: skip
    (rec / "structure.oebin").write_text(json.dumps(oebin))
    return rec / "structure.oebin"


def test_open_ephys_through_neo(catalog: DatasetCatalog, tmp_path: Path) -> None:
    raw = np.random.default_rng(0).normal(0, 200, (6000, 3)).astype(np.int16)
    oebin = _write_open_ephys(tmp_path, raw, 30000.0, 1000)
    meta = catalog.link(oebin)
    assert meta.file_type == RadiensFileType.OE_DAT and meta.TR.fs == 30000.0
    assert meta.TR.timestamp.tolist() == [1000, 7000]
    assert meta.channel_metadata.num_sigs(SignalType.AMP) == 3
    view = catalog.view(meta.id)
    np.testing.assert_allclose(view.read(10, 50, np.array([2, 0])), raw[10:50, [2, 0]].T * 0.195)


def test_nwb_through_pynwb(catalog: DatasetCatalog, tmp_path: Path) -> None:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    data = np.random.default_rng(1).normal(0, 40, (4000, 3)).astype(np.float32)
    nwb = NWBFile(
        session_description="t",
        identifier="nwb-uid",
        session_start_time=datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
    )
    dev = nwb.create_device(name="d")
    grp = nwb.create_electrode_group(name="g", description="", location="ca1", device=dev)
    for i in range(3):
        nwb.add_electrode(x=1.0, y=25.0 * i, z=0.0, location="ca1", group=grp)
    region = nwb.create_electrode_table_region([0, 1, 2], "all")
    nwb.add_acquisition(
        ElectricalSeries(
            name="es", data=data, electrodes=region, rate=2000.0, starting_time=1.5,
            conversion=1e-6,
        )
    )  # fmt: skip
    with NWBHDF5IO(str(tmp_path / "x.nwb"), "w") as io:
        io.write(nwb)
    meta = catalog.link(tmp_path / "x.nwb")
    assert meta.TR.sec.tolist() == [1.5, 3.5] and meta.dataset_uid == "nwb-uid"
    assert meta.TR.walltime.year == 2024
    view = catalog.view(meta.id)
    np.testing.assert_allclose(view.read(100, 200, slice(0, 3)), data[100:200].T, rtol=1e-6)


def test_missing_optional_reader_is_a_clear_error(
    catalog: DatasetCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_neo(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("neo"):
            raise ImportError("no neo here")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    (tmp_path / "x.rhd").write_bytes(b"\0" * 100)
    monkeypatch.setattr(builtins, "__import__", no_neo)
    with pytest.raises(FailedPrecondition, match=r"radiens-async\[neo\]"):
        catalog.link(tmp_path / "x.rhd")
    assert catalog.ids() == []


def test_xdat_without_native_indices(catalog: DatasetCatalog, tmp_path: Path) -> None:
    chans = [c.model_copy(update={"ntv_idx": 0}) for c in channels(3, 0, 0)]
    path, _ = write_xdat(tmp_path, "nontv", n=100, chans=chans)
    meta = catalog.link(path)
    assert meta.channel_metadata.index(SignalType.AMP).ntv == [0, 1, 2]


def test_dotted_base_name_uses_the_files_the_reader_opens(tmp_path: Path) -> None:
    from radiens_async.formats.xdat_metadata import xdat_paths
    from radiens_async.hub.datasets.file_listing import list_data_files
    from radiens_async.hub.datasets.source import open_source, resolve_dataset_path

    # a set named as neo names it: rec.1.xdat.json beside rec_data.xdat, rec_timestamp.xdat
    _, data = write_xdat(tmp_path, "rec", n=1000)
    (tmp_path / "rec.xdat.json").rename(tmp_path / "rec.1.xdat.json")
    path = tmp_path / "rec.1.xdat"
    dpath = resolve_dataset_path(path)
    assert dpath.files == tuple(xdat_paths(path))
    source = open_source(dpath)
    try:
        np.testing.assert_array_equal(source.read(0, 10, slice(0, 2)), data[:2, :10])
    finally:
        source.close()
    (entry,) = list_data_files(tmp_path)
    assert entry.num_files == 3 and entry.bytes_primary_data > 0
