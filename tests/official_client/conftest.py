"""radiens-core's own AllegoClient against a hub on the Radiens ports (``nox -s radiens_core``).

radiens-core (Python >= 3.12) is installed only in that session; elsewhere these tests are not
collected. Its AllegoClient always dials localhost:50051-50055, so one hub serves those ports for
the whole session, and the session refuses to start if they are taken (a real Allego?).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

if importlib.util.find_spec("radiens_core") is None:
    collect_ignore_glob = ["*"]
else:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ["RADIENS_OFFLINE"] = "1"  # no Cognito session, no password prompt

    from radiens_async.hub.radiens.radiens_ports import (
        ALLEGO_BASE_PORT,
        RADIENS_HOST,
        check_ports_free,
    )

    from hub_process import HubProcess

    @pytest.fixture(scope="session")
    def radiens_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
        """A hub serving its own port and the Radiens ports at 50051-50055."""
        check_ports_free(RADIENS_HOST, ALLEGO_BASE_PORT)
        with HubProcess(
            tmp_path_factory.mktemp("radiens_hub"), radiens_base_port=ALLEGO_BASE_PORT
        ) as process:
            yield process
