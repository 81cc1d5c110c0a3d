"""Typed refusals before anything is sent (issue 15, deliverable 6).

Every client method here validates its arguments before it connects, so the tests point the
clients at a closed port: a refusal proves nothing went on the wire (a connection attempt would
end in ``ConnectError`` instead).
"""

from __future__ import annotations

import contextlib
import errno
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

import radiens_async as radiens
from radiens_async.client.base import AsyncHubClient
from radiens_async.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from radiens_async.formats.xdat import XdatChannel
from radiens_async.formats.xdat_metadata import XdatMetadata
from radiens_async.hub.daq.recording_config import RecordingConfig
from radiens_async.hub.jobs.dsp_ops import MAX_DECIMATION_FACTOR, Decimate, plan_for
from radiens_async.models.argument_checks import (
    INT32_MAX,
    INT64_MAX,
    WrongType,
    check_bool,
    check_float,
    check_int,
    check_int_list,
    check_name_length,
    check_optional_int,
    check_str,
    os_error_to_typed,
)

NOWHERE = "127.0.0.1:1"  # nothing listens: any call that reached the network would fail there
pytestmark = pytest.mark.anyio

HUGE = [2**70, -(2**70), 2**63, -(2**63) - 1]
NOT_NUMBERS: list[Any] = [None, True, False, "3", math.nan, math.inf, -math.inf]
BAD: dict[str, list[Any]] = {  # what each kind of parameter refuses
    "int": [*NOT_NUMBERS, *HUGE, 1.5],
    "optional_int": [True, "3", math.nan, math.inf, *HUGE, 1.5],  # None: the default
    "float": [*NOT_NUMBERS, 10**400],
    "bool": [None, 0, 1, "yes", math.nan],
    "str": [None, 3, True, "", "a\0b"],
    "mode": [None, True, 2**70, -1, 1.5, b"sim"],
}


def _cases(table: dict[str, tuple[str, Any]]) -> list[Any]:
    return [
        pytest.param(name, value, id=f"{name}-{value!r:.20}")
        for name, (kind, _) in sorted(table.items())
        for value in BAD[kind]
    ]


# ------------------------------------------------------------------------- the checks
@pytest.mark.parametrize("value", [None, True, False, 1.0, "1", 2**63, -(2**63) - 1])
def test_check_int_refuses_what_an_int64_cannot_carry(value: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"^n must be an int >= -9223372036854775808"):
        check_int("n", value)


def test_type_refusals_are_also_type_errors_and_numpy_numbers_pass() -> None:
    with pytest.raises(TypeError):  # code that caught TypeError (restart(None)) still does
        check_int("n", None)
    with pytest.raises(WrongType):
        check_float("x", "1")
    assert check_int("n", np.int64(7), low=0) == 7
    assert type(check_int("n", np.int32(7))) is int
    assert check_float("x", np.float32(0.5)) == 0.5
    with pytest.raises(WrongType):
        check_int("n", np.bool_(True))


def test_check_int_bounds_and_wire_width() -> None:
    assert check_int("n", INT64_MAX) == INT64_MAX
    assert check_int("n", INT32_MAX, bits=32) == INT32_MAX
    with pytest.raises(
        InvalidArgument, match=r"n must be an int >= 0 and <= 2147483647, got 2147483648"
    ):
        check_int("n", 2**31, low=0, bits=32)
    with pytest.raises(InvalidArgument, match=r"trigger must be an int in \[1, 8\], got 0"):
        check_int("trigger", 0, low=1, high=8)
    assert check_optional_int("seed", None) is None
    assert check_optional_int("seed", 7, low=0) == 7


@pytest.mark.parametrize("value", [None, True, "1.0", math.nan, math.inf, -math.inf, 10**400])
def test_check_float_refuses_non_finite_and_non_numbers(value: Any) -> None:
    with pytest.raises(InvalidArgument, match=r"^x must be a finite number in \[0, inf\] Hz"):
        check_float("x", value, low=0, unit="Hz")


def test_check_float_open_low_bound() -> None:
    assert check_float("d", 2, low=0, low_open=True) == 2.0
    with pytest.raises(InvalidArgument, match=r"d must be a finite number in \(0, 60\] s, got 0"):
        check_float("d", 0, low=0, high=60, low_open=True, unit="s")
    with pytest.raises(InvalidArgument, match=r"got -1"):
        check_float("d", -1, low=0)


