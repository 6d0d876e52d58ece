"""What one client can hold on `emojigan serve`: raw loopback sockets that send headers slowly or
never, bodies that never arrive, replies never read, and more generations than the server takes."""

import socket
import time

import pytest
from serving_helpers import export_tiny

from keras_emojigan.serving.launcher import Server, http, json_post, open_connection


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    """A server with 1-second timeouts and two generation slots, on a 64 px generator (a 256-image
    reply is ~30 MB of JSON, far more than the loopback socket buffers hold)."""
    base = tmp_path_factory.mktemp("saved_models") / "emoji"
    export_tiny(base, 1, resolution=64)
    server = Server(base, "--poll-seconds", "0", "--header-timeout", "1", "--body-timeout", "1",
                    "--write-timeout", "1", "--max-pending", "2", "--max-count", "256")
    yield server
    server.stop()


def _seconds_until_closed(sock: socket.socket, trickle: bytes = b"", every: float = 0.2) -> tuple[float, bytes]:
    """Seconds until the server closes ``sock`` (sending ``trickle`` a byte at a time meanwhile), and
    what it sent."""
    started, received = time.monotonic(), b""
    sock.settimeout(every)
    for byte in trickle:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return time.monotonic() - started, received
        try:
            chunk = sock.recv(65536)
            if not chunk:
                return time.monotonic() - started, received
            received += chunk
        except TimeoutError:
            pass
        except OSError:
            return time.monotonic() - started, received
    sock.settimeout(30)
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except OSError:
        pass
    return time.monotonic() - started, received


def test_headers_that_never_complete_or_trickle_in_are_dropped_after_the_header_timeout(strict):
    partial = open_connection(strict.url, b"GET /v1/models/emoji HTTP/1.1\r\nHost: loopback\r\n")
    seconds, received = _seconds_until_closed(partial)
    assert received == b"" and 0.8 < seconds < 5, (seconds, received)

    slow = open_connection(strict.url)  # one byte every 0.2 s of a header that would take 20 s
    header = b"GET /v1/models/emoji HTTP/1.1\r\nHost: loopback\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
    seconds, received = _seconds_until_closed(slow, trickle=header)
    assert received == b"" and 0.8 < seconds < 5, (seconds, received)

    # after a complete request and its reply, idle for longer than the timeout
    idle = open_connection(strict.url, b"GET /v1/models/emoji HTTP/1.1\r\nHost: loopback\r\n\r\n")
    seconds, received = _seconds_until_closed(idle)
    assert received.startswith(b"HTTP/1.1 200") and 0.8 < seconds < 5, (seconds, received[:40])


def test_a_body_that_never_arrives_is_a_408(strict):
    half_body = json_post("/v1/models/emoji:predict", {"instances": [[0] * 40]})[:-20]  # Content-Length says more
    sock = open_connection(strict.url, half_body)
    seconds, received = _seconds_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert b"--body-timeout" in received and seconds < 5


def _stalled_generation(server) -> socket.socket:
    """A client that asks for 256 images and never reads the reply."""
    body = {"signature_name": "generate", "inputs": {"count": 256, "seed": 0}}
    return open_connection(server.url, json_post("/v1/models/emoji:predict", body), receive_buffer=4096)


def test_clients_that_do_not_read_hold_the_slots_until_the_write_timeout_drops_them(strict):
    small = {"signature_name": "generate", "inputs": {"count": 1, "seed": 0}}
    url = strict.url + "/v1/models/emoji:predict"
    assert http("POST", url, small)[0] == 200
    dropped_before = sum("(--write-timeout)" in line for line in strict.stderr_lines)
    stalled = [_stalled_generation(strict) for _ in range(2)]
    try:
        deadline, status = time.monotonic() + 20, 200
        while status == 200 and time.monotonic() < deadline:  # until both are generating or being sent
            status, payload, headers = http("POST", url, small)
        assert status == 503 and headers["Retry-After"] == "1", (status, payload)
        assert "--max-pending" in payload["error"]
        assert http("GET", strict.url + "/v1/models/emoji")[0] == 200  # status is not a generation
        deadline = time.monotonic() + 20
        while status != 200 and time.monotonic() < deadline:  # the write timeout frees the slots
            time.sleep(0.2)
            status = http("POST", url, small)[0]
        assert status == 200
        for sock in stalled:  # each got at most part of its reply (a reset may discard even that)
            assert len(_seconds_until_closed(sock)[1]) < 20 << 20
        dropped = sum("(--write-timeout)" in line for line in strict.stderr_lines) - dropped_before
        assert dropped == 2, strict.stderr_lines[-5:]
    finally:
        for sock in stalled:
            sock.close()
