"""Fixtures for the XDAT tests."""

from __future__ import annotations

import pytest
from xdat_fixtures import Recording, write_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """A recording of every signal type written in many blocks (written once per module)."""
    return write_recording(tmp_path_factory.mktemp("xdat"))
