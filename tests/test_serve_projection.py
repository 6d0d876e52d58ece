"""Projection behind `emojigan serve`: POST /project finds an upload's latent, POST /latent.png draws
it (edited, or morphed to another) as the SavedModel's signature does; bad uploads get clear errors;
a burst of uploads is bounded (503 past the queue, 504 past the deadline) while status keeps
answering and the server's memory stays bounded."""

from __future__ import annotations

import base64
import concurrent.futures
import io
import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image
from serving_helpers import export_projectable, export_projectable_steered, write_random_lpips

from keras_emojigan.grid import image_grid
from keras_emojigan.serving.generator import load_generator
from keras_emojigan.serving.launcher import Server


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-projection")
    plain = export_projectable(root / "plain" / "1")
    steered = export_projectable_steered(plain, root / "steered" / "1")
    write_random_lpips(root / "cache")
    return {"plain": plain, "steered": steered, "cache": root / "cache", "root": root}


@pytest.fixture
def cache_env(served, monkeypatch):
    monkeypatch.setenv("EMOJIGAN_CACHE", str(served["cache"]))


def _post(url, body: bytes, content_type="application/octet-stream", timeout=120):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def _png(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def _decode(text: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))).convert("RGB"))


def test_an_upload_is_projected_and_its_latent_drawn_edited_and_morphed(served, cache_env):
    plain, steered = load_generator(served["plain"]), load_generator(served["steered"])
    upload = _png(np.asarray(Image.fromarray(plain.generate(1, 5)[0]).resize((80, 80))))
    server = Server(served["steered"].parent, "--poll-seconds", "0", "--projection-steps", "30")
    try:
        status, body, _ = _post(server.url + "/project", upload, "image/png")
        assert status == 200, body
        answer = json.loads(body)
        latent = np.array(answer["latent"], np.float32)
        assert latent.shape == (8,) and answer["version"] == 1 and answer["lpips"] >= 0
        assert _decode(answer["input_png"]).shape == (32, 32, 3)
        np.testing.assert_array_equal(_decode(answer["projection_png"]), steered.from_latent(latent[None], -1)[0])

        request = {"latents": [answer["latent"]], "class": "positive", "strength": 3}
        status, png, headers = _post(server.url + "/latent.png", json.dumps(request).encode(), "application/json")
        assert status == 200 and headers["Content-Type"] == "image/png"
        drawn = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        edited = steered.from_latent(latent[None], np.array([1]), np.array([3.0], np.float32))
        np.testing.assert_array_equal(drawn, np.asarray(image_grid(edited, 1)))  # the signature's image, framed
        other = np.random.default_rng(1).standard_normal(8).tolist()
        morph = {"latents": [answer["latent"], other], "steps": 3}
        status, png, _ = _post(server.url + "/latent.png", json.dumps(morph).encode(), "application/json")
        strip = Image.open(io.BytesIO(png))
        assert status == 200 and strip.width > 3 * strip.height  # 4 frames in a row

        for bad, message in [({"latents": []}, "1 to 2 latents"), ({"latents": [[0.0] * 7]}, "8 numbers"),
                             ({"latents": [[1e9] * 8]}, "within"), ({"latents": [[0.0] * 8] * 3}, "1 to 2"),
                             ({"latents": [[0.0] * 8], "steps": 0}, "steps"),
                             ({"latents": [[0.0] * 8], "class": "angry"}, "classes are")]:
            status, body, _ = _post(server.url + "/latent.png", json.dumps(bad).encode(), "application/json")
            assert status == 400 and message in json.loads(body)["error"], (bad, body)
        status, body, _ = _post(server.url + "/latent.png", b'{"latents": [[NaN, 0, 0, 0, 0, 0, 0, 0]]}')
        assert status == 400
    finally:
        server.stop()


def _gif(frames) -> bytes:
    buffer = io.BytesIO()
    images = [Image.new("RGB", (40, 40), colour) for colour in frames]
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def _image_bytes(image, kind="PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def test_bad_uploads_get_clear_errors(served, cache_env):
    server = Server(served["plain"].parent, "--poll-seconds", "0", "--max-upload-bytes", "20000")
    try:
        cases = [
            (b"", 400, "empty"),
            (b"hello, not an image", 415, "PNG, JPEG, WebP, GIF or BMP"),
            (_image_bytes(Image.new("RGB", (40, 40)), "TIFF"), 415, "TIFF"),
            (np.random.default_rng(0).integers(0, 255, 30000, dtype=np.uint8).tobytes(), 413, "--max-upload-bytes"),
            (_gif([(255, 0, 0), (0, 0, 255)]), 400, "animation"),
            (_image_bytes(Image.new("RGB", (8, 40), (200, 0, 0))), 400, "too small"),
            (_image_bytes(Image.new("RGBA", (64, 64), (0, 0, 0, 0))), 400, "blank"),
            (_image_bytes(Image.new("RGB", (64, 64), (255, 255, 255))), 400, "blank"),
        ]
        for body, code, message in cases:
            status, answer, _ = _post(server.url + "/project", body)
            assert status == code and message in json.loads(answer)["error"], (code, answer)
        # a decompression bomb's header is refused before its pixels are decoded
        bomb = _image_bytes(Image.new("1", (6000, 6000)))
        server.stop()
        server = Server(served["plain"].parent, "--poll-seconds", "0", "--max-upload-pixels", "1000000")
        status, answer, _ = _post(server.url + "/project", bomb)
        assert status == 400 and "pixel limit" in json.loads(answer)["error"]
    finally:
        server.stop()


def test_without_lpips_weights_projection_is_unavailable_and_says_how_to_get_them(served, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOJIGAN_CACHE", str(tmp_path / "empty-cache"))
    server = Server(served["plain"].parent, "--poll-seconds", "0")
    try:
        image = _image_bytes(Image.new("RGB", (40, 40), (200, 30, 30)))
        status, answer, _ = _post(server.url + "/project", image)
        assert status == 503 and "emojigan extractors fetch lpips" in json.loads(answer)["error"]
    finally:
        server.stop()


def _status_seconds(url) -> float:
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200
    return time.monotonic() - start


def test_a_burst_of_uploads_is_bounded_and_status_keeps_answering(served, cache_env):
    server = Server(served["plain"].parent, "--poll-seconds", "0", "--projection-steps", "4000",
                    "--max-queued-projections", "2", "--projection-timeout", "8")
    try:
        image = _image_bytes(Image.new("RGB", (48, 48), (200, 30, 30)))
        status_url = server.url + "/v1/models/plain"
        _status_seconds(status_url)
        before = server.rss_bytes()
        for _ in range(2):  # two bursts: memory after the second is what the first left, not twice it
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                answers = [pool.submit(_post, server.url + "/project", image) for _ in range(6)]
                time.sleep(2)
                waits = [_status_seconds(status_url) for _ in range(3)]  # while projections run
                codes = sorted(answer.result()[0] for answer in answers)
            assert max(waits) < 2.0, waits
            assert codes.count(503) >= 4 and set(codes) <= {503, 504}, codes  # 2 queued at most; each past 8 s
        assert server.rss_bytes() - before < 400 << 20
        status, answer, headers = _post(server.url + "/project", image)
        assert status == 504 and "--projection-timeout" in json.loads(answer)["error"]
    finally:
        server.stop()
