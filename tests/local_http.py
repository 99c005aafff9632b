"""A small HTTP/1.1 JSON server on 127.0.0.1 for the scripted servers of tests and benchmarks.

It runs an asyncio loop on a daemon thread, keeps connections alive, and hands every request
to ``route(request) -> Answer``. The route runs on the loop's thread, one request at a time,
so it may keep counters without locks; it must not block (an answer's ``delay_s`` is waited
on the loop, so a thousand delayed answers cost no threads). One request costs well under a
millisecond of CPU here, so a benchmark against it measures the client, not the server.

``Answer.after(delivered)`` is called once the request is over: with True once the answer is
written, with False when the client went away first (a client timeout, a killed process);
then nothing is written.

    with JSONServer(route) as server:
        server.url  # http://127.0.0.1:PORT

Scripted servers subclass :class:`RoutedServer` and define ``route``.
"""
from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Callable


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Answer:
    status: int = 200
    payload: Any = None  # JSON-able
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    after: Callable[[bool], None] | None = None
    raw: bytes | None = None  # the body as sent (cut or malformed JSON, HTML) instead of payload
    trickle_s: float = 0.0  # send the body a few bytes at a time over this many seconds
    reset: bool = False  # close the connection without answering


Route = Callable[[Request], Answer]


class JSONServer:
    """See the module doc. A route that raises answers 500 with the error's text."""

    def __init__(self, route: Route):
        self.route = route
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="local-json-server", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "JSONServer":
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve_until_stopped())
        except BaseException as error:  # noqa: BLE001 - reported to __enter__
            self._error = error
            self._ready.set()

    async def _serve_until_stopped(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        connections: set[asyncio.StreamWriter] = set()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.add(writer)
            try:
                await self._converse(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
                pass
            finally:
                connections.discard(writer)
                writer.close()

        server = await asyncio.start_server(connection, "127.0.0.1", 0, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            for writer in list(connections):
                writer.close()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            line = await reader.readline()
            if not line.strip():
                return
            method, path, _version = line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = header.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length") or 0))
            try:
                answer = self.route(Request(method, path, headers, body))
            except Exception as error:  # noqa: BLE001 - a route bug shows in the client's error
                answer = Answer(500, {"error": {"message": f"{type(error).__name__}: {error}"}})
            if answer.delay_s:
                await asyncio.sleep(answer.delay_s)
            delivered = False
            if answer.reset:
                writer.transport.abort()
            elif not (reader.at_eof() or reader.exception() is not None or writer.is_closing()):
                try:
                    await _send(writer, _encode(answer), answer.trickle_s)
                    delivered = True
                except ConnectionError:
                    pass
            if answer.after is not None:
                answer.after(delivered)
            if not delivered or headers.get("connection", "").lower() == "close":
                return


async def _send(writer: asyncio.StreamWriter, data: bytes, trickle_s: float) -> None:
    if trickle_s <= 0:
        writer.write(data)
        await writer.drain()
        return
    head, _, body = data.partition(b"\r\n\r\n")
    writer.write(head + b"\r\n\r\n")
    pieces = max(1, min(len(body), 20))
    size = -(-len(body) // pieces)
    for start in range(0, len(body), size):
        await asyncio.sleep(trickle_s / pieces)
        writer.write(body[start:start + size])
        await writer.drain()


def _encode(answer: Answer) -> bytes:
    data = answer.raw if answer.raw is not None else json.dumps(
        answer.payload if answer.payload is not None else {}).encode("utf-8")
    try:
        reason = HTTPStatus(answer.status).phrase
    except ValueError:
        reason = "Scripted"
    lines = [f"HTTP/1.1 {answer.status} {reason}", "Content-Type: application/json",
             f"Content-Length: {len(data)}", *(f"{name}: {value}" for name, value in answer.headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


class RoutedServer:
    """A scripted server object: subclasses define ``route(request) -> Answer``;
    ``with Server(...) as server`` serves it, at ``server.url`` (the root plus ``url_path``)."""

    url_path = "/v1"

    def __init__(self) -> None:
        self.http = JSONServer(self.route)

    def route(self, request: Request) -> Answer:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return self.http.url + self.url_path

    def __enter__(self):
        self.http.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.http.__exit__(*exc)
