"""The experiment's teacher server: started on first use, stopped when the experiment ends.

- ``scripted``: :mod:`.scripted_teacher` behind :class:`escbench.harness.serve.ChatServer`, in this process;
- ``serve``: ``escbench serve --model MODEL`` as a child process (the model needs its own
  process: training and evaluation load theirs here), stopped with SIGTERM, then SIGKILL;
- ``url``: an existing OpenAI-compatible server; nothing is started.

The port of a started server is derived from the output folder (so a resumed run talks to the
same URL and results records stay comparable), or a free one when that port is taken.
"""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from escbench.harness.errors import ConfigError

START_TIMEOUT_S = 600.0


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_for(out: Path, configured: Any) -> int:
    if isinstance(configured, int) and configured > 0:
        return configured
    digest = hashlib.sha256(str(out.resolve()).encode()).digest()
    port = 20000 + int.from_bytes(digest[:2], "big") % 30000
    return port if _free(port) else 0


class TeacherEndpoint:
    """``with TeacherEndpoint(teacher_settings, out) as endpoint: endpoint.url`` (started lazily)."""

    def __init__(self, settings: dict[str, Any], out: Path):
        self.settings, self.out = settings, Path(out)
        self.kind = settings["endpoint"]
        self.model = str(settings.get("model", "teacher"))
        self._server = None
        self._process: subprocess.Popen | None = None
        self._url: str | None = settings.get("url") if self.kind == "url" else None

    def identity(self) -> dict[str, Any]:
        """What decides the teacher's answers (the URL of a server we start does not)."""
        keys = ("endpoint", "model", "serve_model", "temperature", "top_p", "max_tokens")
        out = {key: self.settings.get(key) for key in keys if key in self.settings}
        if self.kind == "url":
            out["url"] = self.settings["url"]
        return out

    @property
    def url(self) -> str:
        if self._url is None:
            self._start()
        return self._url

    def _start(self) -> None:
        port = _port_for(self.out, self.settings.get("port"))
        if self.kind == "scripted":
            from escbench.harness.serve import ChatServer

            from .scripted_teacher import respond

            self._server = ChatServer(respond, self.model, port=port, max_batch=16,
                                      default_max_tokens=int(self.settings.get("max_tokens", 2048))).start()
            self._url = self._server.url
            return
        if port == 0:
            port = _pick_free_port()
        command = [sys.executable, "-m", "escbench.harness.cli", "serve", "--model", str(self.settings["serve_model"]),
                   "--served-name", self.model, "--port", str(port),
                   "--max-tokens", str(self.settings.get("max_tokens", 2048))]
        log = open(self.out / "teacher-serve.log", "ab")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
                                         preexec_fn=_die_with_parent)
        self._url = f"http://127.0.0.1:{port}/v1"
        self._wait_ready(port)

    def _wait_ready(self, port: int) -> None:
        import urllib.request

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ConfigError(f"teacher: escbench serve exited with status {self._process.returncode} "
                                  f"(see {self.out / 'teacher-serve.log'})")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        self.close()
        raise ConfigError(f"teacher: escbench serve did not answer within {START_TIMEOUT_S:.0f} s")

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self.kind != "url":
            self._url = None

    def __enter__(self) -> "TeacherEndpoint":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _die_with_parent() -> None:
    """In the child: ask Linux for SIGTERM when the experiment dies (kill -9 included), so no
    orphaned server keeps the port and the memory. A no-op where prctl is unavailable."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _pick_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
