"""Constants and the public ``radiens_async.utils`` surface."""

from __future__ import annotations

import radiens_async.utils as utils
from radiens_async.utils import constants


def test_documented_constants() -> None:
    assert constants.DEFAULT_HUB == "default"
    assert constants.PRIMARY_CACHE_STREAM_GROUP_ID == "Live Signals"
    assert constants.SPIKE_SORTER_ID == "Live Signals"
    assert constants.SORTER_SINK_ID == "sorter-sink:primary_cache"
    assert constants.DEFAULT_HUB_PORT == 50150
    assert constants.LIVE_CLIENT_COMPONENT_ID == "allego_python_client"
    assert (constants.HEADSTAGE_ID_PREFIX, constants.PROBE_ID_PREFIX) == ("hstg__", "probe__")
    assert (constants.SITE_NUM_UNSET, constants.COLOR_GROUP_IDX_UNSET) == (-23, 2147483647)
    assert constants.PORT_LETTERS == ("A", "B", "C", "D", "E", "F", "G", "H")


def test_valid_sampling_freqs_are_the_18_documented_rates() -> None:
    freqs = constants.VALID_SAMPLING_FREQS
    assert isinstance(freqs, tuple)
    assert freqs == (
        625, 1000, 1250, 1500, 2000, 2500, 3000, 3333, 4000, 5000, 6250, 8000, 10000, 12500,
        15000, 20000, 25000, 30000,
    )  # fmt: skip
    assert all(type(f) is int for f in freqs)


def test_utils_reexports_its_public_names() -> None:
    for name in utils.__all__:
        assert hasattr(utils, name), name
    assert utils.HEADSTAGE_ALIAS["smart-32"] == "chronic_smartlink_CM32"
    assert utils.PROBE_ALIAS["buz-64"] == "buz64"
    assert utils.SignalType.AMP == 0
    assert utils.DEFAULT_HUB == "default"
    assert utils.constants.DEFAULT_HUB == "default"
    assert utils.enums.SystemMode is utils.SystemMode
