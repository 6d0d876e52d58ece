"""`emojigan serve` in a subprocess on a free loopback port, and a one-call HTTP client for it.

For the tests, `scripts/benchmarks/load_test_serve.py` and notebooks: start a server on a SavedModel base,
wait until it listens, read its memory, stop it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit


class Server:
    """``emojigan serve BASE --port 0 ...`` until ``stop()``; ``url`` once it listens. ``base``
    None serves the shipped model (``emojigan serve`` with no argument)."""

    def __init__(self, base: Path | None, *args: str, timeout: float = 180):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        where = [str(base)] if base is not None else []
        self.process = subprocess.Popen([sys.executable, "-m", "keras_emojigan.cli", "serve", *where, "--port", "0",
                                         *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and self.process.poll() is None:
            line = self.process.stdout.readline()
            if line.startswith("serving "):
                break
        if not line.startswith("serving "):
            self.stop()
            raise RuntimeError(f"emojigan serve did not start: {line!r}\n" + "".join(self.stderr_lines[-20:]))
        self.url = line.split(" at ")[1].split("/ ")[0]

    def _drain_stderr(self):
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def http(method: str, url: str, body=None, raw: bytes | None = None, timeout: float = 120, parse: bool = True):
    """(status, parsed JSON or raw bytes, headers) of one request (``parse`` False: always the bytes)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, payload, headers = answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as err:
        status, payload, headers = err.code, err.read(), err.headers
    if parse and headers.get("Content-Type", "").startswith("application/json"):
        payload = json.loads(payload)
    return status, payload, headers


def open_connection(url: str, sent: bytes = b"", receive_buffer: int | None = None,
                    timeout: float | None = 30) -> socket.socket:
    """A raw TCP connection to the server at ``url`` that has sent ``sent``: a client that misbehaves
    (half a header, a reply it never reads). ``receive_buffer``, set before connecting, keeps the
    TCP window that small."""
    where = urlsplit(url)
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(timeout)
    sock.connect((where.hostname, where.port))
    sock.sendall(sent)
    return sock


def json_post(path: str, body) -> bytes:
    """The bytes of an HTTP/1.1 request POSTing ``body`` as JSON to ``path``."""
    data = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: loopback\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data
