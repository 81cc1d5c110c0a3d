"""TunedChannel: tuned frames when dependency versions match, stock grpclib otherwise.

No network: protocols are driven with a fake transport and the bytes they write are decoded with
h2 acting as the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import h2.config
import h2.connection
import h2.events
import hyperframe.frame
import pytest
from grpclib.protocol import H2Protocol
from h2.settings import SettingCodes
from hyperframe.frame import DataFrame

from radiens_async.client import tuned_channel
from radiens_async.client.tuned_channel import (
    CONNECTION_WINDOW,
    MAX_FRAME_SIZE,
    MAX_WINDOW,
    MIN_WINDOW,
    STREAM_WINDOW,
    TunedChannel,
    can_tune_frames,
    flow_window_bytes,
    patch_frame_repr,
)

pytestmark = pytest.mark.anyio


class FakeTransport:
    """Collects what a protocol writes; no socket behind it."""

    def __init__(self) -> None:
        self.written = bytearray()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False


def _settings_sent(protocol: H2Protocol) -> dict[int, int]:
    """Connect ``protocol`` to a fake transport; the settings a server would receive from it."""
    transport = FakeTransport()
    protocol.connection_made(transport)
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    server.initiate_connection()
    settings: dict[int, int] = {}
    for event in server.receive_data(bytes(transport.written)):
        if isinstance(event, h2.events.RemoteSettingsChanged):
            settings.update({int(k): v.new_value for k, v in event.changed_settings.items()})
    return settings


@pytest.fixture
def stock_frame_repr(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DataFrame with hyperframe's own repr for the duration of a test."""
    if "_body_repr" in DataFrame.__dict__:
        monkeypatch.delattr(DataFrame, "_body_repr")
    yield


def test_installed_versions_are_the_checked_ones() -> None:
    assert tuned_channel._version_ok("grpclib", tuned_channel._GRPCLIB_CHECKED)
    assert tuned_channel._version_ok("hyperframe", tuned_channel._HYPERFRAME_CHECKED)
    assert can_tune_frames()


def test_version_ok_matches_prefixes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not tuned_channel._version_ok("no-such-distribution-radiens", ("0.4",))
    monkeypatch.setattr(tuned_channel, "version", lambda package: "0.41.0")
    assert not tuned_channel._version_ok("grpclib", ("0.4",))  # 0.41 is not 0.4.x
    monkeypatch.setattr(tuned_channel, "version", lambda package: "0.4")
    assert tuned_channel._version_ok("grpclib", ("0.4",))
    monkeypatch.setattr(tuned_channel, "version", lambda package: "0.4.9")
    assert tuned_channel._version_ok("grpclib", ("0.4",))
    assert not tuned_channel._version_ok("grpclib", ("0.5",))


async def test_tuned_path_advertises_large_frames_and_windows() -> None:
    channel = TunedChannel("127.0.0.1", 1)
    try:
        assert channel.tuned
        protocol = channel._protocol_factory()
        assert isinstance(protocol, tuned_channel._BulkH2Protocol)
        settings = _settings_sent(protocol)
    finally:
        channel.close()
    assert settings[SettingCodes.MAX_FRAME_SIZE] == MAX_FRAME_SIZE
    assert settings[SettingCodes.INITIAL_WINDOW_SIZE] == STREAM_WINDOW
    assert channel._config.http2_connection_window_size == CONNECTION_WINDOW
    assert channel._config.http2_stream_window_size == STREAM_WINDOW


async def test_stock_fallback_when_versions_do_not_match(
    monkeypatch: pytest.MonkeyPatch, stock_frame_repr: None
) -> None:
    monkeypatch.setattr(tuned_channel, "_version_ok", lambda package, checked: False)
    assert not can_tune_frames()
    channel = TunedChannel("127.0.0.1", 1, window=1 << 20)
    try:
        assert not channel.tuned
        protocol = channel._protocol_factory()
        assert type(protocol) is H2Protocol
        settings = _settings_sent(protocol)
    finally:
        channel.close()
    # stock 16 KiB frames, but the window is still ours
    assert settings[SettingCodes.MAX_FRAME_SIZE] == 16384
    assert settings[SettingCodes.INITIAL_WINDOW_SIZE] == 1 << 20
    # and the frame repr is left alone
    assert not patch_frame_repr()
    assert "_body_repr" not in DataFrame.__dict__
    assert "<hex:" in repr(DataFrame(1, data=b"\x00" * 100))


