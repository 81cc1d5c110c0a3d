"""map_error: every gRPC status and transport failure -> the right RadiensError, message kept."""

from __future__ import annotations

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from radiens_async import errors
from radiens_async.client.error_mapping import map_error

WHERE = "127.0.0.1:50150"

# what every status the hub can answer with becomes (OK is not an error)
EXPECTED: dict[Status, type[errors.RadiensError]] = {
    Status.CANCELLED: errors.RemoteError,
    Status.UNKNOWN: errors.RemoteError,
    Status.INVALID_ARGUMENT: errors.InvalidArgument,
    Status.DEADLINE_EXCEEDED: errors.DeadlineExceeded,
    Status.NOT_FOUND: errors.NotFound,
    Status.ALREADY_EXISTS: errors.AlreadyExists,
    Status.PERMISSION_DENIED: errors.Unauthenticated,
    Status.RESOURCE_EXHAUSTED: errors.ResourceExhausted,
    Status.FAILED_PRECONDITION: errors.FailedPrecondition,
    Status.ABORTED: errors.RemoteError,
    Status.OUT_OF_RANGE: errors.InvalidArgument,
    Status.UNIMPLEMENTED: errors.RemoteError,
    Status.INTERNAL: errors.RemoteError,
    Status.UNAVAILABLE: errors.Unavailable,
    Status.DATA_LOSS: errors.RemoteError,
    Status.UNAUTHENTICATED: errors.Unauthenticated,
}


def test_every_status_is_covered() -> None:
    assert set(EXPECTED) == set(Status) - {Status.OK}


@pytest.mark.parametrize("status", list(EXPECTED), ids=lambda s: s.name)
def test_status_maps_to_its_class_and_keeps_the_message(status: Status) -> None:
    message = f"the hub says no ({status.name.lower()})"
    mapped = map_error(GRPCError(status, message), where=WHERE)
    assert type(mapped) is EXPECTED[status]
    assert message in str(mapped)
    if isinstance(mapped, errors.RemoteError):
        assert str(mapped) == mapped.message == message
        assert mapped.status == status.name
    else:
        assert WHERE in str(mapped)  # transport errors say which hub


@pytest.mark.parametrize("status", list(EXPECTED), ids=lambda s: s.name)
def test_status_without_message_uses_the_status_name(status: Status) -> None:
    mapped = map_error(GRPCError(status), where=WHERE)
    assert type(mapped) is EXPECTED[status]
    assert status.name in str(mapped)


def test_builtin_bases_let_users_catch_familiar_types() -> None:
    def mapped(status: Status) -> errors.RadiensError:
        return map_error(GRPCError(status, "x"), where=WHERE)

    assert isinstance(mapped(Status.INVALID_ARGUMENT), ValueError)
    assert isinstance(mapped(Status.NOT_FOUND), LookupError)
    assert isinstance(mapped(Status.UNAUTHENTICATED), PermissionError)
    assert isinstance(mapped(Status.DEADLINE_EXCEEDED), TimeoutError)
    assert isinstance(mapped(Status.DEADLINE_EXCEEDED), errors.TransportError)
    for status in EXPECTED:
        assert isinstance(mapped(status), errors.RadiensError)


def test_unavailable_while_connecting_is_a_connect_error() -> None:
    mapped = map_error(
        GRPCError(Status.UNAVAILABLE, "failed to connect to all addresses"), where=WHERE
    )
    assert type(mapped) is errors.ConnectError
    assert isinstance(mapped, ConnectionError)
    assert WHERE in str(mapped) and "failed to connect to all addresses" in str(mapped)


@pytest.mark.parametrize(
    ("exc", "cls", "fragment"),
    [
        (TimeoutError("slow"), errors.DeadlineExceeded, "did not answer within the deadline"),
        (ConnectionRefusedError(111, "Connection refused"), errors.ConnectError, "refused"),
        (OSError(113, "No route to host"), errors.ConnectError, "No route to host"),
        (StreamTerminatedError("Connection lost"), errors.ConnectError, "Connection lost"),
        (ProtocolError("bad frame"), errors.ConnectError, "bad frame"),
        (RuntimeError("boom"), errors.RadiensError, "boom"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else "",
)
def test_transport_failures(
    exc: BaseException, cls: type[errors.RadiensError], fragment: str
) -> None:
    mapped = map_error(exc, where=WHERE)
    assert type(mapped) is cls
    assert fragment in str(mapped) and WHERE in str(mapped)


def test_radiens_errors_pass_through_unchanged() -> None:
    original = errors.FailedPrecondition("streaming is off", "FAILED_PRECONDITION")
    assert map_error(original, where=WHERE) is original
