"""Bad files give a FormatError naming the problem; bad writer targets fail, creating nothing."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from xdat_fixtures import FS, Recording, make_channels, write_recording

from radiens_async.errors import FormatError
from radiens_async.formats import xdat_writer
from radiens_async.formats.xdat import XdatChannel, XdatReader, XdatWriter, xdat_paths


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    return write_recording(tmp_path_factory.mktemp("small"), name="small_0", n=500)


def copy_set(rec: Recording, directory: Path) -> Path:
    for path in xdat_paths(rec.base):
        shutil.copy(path, directory / path.name)
    return directory / rec.base.name


# ------------------------------------------------------------------ explicit reader errors
def test_missing_json(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=r"nothing_0\.xdat\.json: metadata file not found"):
        XdatReader(tmp_path / "nothing_0")


@pytest.mark.parametrize("which", ["data", "timestamp"])
def test_missing_binary(small: Recording, tmp_path: Path, which: str) -> None:
    base = copy_set(small, tmp_path)
    target = getattr(xdat_paths(base), which)
    target.unlink()
    with pytest.raises(FormatError, match=f"{target.name}: {which} file not found"):
        XdatReader(base)


@pytest.mark.parametrize("which", ["data", "timestamp"])
def test_truncated_binary(small: Recording, tmp_path: Path, which: str) -> None:
    base = copy_set(small, tmp_path)
    target = getattr(xdat_paths(base), which)
    os.truncate(target, target.stat().st_size - 1)
    with pytest.raises(FormatError, match=f"{target.name}: {which} file is truncated"):
        XdatReader(base)


def edit_json(base: Path, edit: Any) -> None:
    path = xdat_paths(base).json
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["status"].update(shape=[500, 13]),
            r"biointerface_map\.chan_name has 14 entries, status\.shape says 13",
        ),
        (lambda d: d["status"].update(shape=[600, 14]), r"data file is truncated"),
        (lambda d: d["status"].update(shape=[500]), r"status\.shape must be a list of 2 integers"),
        (lambda d: d["status"].update(samp_freq=0), r"status\.samp_freq must be a positive"),
        (lambda d: d["status"].update(samp_freq=-30000.0), r"samp_freq must be a positive"),
        (lambda d: d["status"].update(samp_freq="30000"), r"samp_freq must be a positive"),
        (lambda d: d["status"].pop("t_range"), r"missing key status\.t_range"),
        (lambda d: d["status"].update(t_range=[2.0, 1.0]), r"t_stop < t_start"),
        (
            lambda d: d["status"].update(timestamp_range=[0, 499]),
            r"holds sample indices 123457\.\.123956 but .* says status\.timestamp_range",
        ),
        (lambda d: d["status"].update(start_time="yesterday"), r"start_time must be ISO 8601"),
        (lambda d: d["status"].update(start_time="2024-07-01T13:04:49"), r"no UTC offset"),
        (lambda d: d.pop("sapiens_base"), r"missing key sapiens_base"),
        (
            lambda d: d["sapiens_base"]["biointerface_map"]["chan_type"].pop(),
            r"chan_type has 13 entries",
        ),
        (
            lambda d: d["sapiens_base"]["biointerface_map"]["site_x"].__setitem__(0, "left"),
            r"site_x\[0\] must be finite numbers or null",
        ),
        (
            lambda d: d["sapiens_base"]["biointerface_map"]["sig_type"].__setitem__(0, "din"),
            r"channel 0: .*sig_type 'din' disagrees with chan_type 'ai0'",
        ),
    ],
)
def test_bad_metadata(small: Recording, tmp_path: Path, edit: Any, message: str) -> None:
    base = copy_set(small, tmp_path)
    edit_json(base, edit)
    with pytest.raises(FormatError, match=message):
        XdatReader(base)


@pytest.mark.parametrize("text", [b"", b"{", b"\xff\xfe\x00garbage", b"[1, 2]", b"null"])
def test_not_a_metadata_document(small: Recording, tmp_path: Path, text: bytes) -> None:
    base = copy_set(small, tmp_path)
    xdat_paths(base).json.write_bytes(text)
    with pytest.raises(FormatError, match=r"small_0\.xdat\.json: "):
        XdatReader(base)


# ------------------------------------------------------------------ mutation fuzzing
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def all_paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from all_paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc[:3]):  # a few elements are enough
            yield (*prefix, i)
            yield from all_paths(value, (*prefix, i))


def mutate(doc: Any, data: st.DataObject) -> None:
    paths = list(all_paths(doc))
    for _ in range(data.draw(st.integers(1, 3), label="n_mutations")):
        path = data.draw(st.sampled_from(paths), label="path")
        holder = doc
        try:
            for key in path[:-1]:
                holder = holder[key]
            op = data.draw(st.sampled_from(["delete", "replace", "shorten", "lengthen"]))
            value = holder[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
        if op == "delete":
            del holder[path[-1]]
        elif op == "replace":
            holder[path[-1]] = data.draw(JSON_VALUES, label="value")
        elif op == "shorten" and isinstance(value, list) and value:
            value.pop()
        elif op == "lengthen" and isinstance(value, list):
            value.append(data.draw(JSON_VALUES, label="extra"))
        else:
            holder[path[-1]] = data.draw(JSON_VALUES, label="value")


def open_and_use(base: Path) -> None:
    with XdatReader(base) as reader:
        out = reader.read()
        assert out.shape == (reader.n_channels, reader.n_samples)
        assert len(reader.timestamps) == reader.n_samples
        reader.metadata.to_json_dict()
        if reader.n_samples:
            reader.read(0, 1, channels=[reader.n_channels - 1], layout="sample_major")
        with contextlib.suppress(FormatError):
            reader.to_probeinterface()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_files_open_or_raise_format_error(small: Recording, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = copy_set(small, Path(tmp))
        paths = xdat_paths(base)
        kind = data.draw(st.sampled_from(["json", "json", "json", "json_bytes", "binary"]))
        if kind == "json":
            doc = json.loads(paths.json.read_text())
            mutate(doc, data)
            paths.json.write_text(json.dumps(doc))
        elif kind == "json_bytes":
            raw = paths.json.read_bytes()
            cut = data.draw(st.integers(0, len(raw)), label="cut")
            noise = data.draw(st.binary(max_size=20), label="noise")
            paths.json.write_bytes(raw[:cut] + noise)
        else:
            target = data.draw(st.sampled_from([paths.data, paths.timestamp]))
            size = target.stat().st_size
            os.truncate(target, data.draw(st.integers(0, size), label="size"))
        try:
            open_and_use(base)
            event("opened")
        except FormatError:
            event("FormatError")


# ------------------------------------------------------------------ writer targets
def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_writer_refuses_existing_set_and_leaves_it_alone(small: Recording, tmp_path: Path) -> None:
    base = copy_set(small, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for target in (base, base.with_suffix(".xdat"), xdat_paths(base).json):
        with pytest.raises(FileExistsError, match="never overwritten"):
            XdatWriter(target, FS, make_channels())
    xdat_paths(base).data.unlink()  # any one file of the set is enough to refuse
    with pytest.raises(FileExistsError):
        XdatWriter(base, FS, make_channels())
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    del before[xdat_paths(base).data.name]
    assert after == before


def test_writer_refuses_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        XdatWriter(tmp_path / "nope" / "rec_0", FS, make_channels())
    assert listing(tmp_path) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        XdatWriter(tmp_path / "file" / "rec_0", FS, make_channels())


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_writer_refuses_unwritable_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(PermissionError, match="not writable"):
        XdatWriter(locked / "rec_0", FS, make_channels())
    assert listing(locked) == []


@pytest.mark.parametrize("name", ["", ".xdat", ".xdat.json", "a.b", "rec.v2"])
def test_writer_refuses_bad_base_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="base name"):
        XdatWriter(tmp_path / name if name else str(tmp_path) + "/", FS, make_channels())
    assert listing(tmp_path) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fs": 0.0}, "fs must be"),
        ({"fs": float("nan")}, "fs must be"),
        ({"channels": []}, "non-empty"),
        ({"first_sample": -1}, "first_sample"),
        ({"flush_interval_s": 0}, "flush_interval_s"),
        ({"start_time": __import__("datetime").datetime(2024, 1, 1)}, "timezone-aware"),
        ({"extras": {"note": object()}}, "JSON-serialisable"),
    ],
)
def test_writer_refuses_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"fs": FS, "channels": make_channels(), **kwargs}
    with pytest.raises(ValueError, match=message):
        XdatWriter(tmp_path / "rec_0", **args)
    assert listing(tmp_path) == []


def test_channel_type_code_must_match_signal_type() -> None:
    with pytest.raises(ValueError, match="reads as 'din'"):
        XdatChannel(name="x", ntv_name="x", signal_type="amp", chan_type="din0")


def test_writer_leaves_only_the_three_files(tmp_path: Path) -> None:
    with XdatWriter(tmp_path / "rec_0", FS, make_channels(2, 0, 0, 0)) as writer:
        writer.append(np.zeros((2, 10), np.float32))
        writer.flush()
    assert listing(tmp_path) == ["rec_0.xdat.json", "rec_0_data.xdat", "rec_0_timestamp.xdat"]


def test_writer_refuses_unwritable_directory_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_access = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        return False if Path(path) == tmp_path else real_access(path, mode, **kwargs)

    monkeypatch.setattr(xdat_writer.os, "access", access)
    with pytest.raises(PermissionError, match="not writable"):
        XdatWriter(tmp_path / "rec_0", FS, make_channels())
    assert listing(tmp_path) == []


@pytest.mark.parametrize("fail_on", ["_timestamp.xdat", ".xdat.json.partial"])
def test_a_failure_while_creating_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_on: str
) -> None:
    """Files created before the failing one are removed again (e.g. EACCES, EROFS, ENOSPC)."""
    real_open = os.open

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith(fail_on):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(xdat_writer.os, "open", open_)
    with pytest.raises(PermissionError):
        XdatWriter(tmp_path / "rec_0", FS, make_channels())
    monkeypatch.undo()
    assert listing(tmp_path) == []


def test_writer_refuses_a_set_created_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The binaries are created exclusively: a racing writer never clobbers the other's files."""
    real_check = xdat_writer._check_target

    def check_then_race(path_base: Any) -> Any:
        paths = real_check(path_base)
        paths.timestamp.write_bytes(b"theirs")
        return paths

    monkeypatch.setattr(xdat_writer, "_check_target", check_then_race)
    with pytest.raises(FileExistsError):
        XdatWriter(tmp_path / "rec_0", FS, make_channels())
    assert listing(tmp_path) == ["rec_0_timestamp.xdat"]
    assert (tmp_path / "rec_0_timestamp.xdat").read_bytes() == b"theirs"


