"""Workspace files: export writes atomically and refuses what it should; import checks them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radiens_async.errors import AlreadyExists, FormatError, InvalidArgument, NotFound
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.store import HubStore
from radiens_async.hub.workspaces import Workspaces
from radiens_async.hub.workspaces.workspace_files import (
    FILE_FORMAT,
    export_workspace,
    import_workspace,
)


@pytest.fixture
def workspaces(tmp_path: Path) -> Workspaces:
    return Workspaces(HubStore(tmp_path / "store"), AllegoDevice())


def test_export_then_import_round_trips_the_saved_state(
    workspaces: Workspaces, tmp_path: Path
) -> None:
    workspaces.device.set_sampling_freq(2000)
    saved = workspaces.save("rig", tags="mouse-7", notes="baseline")
    path = export_workspace(workspaces, None, str(tmp_path / "rig.json"))  # the current one
    doc = json.loads(path.read_text())
    assert doc["format"] == FILE_FORMAT and doc["id"] == "rig"
    assert doc["snapshot"] == workspaces.row("rig").snapshot
    info = import_workspace(workspaces, str(path), "rig_copy")
    assert (info.id, info.tags, info.notes) == ("rig_copy", saved.tags, saved.notes)
    assert workspaces.current() is not None and workspaces.current().id == "rig"  # no switch
    workspaces.device.set_sampling_freq(30000)
    workspaces.switch("rig_copy")
    assert workspaces.device.fs == 2000


def test_export_refusals_leave_nothing_behind(workspaces: Workspaces, tmp_path: Path) -> None:
    workspaces.save("rig")
    target = tmp_path / "rig.json"
    target.write_text("keep me")
    with pytest.raises(AlreadyExists):
        export_workspace(workspaces, "rig", str(target))
    assert target.read_text() == "keep me"
    with pytest.raises(InvalidArgument, match="absolute"):
        export_workspace(workspaces, "rig", "relative.json")
    with pytest.raises(InvalidArgument, match="directory"):
        export_workspace(workspaces, "rig", str(tmp_path))
    with pytest.raises(NotFound):
        export_workspace(workspaces, "rig", str(tmp_path / "missing" / "rig.json"))
    with pytest.raises(NotFound):
        export_workspace(workspaces, "no_such", str(tmp_path / "x.json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rig.json", "store"]
    export_workspace(workspaces, "rig", str(target), force=True)
    assert json.loads(target.read_text())["id"] == "rig"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("not json", "not a workspace file"),
        ("[]", FILE_FORMAT),
        ('{"format": "x"}', FILE_FORMAT),
        (json.dumps({"format": FILE_FORMAT, "version": 2}), "version"),
        (
            json.dumps(
                {"format": FILE_FORMAT, "version": 1, "id": "a", "tags": "", "notes": "",
                 "snapshot": {}, "app": "VIDERE"}
            ),
            "not Allego",
        ),
        (
            json.dumps(
                {"format": FILE_FORMAT, "version": 1, "id": "a", "tags": "", "notes": "",
                 "snapshot": {"sampling_freq": "fast"}, "app": "ALLEGO"}
            ),
            "can restore",
        ),
    ],
)  # fmt: skip
def test_import_refuses_what_is_not_a_workspace(
    workspaces: Workspaces, tmp_path: Path, content: str, match: str
) -> None:
    path = tmp_path / "in.json"
    path.write_text(content)
    with pytest.raises(FormatError, match=match):
        import_workspace(workspaces, str(path), "w")
    assert workspaces.list() == []


def test_import_of_an_existing_id_needs_force(workspaces: Workspaces, tmp_path: Path) -> None:
    workspaces.save("rig", notes="old")
    path = export_workspace(workspaces, "rig", str(tmp_path / "rig.json"))
    with pytest.raises(AlreadyExists):
        import_workspace(workspaces, str(path))
    with pytest.raises(AlreadyExists):
        import_workspace(workspaces, str(path), "RIG")  # differs in case only
    assert import_workspace(workspaces, str(path), force=True).id == "rig"
    with pytest.raises(NotFound):
        import_workspace(workspaces, str(tmp_path / "none.json"))
