"""How the OpenAI-compatible backend names a failed attempt: the permanent refusals and
unusable answers it raises, and the real cause behind an SDK connection error."""
from __future__ import annotations

from ..errors import EscbenchError

__all__ = ["RequestRejected", "UnusableAnswer", "connection_failure"]


class RequestRejected(EscbenchError):
    """The server refused this request for good (an HTTP 4xx other than 401/403/404 and
    408/409/429, e.g. a prompt over the context length): ``status`` and ``detail`` say why."""

    def __init__(self, message: str, status: int | None, detail: str):
        self.status, self.detail = status, detail
        super().__init__(message)


class UnusableAnswer(EscbenchError):
    """An HTTP 200 whose body is not a usable chat completion (retried like a 5xx)."""


CAUSES = (  # exception class names in a connection error's chain -> what happened
    (("ConnectionRefusedError",), "connection refused"),
    (("gaierror", "ClientConnectorDNSError"), "DNS lookup failed"),
    (("ConnectionResetError", "ServerDisconnectedError", "RemoteProtocolError", "ClientPayloadError",
      "ContentLengthError", "IncompleteReadError", "ConnectionAbortedError", "BrokenPipeError"),
     "connection reset or closed by the server before the answer was complete"),
    (("TimeoutError", "ReadTimeout", "ConnectTimeout", "ServerTimeoutError", "SocketTimeoutError", "PoolTimeout"),
     "timed out"),
)


def connection_failure(error: BaseException, timeout: float) -> str:
    """What really went wrong behind an SDK connection error (the SDK's aiohttp transport calls
    a refused connection "Request timed out."): the first known cause in its exception chain."""
    chain, seen = [], set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for names, cause in CAUSES:
        for item in reversed(chain):  # the deepest (most specific) first
            if any(cls.__name__ in names for cls in type(item).__mro__):
                detail = str(item) or type(item).__name__
                if cause == "timed out":
                    return f"timed out (timeout={timeout:g} s): {detail}"
                return f"{cause}: {detail}"
    return f"{type(error).__name__}: {error}"