async def test_large_frame_in_the_same_read_as_the_settings_ack() -> None:
    """h2 raises its inbound frame limit only when the hub ACKs our SETTINGS, and checks it once
    per read: a large DATA frame in the same read as the ACK must still be accepted (it used to
    kill streams under load with 'Connection lost')."""
    channel = TunedChannel("127.0.0.1", 1, window=4 << 20)
    try:
        protocol = channel._protocol_factory()
        transport = FakeTransport()
        protocol.connection_made(transport)
        client = protocol.connection._connection
        headers = [(":method", "POST"), (":scheme", "http"), (":path", "/x"), (":authority", "a")]
        client.send_headers(1, headers, end_stream=True)
        server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        server.initiate_connection()
        server.receive_data(bytes(transport.written) + client.data_to_send())
        # the server may use the larger frames as soon as it has read the client's SETTINGS
        server.send_headers(1, [(":status", "200")])
        server.send_data(1, b"\x00" * 100_000)
        events = client.receive_data(server.data_to_send())  # ACKs and DATA in one read
    finally:
        channel.close()
    data = [e for e in events if isinstance(e, h2.events.DataReceived)]
    assert sum(len(e.data) for e in data) == 100_000


async def test_window_sets_both_flow_control_windows() -> None:
    channel = TunedChannel("127.0.0.1", 1, window=3 << 20)
    try:
        settings = _settings_sent(channel._protocol_factory())
    finally:
        channel.close()
    assert channel._config.http2_connection_window_size == 3 << 20
    assert channel._config.http2_stream_window_size == 3 << 20
    assert settings[SettingCodes.INITIAL_WINDOW_SIZE] == 3 << 20


def test_patched_data_frame_repr_is_constant_size_and_correct(
    monkeypatch: pytest.MonkeyPatch, stock_frame_repr: None
) -> None:
    assert patch_frame_repr()
    assert patch_frame_repr()  # idempotent

    def must_not_run(data: bytes | None) -> str:
        raise AssertionError("the payload was hex-encoded")

    # the stock repr hex-encodes the whole payload: the patched one never touches it
    monkeypatch.setattr(hyperframe.frame, "_raw_data_repr", must_not_run)
    small = repr(DataFrame(3, data=b"x"))
    big = repr(DataFrame(3, data=b"\xff" * (8 << 20)))
    assert small == "DataFrame(stream_id=3, flags=[]): <1 bytes>"
    assert big == f"DataFrame(stream_id=3, flags=[]): <{8 << 20} bytes>"
    assert len(big) - len(small) == len(str(8 << 20)) - 1
    # other frame types keep their own repr
    settings = hyperframe.frame.SettingsFrame(0, settings={SettingCodes.MAX_FRAME_SIZE: 1 << 20})
    assert "SettingsFrame" in repr(settings)


@pytest.mark.parametrize(
    ("nbytes", "expected"),
    [
        (0, MIN_WINDOW),
        (-1e9, MIN_WINDOW),
        (MIN_WINDOW - 1, MIN_WINDOW),
        (MIN_WINDOW, MIN_WINDOW),
        (1_000_000.75, 1_000_000),
        (MAX_WINDOW, MAX_WINDOW),
        (MAX_WINDOW + 1, MAX_WINDOW),
        (1e15, MAX_WINDOW),
        (float("inf"), MAX_WINDOW),
    ],
)
def test_flow_window_bytes_clamps(nbytes: float, expected: int) -> None:
    window = flow_window_bytes(nbytes)
    assert window == expected and isinstance(window, int)
    assert (MIN_WINDOW, MAX_WINDOW) == (256 << 10, 64 << 20)


def test_flow_window_for_a_time_budget() -> None:
    # 38 channels x 30 kHz x float32 x 0.5 s: about 2.3 MB in transit
    assert flow_window_bytes(38 * 30000 * 4 * 0.5) == 2_280_000
