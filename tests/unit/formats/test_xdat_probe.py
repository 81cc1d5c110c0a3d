"""The amplifier sites export as a probeinterface probe with the stored geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from xdat_fixtures import Recording, make_channels, write_recording

from radiens_async.errors import FormatError
from radiens_async.formats.xdat import XdatChannel, XdatReader

pytest.importorskip("probeinterface")


def test_single_probe(recording: Recording) -> None:
    from probeinterface import Probe

    with XdatReader(recording.base) as reader:
        probe = reader.to_probeinterface()
    assert isinstance(probe, Probe)
    amp = [ch for ch in recording.channels if ch.signal_type == "amp"]
    assert list(probe.contact_ids) == [ch.ntv_name for ch in amp]
    np.testing.assert_array_equal(
        probe.contact_positions, [[ch.site_x_um, ch.site_y_um] for ch in amp]
    )
    assert probe.contact_positions[3].tolist() == [30.0, 25.0]
    assert list(probe.device_channel_indices) == list(range(len(amp)))
    assert list(probe.shank_ids) == [str(ch.shank) for ch in amp]
    assert set(probe.contact_shapes) == {"circle"}
    assert probe.contact_shape_params[0]["radius"] == pytest.approx(np.sqrt(177.0 / np.pi))
    assert probe.si_units == "um" and probe.model_name == "A1x8-0"


def test_two_probes_make_a_group(tmp_path: Path) -> None:
    from probeinterface import ProbeGroup

    chans = make_channels(n_amp=8, n_ain=1, n_din=0, n_dout=0, probes=2)
    # put the analog-in first so device channel indices are not just positions
    chans = [chans[-1], *chans[:-1]]
    rec = write_recording(tmp_path, name="two_0", n=100, channels=chans)
    with XdatReader(rec.base) as reader:
        group = reader.to_probeinterface()
    assert isinstance(group, ProbeGroup)
    assert len(group.probes) == 2
    assert [list(p.contact_ids) for p in group.probes] == [
        [f"A-{i:03d}" for i in range(4)],
        [f"A-{i:03d}" for i in range(4, 8)],
    ]
    assert list(group.probes[1].device_channel_indices) == [5, 6, 7, 8]
    assert group.probes[1].contact_positions[0].tolist() == [1000.0, 50.0]


def test_missing_geometry_is_a_format_error(tmp_path: Path) -> None:
    chans = [XdatChannel(name="A-000", ntv_name="A-000", signal_type="amp")]
    rec = write_recording(tmp_path, name="bare_0", n=10, channels=chans)
    with XdatReader(rec.base) as reader, pytest.raises(FormatError, match="no site_x/site_y"):
        reader.to_probeinterface()