def test_check_bool_str_and_lists() -> None:
    assert check_bool("force", True) is True
    with pytest.raises(InvalidArgument, match="force must be True or False, got 1"):
        check_bool("force", 1)
    assert check_str("name", "rec") == "rec"
    for bad, message in [(None, "must be a str"), ("  ", "must not be empty"), ("a\0b", "NUL")]:
        with pytest.raises(InvalidArgument, match=message):
            check_str("name", bad)
    with pytest.raises(InvalidArgument, match="at most 5 characters, got 6"):
        check_str("name", "abcdef", max_len=5)
    assert check_int_list("ch", [1, 2]) == [1, 2]
    assert check_int_list("ch", None) == []
    with pytest.raises(InvalidArgument, match=r"ch\[1\] must be an int"):
        check_int_list("ch", [1, None])
    with pytest.raises(InvalidArgument, match="must be a sequence of ints"):
        check_int_list("ch", "12")


def test_check_name_length() -> None:
    check_name_length("base", "x" * 240, longest_suffix="_timestamp.xdat")  # 255: fits
    with pytest.raises(InvalidArgument, match=r"256 bytes long .* limited to 255 bytes \(shorten"):
        check_name_length("base", "x" * 241, longest_suffix="_timestamp.xdat")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file", "/a"), NotFound),
        (FileExistsError(errno.EEXIST, "exists", "/a"), AlreadyExists),
        (OSError(errno.ENAMETOOLONG, "File name too long", "/" + "a" * 300), InvalidArgument),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/"), InvalidArgument),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/f/x"), InvalidArgument),
        (PermissionError(errno.EACCES, "Permission denied", "/root/x"), FailedPrecondition),
        (OSError(errno.EROFS, "Read-only file system", "/ro"), FailedPrecondition),
        (OSError(errno.ENOSPC, "No space left on device", "/full"), ResourceExhausted),
        (OSError(errno.EIO, "I/O error", "/bad"), FailedPrecondition),
    ],
)
def test_os_errors_map_to_typed_errors_by_cause(exc: OSError, expected: type) -> None:
    typed = os_error_to_typed(exc, "write the target")
    assert type(typed) is expected
    assert str(typed).startswith("cannot write the target: ")
    assert str(exc.filename) in str(typed)


# ------------------------------------------------------------------- hub-side checks
def test_recording_config_refuses_a_base_name_no_file_system_takes(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"base name makes the file name .* limited to 255"):
        RecordingConfig.checked(str(tmp_path), "x" * 300, 0, True)
    ok = RecordingConfig.checked(str(tmp_path), "x" * 200, 0, True)
    assert ok.base_name == "x" * 200


def _metadata(n_samples: int, fs: float = 30000.0) -> XdatMetadata:
    ch = XdatChannel(name="A-000", ntv_name="A-000", signal_type="amp")
    return XdatMetadata(
        fs=fs,
        n_samples=n_samples,
        n_channels=1,
        t_range=(0.0, n_samples / fs),
        timestamp_range=(0, n_samples - 1),
        start_time=datetime(2024, 7, 1, tzinfo=UTC),
        channels=[ch],
    )