def test_negative_and_out_of_range_read_indices(small: Recording) -> None:
    with XdatReader(small.base) as reader:
        with pytest.raises(ValueError, match=r"window \[-1, 10\) is outside"):
            reader.read(-1, 10)
        with pytest.raises(ValueError, match="outside"):
            reader.read(0, -1)
        with pytest.raises(ValueError, match=r"channel indices must be in \[0, 14\), got -1"):
            reader.read(0, 10, [-1, 2])
        with pytest.raises(ValueError, match="outside"):
            reader.read(time_range=(reader.time_range[0] - 0.01, reader.time_range[0]))


def test_trailing_bytes_beyond_the_metadata_are_ignored(small: Recording, tmp_path: Path) -> None:
    """A writer killed mid-write leaves more data than described, maybe a partial sample."""
    base = copy_set(small, tmp_path)
    paths = xdat_paths(base)
    with open(paths.data, "ab") as f:
        f.write(b"\x01" * (14 * 4 * 3 + 5))
    with open(paths.timestamp, "ab") as f:
        # a killed write stops at a page boundary: whole int64s (neo maps the file whole)
        f.write(b"\x02" * 16)

    from neo.rawio import NeuroNexusRawIO

    io = NeuroNexusRawIO(filename=str(paths.json))
    io.parse_header()
    assert io.get_signal_size(0, 0, 0) == 500
    with open(paths.timestamp, "ab") as f:
        f.write(b"\x03" * 5)  # our reader copes even with a partial timestamp
    with XdatReader(base) as reader:
        assert reader.n_samples == 500
        np.testing.assert_array_equal(reader.read(), small.data)
        assert len(reader.timestamps) == 500
