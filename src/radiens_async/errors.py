"""The one error tree of radiens-async.

Every failure a user can see is a :class:`RadiensError`. gRPC failures are translated in exactly
one place (:func:`radiens_async.client.error_mapping.map_error`); users never see a raw grpclib
or grpcio exception::

    RadiensError
    ├── TransportError                  the hub could not be reached or did not answer in time
    │   ├── ConnectError                no connection (refused, unreachable, wrong address)
    │   └── DeadlineExceeded            the call did not finish within its deadline (TimeoutError)
    ├── RemoteError(status, message)    the hub answered with an error status
    │   ├── InvalidArgument             a bad value (also a ValueError, like the documented API)
    │   │   ├── WrongType               a value of the wrong type (also a TypeError)
    │   │   └── OutOfRange              a time range the data (e.g. the live cache) cannot cover
    │   ├── NotFound                    unknown file, dataset, job, port, sensor ... (LookupError)
    │   ├── AlreadyExists               a target that exists and was not forced
    │   ├── FailedPrecondition          the hub is in the wrong state (no hardware, streaming ...)
    │   ├── Unauthenticated             missing or wrong access token
    │   ├── ResourceExhausted           too much data in one message, or the hub is out of room
    │   └── Unavailable                 the hub is shutting down or not ready
    ├── JobFailed / JobCancelled        a background job ended without a result
    ├── NotSupported                    the server's protocol has no such operation
    ├── ClientClosed                    a closed client was used again
    └── FormatError                     a file is missing, truncated, corrupt or of the wrong shape

``asyncio.CancelledError`` is never caught or wrapped: cancellation always propagates.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "ClientClosed",
    "ConnectError",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FormatError",
    "InvalidArgument",
    "JobCancelled",
    "JobFailed",
    "NotFound",
    "NotSupported",
    "OutOfRange",
    "RadiensError",
    "RemoteError",
    "ResourceExhausted",
    "TransportError",
    "Unauthenticated",
    "Unavailable",
    "WrongType",
]


class RadiensError(Exception):
    """Base class of every error raised by radiens-async."""


class TransportError(RadiensError):
    """The hub could not be reached, or did not answer within the deadline."""


class ConnectError(TransportError, ConnectionError):
    """No connection to the hub could be made (refused, unreachable or not a hub)."""


class DeadlineExceeded(TransportError, TimeoutError):
    """A call did not complete within its deadline."""


class RemoteError(RadiensError):
    """The hub answered with an error status.

    Parameters
    ----------
    message : str
        Human-readable explanation, as sent by the hub (or raised by client-side validation).
    status : str, optional
        The gRPC status name (``"INVALID_ARGUMENT"`` ...) when the error came from the hub;
        ``None`` when the client rejected the input before sending it.
    """

    def __init__(self, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class InvalidArgument(RemoteError, ValueError):
    """A value was refused (out of range, unknown name, wrong type of value)."""


class WrongType(InvalidArgument, TypeError):
    """A value of the wrong type (``None``, a bool or a str for a number ...): an
    :class:`InvalidArgument` like every refusal, and a ``TypeError`` as Python's own type
    checks raise (code that caught ``TypeError`` still does)."""


class OutOfRange(InvalidArgument):
    """A time range outside what the data holds (e.g. samples that left the live cache)."""


class NotFound(RemoteError, LookupError):
    """Something named in the request does not exist."""


class AlreadyExists(RemoteError):
    """The target already exists and ``force`` was not given."""


class FailedPrecondition(RemoteError):
    """The hub is not in a state that allows the request (e.g. no hardware, streaming on)."""


class Unauthenticated(RemoteError, PermissionError):
    """The access token is missing or wrong."""


class ResourceExhausted(RemoteError):
    """A message or the hub's resources are too small for the request."""


class Unavailable(RemoteError):
    """The hub is shutting down or not ready yet."""


class JobFailed(RadiensError):
    """A background job ended with an error; ``message`` says why."""


class JobCancelled(RadiensError):
    """A background job was cancelled before it produced its result."""


class NotSupported(RadiensError, NotImplementedError):
    """The operation does not exist in the protocol the server speaks.

    Raised before anything is sent, e.g. ``get_ground_truth`` over the Radiens protocol (only our
    hub's ``radiens.v1`` knows the simulator's ground truth).

    Parameters
    ----------
    operation : str
        What was asked (``"get_ground_truth"``).
    protocol : str
        The protocol the client speaks to that server (``"radiens"``).
    hint : str, optional
        What to do instead.
    """

    def __init__(self, operation: str, protocol: str, hint: str = "") -> None:
        message = f"{operation} is not supported over the {protocol} protocol"
        super().__init__(f"{message}: {hint}" if hint else message)
        self.operation = operation
        self.protocol = protocol


class ClientClosed(RadiensError):
    """A client was used after it was closed."""


class FormatError(RadiensError, ValueError):
    """A file is missing, truncated, corrupt or of the wrong shape; the message says which."""