@pytest.mark.parametrize(
    ("factor", "n", "message"),
    [
        (10**9, 10**10, rf"in \[2, {MAX_DECIMATION_FACTOR}\] \(the anti-alias filter's design"),
        (MAX_DECIMATION_FACTOR + 1, 10**9, "design limit"),
        (600, 1000, r"leaves fewer than 2 of the source's 1000 samples .* use at most 500"),
        (1, 1000, "integer >= 2"),
    ],
)
def test_time_decimate_is_refused_up_front(factor: int, n: int, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        plan_for(Decimate(factor), _metadata(n))


def test_time_decimate_at_its_bounds_plans() -> None:
    assert plan_for(Decimate(500), _metadata(1000)).out_fs == pytest.approx(60.0)
    plan = plan_for(Decimate(MAX_DECIMATION_FACTOR), _metadata(10**6))
    assert plan.factor == MAX_DECIMATION_FACTOR


# ------------------------------------------------------ client methods refuse before sending
C = TypeVar("C", bound=AsyncHubClient)


@contextlib.asynccontextmanager
async def _unopened(client: C) -> AsyncIterator[C]:
    """The client, never connected (``async with client`` would connect), closed after."""
    try:
        yield client
    finally:
        await client.aclose()


async def _drain(agen: Any) -> None:
    async for _ in agen:
        break


ALLEGO_CALLS: dict[str, tuple[str, Any]] = {
    "restart.mode": ("mode", lambda a, v: a.restart(v)),
    "restart.seed": ("optional_int", lambda a, v: a.restart("sim-spikes", seed=v)),
    "restart.num_channels": ("optional_int", lambda a, v: a.restart("sim-spikes", num_channels=v)),
    "set_recording_config.idx": ("int", lambda a, v: a.set_recording_config("/tmp", "rec", v)),
    "set_recording_config.name": ("str", lambda a, v: a.set_recording_config("/tmp", v, 0)),
    "set_recording_config.path": ("str", lambda a, v: a.set_recording_config(v, "rec", 0)),
    "set_recording_config.ts": ("bool", lambda a, v: a.set_recording_config("/tmp", "r", 0, v)),
    "set_sampling_freq": ("float", lambda a, v: a.set_sampling_freq(v)),
    "get_signals": ("int", lambda a, v: a.get_signals(max_samples=v)),
    "stream_signals.channels": ("int", lambda a, v: _drain(a.stream_signals(channels=[v]))),
    "stream_signals.max_chunk": ("int", lambda a, v: _drain(a.stream_signals(max_chunk_samples=v))),
    "stream_signals.max_lag_s": ("float", lambda a, v: _drain(a.stream_signals(max_lag_s=v))),
    "get_ground_truth.start": ("int", lambda a, v: a.get_ground_truth(v, 0)),
    "get_ground_truth.stop": ("int", lambda a, v: a.get_ground_truth(0, v)),
    "set_manual_stim_trigger": ("int", lambda a, v: a.set_manual_stim_trigger(v)),
    "set_digital_out_manual": ("bool", lambda a, v: a.set_digital_out_manual(v, False)),
    "set_analog_out_high_pass": ("float", lambda a, v: a.set_analog_out_high_pass(v)),
    "set_analog_out_high_pass.enable": ("bool", lambda a, v: a.set_analog_out_high_pass(1, v)),
    "set_sensor.headstage": ("str", lambda a, v: a.set_sensor("A", v, "4x8-32")),
}


@pytest.mark.parametrize(("method", "value"), _cases(ALLEGO_CALLS))
async def test_allego_methods_refuse_bad_values_before_sending(method: str, value: Any) -> None:
    async with _unopened(radiens.AsyncAllegoClient(NOWHERE, protocol="hub")) as allego:
        with pytest.raises(InvalidArgument):
            await ALLEGO_CALLS[method][1](allego, value)


@pytest.mark.parametrize("start", [None, True, -1, 2**63, 1.5, "middle"])
async def test_stream_signals_start_is_head_oldest_or_a_sample(start: Any) -> None:
    async with _unopened(radiens.AsyncAllegoClient(NOWHERE, protocol="hub")) as allego:
        with pytest.raises(InvalidArgument, match=r"^start"):
            await _drain(allego.stream_signals(start=start))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda a: a.restart("sim-spikes", num_channels=10**12),
            r"num_channels must be an int >= 1 and <= 2147483647",
        ),
        (
            lambda a: a.restart("sim-spikes", seed=2**70),
            r"seed must be an int >= 0 and <= 9223372036854775807",
        ),
        (lambda a: a.restart(None), r"mode must be a SystemMode"),
        (lambda a: a.restart("sim-spikes", seed=-1), r"seed must be an int >= 0"),
        (lambda a: a.get_signals(max_samples=-1), r"max_samples must be an int >= 0"),
        (
            lambda a: _drain(a.stream_signals(start=2**63)),
            r"start \(from_sample\) must be an int >= 0",
        ),
        (
            lambda a: _drain(a.stream_signals(max_lag_s=math.nan)),
            r"max_lag_s must be a finite number in \(0, 60\] s",
        ),
        (
            lambda a: a.set_recording_config("/tmp", "x" * 300, 0),
            r"datasource_name makes the file name",
        ),
        (
            lambda a: a.set_recording_config("/tmp", "rec", 0, None),
            r"is_time_stamp must be True or False",
        ),
        (lambda a: a.set_manual_stim_trigger(9), r"keypress trigger\) must be an int in \[1, 8\]"),
    ],
)
async def test_allego_refusals_name_the_parameter_and_range(call: Any, message: str) -> None:
    async with _unopened(radiens.AsyncAllegoClient(NOWHERE, protocol="hub")) as allego:
        with pytest.raises(InvalidArgument, match=message):
            await call(allego)


