"""Each reproduction of issue 15's untyped errors now ends in a typed error, the hub serving on."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from curate_recordings import CurateRecording, write_curate_recording

import radiens_async as radiens
from radiens_async.errors import InvalidArgument, NotFound, RemoteError

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def rec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CurateRecording]:
    yield write_curate_recording(tmp_path_factory.mktemp("typed_src"), n=30_000)


async def _hub_serves(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        assert (await allego.get_status()).system_mode is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_channels": 10**12}, r"num_channels must be an int >= 1 and <= 2147483647"),
        ({"seed": 2**70}, r"seed must be an int >= 0 and <= 9223372036854775807"),
        ({"seed": math.nan}, r"seed must be an int"),
    ],
)
async def test_restart_with_huge_ints_is_invalid_argument(
    address: str, kwargs: dict[str, object], message: str
) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        with pytest.raises(InvalidArgument, match=message):
            await allego.restart("sim-spikes", **kwargs)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="mode must be a SystemMode"):
            await allego.restart(None)  # type: ignore[arg-type]
    await _hub_serves(address)


async def test_recording_config_with_a_300_character_base_name(
    address: str, tmp_path: Path
) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        with pytest.raises(InvalidArgument, match=r"datasource_name .* limited to 255 bytes"):
            await allego.set_recording_config(tmp_path, "x" * 300, 0, True)
        await allego.set_recording_config(tmp_path, "x" * 200, 0, True)  # one that fits
        assert (await allego.get_recording_config()).base_name == "x" * 200
    await _hub_serves(address)


async def test_link_data_file_of_a_directory_or_a_long_name(address: str, tmp_path: Path) -> None:
    async with radiens.AsyncVidereClient(address) as videre:
        with pytest.raises(InvalidArgument, match=r"'/' is a directory: link a recording file"):
            await videre.link_data_file("/")
        with pytest.raises(InvalidArgument, match="is a directory"):
            await videre.link_data_file(tmp_path)
        with pytest.raises(InvalidArgument, match="File name too long") as info:
            await videre.link_data_file(tmp_path / ("y" * 300 + ".xdat"))
        assert "internal hub error" not in str(info.value)
        with pytest.raises(NotFound):
            await videre.link_data_file(tmp_path / "absent.xdat")
    await _hub_serves(address)


async def test_curate_targets_no_file_system_takes(
    address: str, rec: CurateRecording, tmp_path: Path
) -> None:
    async with radiens.AsyncCurateClient(address) as curate:
        with pytest.raises(InvalidArgument, match="target_path makes the file name 300 bytes"):
            await curate.dsp_car(rec.base, tmp_path / ("z" * 300))  # refused by the client
        # 250 characters pass the client, but the target's files would be longer: the hub says so
        with pytest.raises(
            InvalidArgument, match=r"target_path makes the file name \d+ bytes"
        ) as info:
            await curate.dsp_car(rec.base, tmp_path / ("z" * 250))
        assert info.value.status == "INVALID_ARGUMENT"
        with pytest.raises(InvalidArgument, match="source_path makes the file name"):
            await curate.dsp_car(tmp_path / ("s" * 250), tmp_path / "out")
    await _hub_serves(address)


async def test_time_decimate_beyond_the_filter_design_limit(
    address: str, rec: CurateRecording, tmp_path: Path
) -> None:
    async with radiens.AsyncCurateClient(address) as curate:
        with pytest.raises(
            InvalidArgument, match=r"in \[2, 10000\] \(the anti-alias filter's"
        ) as info:
            await curate.dsp_time_decimate(10**9, rec.base, tmp_path / "dec")
        assert info.value.status == "INVALID_ARGUMENT"
        short = write_curate_recording(tmp_path, name="short_0", n=1000)
        with pytest.raises(InvalidArgument, match="leaves fewer than 2 of the source's 1000"):
            await curate.dsp_time_decimate(600, short.base, tmp_path / "dec")
        job = await curate.dsp_time_decimate(3, rec.base, tmp_path / "dec3")
        meta = await job
        assert meta.TR.fs == pytest.approx(rec.fs / 3)
    assert not (tmp_path / "dec.xdat.json").exists()  # nothing was written for the refusals
    await _hub_serves(address)


def test_sync_spot_checks(address: str, tmp_path: Path) -> None:
    with radiens.AllegoClient(address) as allego:
        with pytest.raises(InvalidArgument, match="num_channels"):
            allego.restart("sim-spikes", num_channels=10**12)
        assert allego.get_status().system_mode is not None
    with radiens.VidereClient(address) as videre:
        with pytest.raises(RemoteError) as info:
            videre.link_data_file("/")
        assert isinstance(info.value, InvalidArgument)
