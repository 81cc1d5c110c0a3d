"""HubTransport.stream owns its call and channel: every way of leaving it resets the call and
closes the channel; keepalive settings and their environment override.

No network: the call and the channel are fakes that record what was done to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncGenerator, Iterator
from typing import Any, ClassVar

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError

from radiens_async import errors
from radiens_async.client import transport as transport_module
from radiens_async.client import tuned_channel
from radiens_async.client.transport import HubTransport, StreamScope, _reset_call, _State
from radiens_async.client.tuned_channel import (
    ENV_KEEPALIVE,
    KEEPALIVE_INTERVAL_S,
    KEEPALIVE_TIMEOUT_S,
    channel_config,
    keepalive_bound_s,
    keepalive_settings,
)

pytestmark = pytest.mark.anyio


class FakeCall:
    """A grpclib client stream: ``messages`` then the end (or ``fail_with``)."""

    def __init__(self, messages: list[str], fail_with: BaseException | None = None) -> None:
        self.messages = list(messages)
        self.fail_with = fail_with
        self.sent: list[Any] = []
        self.exits: list[type[BaseException] | None] = []
        self.block = asyncio.Event()

    async def __aenter__(self) -> FakeCall:
        return self

    async def send_message(self, request: Any, *, end: bool = False) -> None:
        self.sent.append((request, end))

    async def recv_message(self) -> str | None:
        if self.messages:
            return self.messages.pop(0)
        if self.fail_with is not None:
            raise self.fail_with
        if not self.block.is_set():
            await self.block.wait()  # a live stream waiting for data
        return None

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.exits.append(exc_type)


class FakeChannel:
    instances: ClassVar[list[FakeChannel]] = []

    def __init__(self, host: str, port: int, **kwargs: Any) -> None:
        self.closed = False
        self.kwargs = kwargs
        FakeChannel.instances.append(self)

    def close(self) -> None:
        self.closed = True


class FakeStub:
    def __init__(self, call: FakeCall) -> None:
        self.call = call
        self.StreamThings = self  # the method object: .open() gives the call

    def open(self, *, metadata: Any = None) -> FakeCall:
        return self.call


@pytest.fixture
def fake_channels(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeChannel]]:
    FakeChannel.instances = []
    monkeypatch.setattr(transport_module, "TunedChannel", FakeChannel)
    yield FakeChannel.instances


def _transport() -> HubTransport:
    transport = HubTransport(address="127.0.0.1:1")
    transport._state = _State.OPENED  # no hub: the stream makes its own (fake) channel
    return transport


def _stream(call: FakeCall) -> AsyncGenerator[Any, None]:
    return _transport().stream(lambda channel: FakeStub(call), "StreamThings", "request")


async def test_normal_end_reads_status_and_closes(fake_channels: list[FakeChannel]) -> None:
    call = FakeCall(["a", "b"])
    call.block.set()
    got = [m async for m in _stream(call)]
    assert got == ["a", "b"]
    assert call.sent == [("request", True)]
    assert call.exits == [None]  # the normal exit: grpclib reads the trailers
    assert fake_channels[0].closed


async def test_break_then_aclose_resets_and_closes(fake_channels: list[FakeChannel]) -> None:
    call = FakeCall(["a", "b", "c"])
    messages = _stream(call)
    async for _ in messages:
        break
    assert not fake_channels[0].closed  # a kept generator holds its stream until closed
    await messages.aclose()
    assert call.exits == [GeneratorExit]
    assert fake_channels[0].closed


async def test_exception_thrown_in_is_not_mapped(fake_channels: list[FakeChannel]) -> None:
    call = FakeCall(["a"])
    messages = _stream(call)
    assert await messages.__anext__() == "a"
    with pytest.raises(KeyError):  # the consumer's own error comes back as it is
        await messages.athrow(KeyError("mine"))
    assert call.exits == [KeyError]
    assert fake_channels[0].closed


async def test_cancellation_while_waiting(fake_channels: list[FakeChannel]) -> None:
    call = FakeCall([])

    async def consume() -> None:
        async for _ in _stream(call):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert call.exits == [asyncio.CancelledError]
    assert fake_channels[0].closed


async def test_abandoned_generator_is_finalised(fake_channels: list[FakeChannel]) -> None:
    call = FakeCall(["a", "b"])
    messages = _stream(call)
    assert await messages.__anext__() == "a"
    del messages
    gc.collect()
    for _ in range(5):  # the loop's finaliser hook closes it in a task of its own
        await asyncio.sleep(0)
    assert call.exits == [GeneratorExit]
    assert fake_channels[0].closed


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (GRPCError(Status.FAILED_PRECONDITION, "streaming is off"), errors.FailedPrecondition),
        (StreamTerminatedError("Connection lost"), errors.ConnectError),
        (ConnectionResetError(104, "reset"), errors.ConnectError),
    ],
)
async def test_hub_failures_are_typed(
    fake_channels: list[FakeChannel], failure: Exception, expected: type[Exception]
) -> None:
    call = FakeCall(["a"], fail_with=failure)
    got: list[str] = []
    with pytest.raises(expected):
        async for m in _stream(call):
            got.append(m)
    assert got == ["a"]
    assert len(call.exits) == 1 and call.exits[0] is expected
    assert fake_channels[0].closed


async def test_stream_scope_closes_the_generator(fake_channels: list[FakeChannel]) -> None:
    call = FakeCall(["a", "b"])
    async with StreamScope(_stream(call)) as messages:
        assert await messages.__anext__() == "a"
    assert call.exits == [GeneratorExit]
    assert fake_channels[0].closed


async def test_closed_transport_refuses_to_stream(fake_channels: list[FakeChannel]) -> None:
    transport = _transport()
    await transport.close()
    with pytest.raises(errors.ClientClosed):
        await transport.stream(lambda c: FakeStub(FakeCall([])), "StreamThings", "r").__anext__()
    assert fake_channels == []


def test_reset_call_never_suspends() -> None:
    class Suspends:
        def __init__(self) -> None:
            self.closed = False

        def __aexit__(self, *exc: Any) -> Any:
            outer = self

            class Step:
                def send(self, value: Any) -> None:
                    return None  # "suspended"

                def close(self) -> None:
                    outer.closed = True

            return Step()

    class Raises:
        async def __aexit__(self, *exc: Any) -> None:
            raise GRPCError(Status.CANCELLED, "reset")

    suspending = Suspends()
    _reset_call(suspending, GeneratorExit())
    assert suspending.closed  # abandoned, not awaited
    _reset_call(Raises(), GeneratorExit())  # swallowed: the caller's exception matters


# -- keepalive settings ----------------------------------------------------------------------
def test_keepalive_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEEPALIVE, raising=False)
    assert keepalive_settings() == (KEEPALIVE_INTERVAL_S, KEEPALIVE_TIMEOUT_S)
    assert keepalive_bound_s() == KEEPALIVE_INTERVAL_S + KEEPALIVE_TIMEOUT_S <= 10
    config = channel_config(1 << 20)
    assert config._keepalive_time == KEEPALIVE_INTERVAL_S
    assert config._keepalive_timeout == KEEPALIVE_TIMEOUT_S
    assert config._keepalive_permit_without_calls is True
    assert config._http2_max_pings_without_data == 0  # server streams never send data
    assert config._http2_min_sent_ping_interval_without_data == KEEPALIVE_INTERVAL_S
    assert config.http2_stream_window_size == config.http2_connection_window_size == 1 << 20
    default = channel_config()
    assert default.http2_stream_window_size == tuned_channel.STREAM_WINDOW
    assert default.http2_connection_window_size == tuned_channel.CONNECTION_WINDOW


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("5", (5.0, KEEPALIVE_TIMEOUT_S)), ("1.5, 2", (1.5, 2.0)), (" 10,0.5 ", (10.0, 0.5))],
)
def test_keepalive_env_override(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: tuple[float, float]
) -> None:
    monkeypatch.setenv(ENV_KEEPALIVE, raw)
    assert keepalive_settings() == expected
    assert channel_config()._keepalive_time == expected[0]
    assert keepalive_bound_s() == sum(expected)


@pytest.mark.parametrize("raw", ["off", "OFF", "0", "none"])
def test_keepalive_off(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(ENV_KEEPALIVE, raw)
    assert keepalive_settings() is None
    assert keepalive_bound_s() is None
    assert channel_config().__for_client__()._keepalive_time is None  # grpclib: no pings


@pytest.mark.parametrize("raw", ["fast", "0.2", "nan", "inf", "2,0", "2,-1", "2,x", "1,2,3"])
def test_keepalive_bad_env(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(ENV_KEEPALIVE, raw)
    with pytest.raises(errors.InvalidArgument, match=ENV_KEEPALIVE):
        keepalive_settings()


async def test_tuned_channel_uses_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEEPALIVE, "3,4")
    channel = tuned_channel.TunedChannel("127.0.0.1", 1)
    with contextlib.closing(channel):
        assert channel._config._keepalive_time == 3.0
        assert channel._config._keepalive_timeout == 4.0