VIDERE_CALLS: dict[str, tuple[str, Any]] = {
    "link_data_file.path": ("str", lambda v, x: v.link_data_file(x)),
    "link_data_file.force": ("bool", lambda v, x: v.link_data_file("/tmp/a.xdat", force=x)),
    "link_data_file.calc_metrics": (
        "bool",
        lambda v, x: v.link_data_file("/tmp/a.xdat", calc_metrics=x),
    ),
    "get_data_file_metadata.idx": ("int", lambda v, x: v.get_data_file_metadata(dataset_idx=x)),
    "summa_launch.bin_dur_sec": (
        "float",
        lambda v, x: v.summa_launch_session_analysis("s", ["a"], x),
    ),
    "summa_launch.dataset_ids": ("str", lambda v, x: v.summa_launch_session_analysis("s", [x])),
    "list_dir.sort_by": ("str", lambda v, x: v.list_dir("/tmp", sort_by=x)),
}


@pytest.mark.parametrize(("method", "value"), _cases(VIDERE_CALLS))
async def test_videre_methods_refuse_bad_values_before_sending(method: str, value: Any) -> None:
    async with _unopened(radiens.AsyncVidereClient(NOWHERE)) as videre:
        with pytest.raises(InvalidArgument):
            await VIDERE_CALLS[method][1](videre, value)


CURATE_CALLS: dict[str, tuple[str, Any]] = {
    "dsp_low_pass_filter": ("float", lambda c, x: c.dsp_low_pass_filter(x, "/tmp/a", "/tmp/b")),
    "dsp_band_pass_filter": (
        "float",
        lambda c, x: c.dsp_band_pass_filter(x, 100, "/tmp/a", "/tmp/b"),
    ),
    "dsp_notch_filter": ("float", lambda c, x: c.dsp_notch_filter(60, x, "/tmp/a", "/tmp/b")),
    "dsp_paired_diff": ("int", lambda c, x: c.dsp_paired_diff(x, 1, "/tmp/a", "/tmp/b")),
    "dsp_virtual_ref": ("int", lambda c, x: c.dsp_virtual_ref(x, "/tmp/a", "/tmp/b")),
    "dsp_time_decimate": ("int", lambda c, x: c.dsp_time_decimate(x, "/tmp/a", "/tmp/b")),
    "dsp_slice_time": ("float", lambda c, x: c.dsp_slice_time(0, x, "/tmp/a", "/tmp/b")),
    "dsp_slice_channels": ("int", lambda c, x: c.dsp_slice_channels([x], "/tmp/a", "/tmp/b")),
    "dsp_car.force": ("bool", lambda c, x: c.dsp_car("/tmp/a", "/tmp/b", force=x)),
    "dsp_car.target": ("str", lambda c, x: c.dsp_car("/tmp/a", x)),
    "file_convert.force": ("bool", lambda c, x: c.file_convert("/tmp/a", "/tmp/b.nwb", force=x)),
    "get_job": ("str", lambda c, x: c.get_job(x)),
}


@pytest.mark.parametrize(("method", "value"), _cases(CURATE_CALLS))
async def test_curate_methods_refuse_bad_values_before_sending(method: str, value: Any) -> None:
    async with _unopened(radiens.AsyncCurateClient(NOWHERE)) as curate:
        with pytest.raises(InvalidArgument):
            await CURATE_CALLS[method][1](curate, value)


async def test_curate_refuses_a_target_name_no_file_system_takes() -> None:
    async with _unopened(radiens.AsyncCurateClient(NOWHERE)) as curate:
        with pytest.raises(InvalidArgument, match=r"target_path makes the file name 300 bytes"):
            await curate.dsp_car("/tmp/a", "/tmp/" + "x" * 300)


def test_sync_twins_refuse_the_same_way() -> None:
    allego = radiens.AllegoClient(NOWHERE)  # not entered: entering would connect
    curate = radiens.CurateClient(NOWHERE)
    try:
        with pytest.raises(InvalidArgument, match="num_channels must be an int"):
            allego.restart("sim-spikes", num_channels=10**12)
        with pytest.raises(InvalidArgument, match="mode must be a SystemMode"):
            allego.restart(None)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match=r"decimate must be an int >= 2"):
            curate.dsp_time_decimate(1, "/tmp/a", "/tmp/b")
    finally:
        allego.close()
        curate.close()
