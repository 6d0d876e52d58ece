"""`emojigan serve` over real HTTP: TF Serving's REST API, limits, the PNG sheet, reloads, load."""

import io
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from serving_helpers import TINY, export_tiny

from keras_emojigan.serving.generator import load_generator
from keras_emojigan.serving.launcher import Server, http

NOISE_DIM = TINY["latent_dim"]
SIZE = TINY["resolution"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("saved_models") / "emoji"
    export_tiny(base, 1)
    server = Server(base, "--poll-seconds", "0.3", "--max-instances", "8", "--max-count", "32",
                    "--max-body-bytes", "65536")
    yield server, base
    server.stop()


def predict(server, body, path="/v1/models/emoji:predict"):
    return http("POST", server.url + path, body)


def test_status_and_metadata_as_tf_serving_answers(served):
    server, _ = served
    for path in ("/v1/models/emoji", "/v1/models/emoji/versions/1"):
        status, answer, _ = http("GET", server.url + path)
        assert status == 200
        assert answer == {"model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    status, answer, _ = http("GET", server.url + "/v1/models/emoji/metadata")
    assert status == 200 and answer["model_spec"] == {"name": "emoji", "signature_name": "", "version": "1"}
    signatures = answer["metadata"]["signature_def"]["signature_def"]
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"]["latent"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in default["inputs"]["latent"]["tensor_shape"]["dim"]] == ["-1", str(NOISE_DIM)]
    assert default["outputs"]["images"]["dtype"] == "DT_UINT8"
    assert set(signatures["generate"]["inputs"]) == {"count", "seed"}
    assert http("GET", server.url + "/v1/models/emoji/versions/1/metadata")[0] == 200


def test_predict_row_and_columnar_formats_agree_with_the_saved_model(served):
    server, base = served
    noise = np.random.default_rng(0).normal(size=(3, NOISE_DIM)).round(4)
    status, rows, _ = predict(server, {"instances": noise.tolist()})
    assert status == 200 and set(rows) == {"predictions"}
    images = np.array(rows["predictions"])
    assert images.shape == (3, SIZE, SIZE, 3) and images.min() >= 0 and images.max() <= 255
    status, columns, _ = predict(server, {"signature_name": "serving_default", "inputs": {"latent": noise.tolist()}})
    assert status == 200 and np.array_equal(np.array(columns["outputs"]), images)
    assert predict(server, {"inputs": noise.tolist()})[1] == columns  # a bare value for the one input
    local = load_generator(base / "1").from_latent(noise.astype(np.float32))
    assert np.array_equal(local, images)


def test_generate_same_seed_same_images(served):
    server, base = served
    request = {"signature_name": "generate", "inputs": {"count": 4, "seed": 7}}
    first, second = predict(server, request), predict(server, request)
    assert first[0] == 200 and first[1] == second[1]
    images = np.array(first[1]["outputs"], dtype=np.uint8)
    assert images.shape == (4, SIZE, SIZE, 3)
    assert np.array_equal(images, load_generator(base / "1").generate(4, 7))
    other = np.array(predict(server, {**request, "inputs": {"count": 4, "seed": 8}})[1]["outputs"])
    assert not np.array_equal(other, images)


def test_png_sheet_endpoint(served):
    server, _ = served
    status, payload, headers = http("GET", server.url + "/sheet.png?seed=3&count=9")
    assert status == 200 and headers["Content-Type"] == "image/png" and headers["X-Model-Version"] == "1"
    sheet = Image.open(io.BytesIO(payload))
    assert sheet.size == (3 * (SIZE + 2) + 2,) * 2
    assert np.asarray(sheet).std() > 1  # not blank
    assert http("GET", server.url + "/sheet.png?seed=3&count=9")[1] == payload
    assert http("GET", server.url + "/sheet.png?seed=4&count=9")[1] != payload


BAD_REQUESTS = [
    ("malformed JSON", b'{"instances": [1, 2', 400, "JSON Parse error"),
    ("not an object", b"[1, 2]", 400, "JSON object"),
    ("wrong signature", {"signature_name": "classify", "instances": [[0] * NOISE_DIM]}, 400,
     'Serving signature name: "classify" not found'),
    ("wrong shape", {"instances": [[0.5] * (NOISE_DIM + 1)]}, 400, f"signature expects [-1, {NOISE_DIM}]"),
    ("wrong dtype", {"instances": [["a"] * NOISE_DIM]}, 400, "must hold numbers"),
    ("text dtype", {"instances": [["a"] * NOISE_DIM]}, 400, "got text"),
    ("ragged", {"instances": [[0.5] * NOISE_DIM, [0.5]]}, 400, "ragged"),
    ("NaN", b'{"instances": [[NaN, 0, 0, 0, 0, 0, 0, 0]]}', 400, "NaN"),
    ("both formats", {"instances": [[0] * NOISE_DIM], "inputs": [[0] * NOISE_DIM]}, 400, "exactly one of"),
    ("neither format", {"signature_name": "serving_default"}, 400, "exactly one of"),
    ("empty instances", {"instances": []}, 400, "non-empty list"),
    ("too many instances", {"instances": [[0] * NOISE_DIM] * 9}, 413, "at most 8 (--max-instances)"),
    ("too many columns", {"inputs": [[0] * NOISE_DIM] * 9}, 413, "at most 8 (--max-instances)"),
    ("count too large", {"signature_name": "generate", "inputs": {"count": 33, "seed": 1}}, 400, "--max-count"),
    ("count not whole", {"signature_name": "generate", "inputs": {"count": 2.5, "seed": 1}}, 400, "whole numbers"),
    ("seed out of range", {"signature_name": "generate", "inputs": {"count": 2, "seed": 2**64}}, 400, "must hold"),
    ("unknown input", {"signature_name": "generate", "inputs": {"count": 2, "sead": 1}}, 400, "unknown input(s) sead"),
    ("scalars as rows", {"signature_name": "generate", "instances": [{"count": 1, "seed": 2}]}, 400, "columnar"),
    ("body too large", {"instances": [[0.123456789] * NOISE_DIM] * 2000}, 413, "--max-body-bytes"),
]


@pytest.mark.parametrize("body, status, message", [case[1:] for case in BAD_REQUESTS],
                         ids=[case[0] for case in BAD_REQUESTS])
def test_bad_requests_get_4xx_with_a_message(served, body, status, message):
    server, _ = served
    raw = body if isinstance(body, bytes) else None
    got, answer, _ = http("POST", server.url + "/v1/models/emoji:predict", None if raw else body, raw=raw)
    assert got == status and set(answer) == {"error"}
    assert message in answer["error"]


def test_unknown_model_version_route_and_method(served):
    server, _ = served
    status, answer, _ = http("GET", server.url + "/v1/models/other")
    assert status == 404 and "Servable not found for request: Latest(other)" in answer["error"]
    status, answer, _ = http("GET", server.url + "/v1/models/emoji/versions/7")
    assert status == 404 and "Specific(emoji, 7)" in answer["error"]
    assert http("GET", server.url + "/v1/nothing")[0] == 404
    assert http("GET", server.url + "/v1/models/emoji:predict")[0] == 405
    assert http("GET", server.url + "/sheet.png?count=zero")[0] == 400
    assert http("GET", server.url + "/v1/models/emoji/versions/001")[0] == 200  # as int("001") reads it
    huge = "9" * 5000  # more digits than Python's int() takes: a clear 4xx, not a 500
    status, answer, _ = http("GET", server.url + f"/v1/models/emoji/versions/{huge}")
    assert status == 404 and "Specific(emoji" in answer["error"]
    status, answer, _ = http("POST", server.url + "/v1/models/emoji:predict",
                             raw=f'{{"signature_name": "generate", "inputs": {{"count": 1, "seed": {huge}}}}}'.encode())
    assert status == 400 and "JSON Parse error" in answer["error"]
    status, answer, _ = http("GET", server.url + f"/sheet.png?seed={huge}")
    assert status == 400 and "seed=" in answer["error"]


def test_a_model_name_full_of_markup_is_escaped_on_the_gallery_page(tmp_path):
    name = '<img src=y onerror="alert(1)">"+alert(2)+"'  # a folder name: anything but "/"
    export_tiny(tmp_path / name, 1)
    server = Server(tmp_path / name, "--poll-seconds", "0")
    try:
        status, page, _ = http("GET", server.url + "/")
        page = page.decode()
        assert status == 200 and "<img src=y" not in page and '"+alert(2)+"' not in page
        assert "&lt;img src=y onerror=&quot;alert(1)&quot;&gt;&quot;+alert(2)+&quot;" in page  # shown as text
        # in the script, one JSON string
        assert 'encodeURIComponent("\\u003cimg src=y onerror=\\"alert(1)\\">\\"+alert(2)+\\"")' in page
    finally:
        server.stop()


def test_inference_does_not_block_status_or_page(tmp_path):
    """A full-size generator making a 256-image sheet takes seconds; status and the page answer meanwhile."""
    base = tmp_path / "saved_models" / "big"
    export_tiny(base, 1, resolution=64, latent_dim=100, ngf=64, ndf=8)
    server = Server(base, "--poll-seconds", "0")
    try:
        http("GET", server.url + "/sheet.png?count=2")  # warm-up
        timings = {}

        def slow():  # the answer is one PNG: the time is the server's, not the client's JSON parsing
            started = time.perf_counter()
            timings["status"] = http("GET", server.url + "/sheet.png?count=256")[0]
            timings["slow"] = time.perf_counter() - started

        worker = threading.Thread(target=slow)
        worker.start()
        time.sleep(0.2)
        started = time.perf_counter()
        assert http("GET", server.url + "/v1/models/big")[0] == 200
        assert http("GET", server.url + "/")[0] == 200
        quick = time.perf_counter() - started
        still_running = worker.is_alive()
        worker.join()
        assert timings["status"] == 200
        assert still_running, f"the big request ({timings['slow']:.2f} s) ended before status and page answered"
        assert quick < timings["slow"] / 2
    finally:
        server.stop()


def test_load_500_requests_8_at_a_time_no_errors_flat_memory(served):
    server, _ = served
    noise = np.random.default_rng(1).normal(size=(4, NOISE_DIM)).tolist()

    def one(i):
        if i % 5 == 4:
            return http("GET", server.url + f"/sheet.png?seed={i}&count=16")[0]
        return predict(server, {"instances": noise})[0]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(100)))  # warm-up: allocator pools, caches
        before = server.rss_bytes()
        statuses = list(pool.map(one, range(500)))
        after = server.rss_bytes()
    assert statuses.count(200) == 500
    assert after - before < 64 << 20, f"RSS grew {(after - before) / 2**20:.1f} MiB over 500 requests"


@pytest.fixture
def reloading(tmp_path):
    """A server of its own: the versions it gains would change what the shared one serves (under
    xdist's work stealing a test of this module can run after this one on the same worker)."""
    base = tmp_path / "saved_models" / "emoji"
    export_tiny(base, 1)
    server = Server(base, "--poll-seconds", "0.3")
    yield server, base
    server.stop()


def test_new_version_is_picked_up_and_half_written_ones_are_not(reloading, tmp_path):
    server, base = reloading

    def version():
        return http("GET", server.url + "/v1/models/emoji")[1]["model_version_status"][0]["version"]

    # A half-copied folder (variables but no saved_model.pb yet), then a corrupt one: never served.
    source = export_tiny(tmp_path / "staging", 2, seed=5)
    partial = base / "2"
    shutil.copytree(source / "variables", partial / "variables")
    time.sleep(1.5)
    assert version() == "1"
    (partial / "saved_model.pb").write_bytes(b"not a protobuf")
    time.sleep(1.5)
    assert version() == "1" and http("GET", server.url + "/v1/models/emoji/versions/1")[0] == 200
    # A complete version 3 (written the way `emojigan export` does: temp name, then rename).
    export_tiny(base, 3, seed=9)
    deadline = time.monotonic() + 60
    while version() != "3" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert version() == "3"
    assert http("GET", server.url + "/v1/models/emoji/versions/1")[0] == 404
    status, answer, _ = predict(server, {"signature_name": "generate", "inputs": {"count": 2, "seed": 7}},
                                path="/v1/models/emoji/versions/3:predict")
    assert status == 200
    assert np.array_equal(np.array(answer["outputs"], np.uint8), load_generator(base / "3").generate(2, 7))
    assert any("did not load" in line for line in server.stderr_lines)


def test_when_the_served_version_is_deleted_the_next_one_is_served(reloading):
    """As TF Serving unloads a deleted version: the newest remaining complete version takes over."""
    server, base = reloading
    export_tiny(base, 2, seed=5)

    def version():
        return http("GET", server.url + "/v1/models/emoji")[1]["model_version_status"][0]["version"]

    deadline = time.monotonic() + 60
    while version() != "2" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert version() == "2"
    shutil.rmtree(base / "2")
    while version() != "1" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert version() == "1"
    status, answer, _ = predict(server, {"signature_name": "generate", "inputs": {"count": 2, "seed": 7}})
    assert status == 200
    assert np.array_equal(np.array(answer["outputs"], np.uint8), load_generator(base / "1").generate(2, 7))
    assert any("disappeared: serving version 1" in line for line in server.stderr_lines)


def test_serve_refuses_a_folder_without_versions(tmp_path):
    import subprocess
    import sys

    (tmp_path / "empty").mkdir()
    done = subprocess.run([sys.executable, "-m", "keras_emojigan.cli", "serve", str(tmp_path / "empty")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "holds no loadable version folder" in done.stderr
    assert "Traceback" not in done.stderr



def test_named_rows_work_for_a_one_input_signature(served):
    """TF Serving reads named-or-plain rows from the first element, whatever the number of inputs."""
    server, _ = served
    noise = np.random.default_rng(1).normal(size=(2, NOISE_DIM)).round(4).tolist()
    status, plain, _ = predict(server, {"instances": noise})
    assert status == 200
    status, named, _ = predict(server, {"instances": [{"latent": row} for row in noise]})
    assert status == 200 and named == plain
    status, answer, _ = predict(server, {"instances": [{"latent": noise[0]}, noise[1]]})
    assert status == 400 and "object" in answer["error"]


def test_metadata_prints_default_valued_fields_as_tf_serving_does(served):
    server, _ = served
    _, answer, _ = http("GET", server.url + "/v1/models/emoji/metadata")
    signatures = answer["metadata"]["signature_def"]["signature_def"]
    count = signatures["generate"]["inputs"]["count"]["tensor_shape"]
    assert count == {"dim": [], "unknown_rank": False}
    latent = signatures["serving_default"]["inputs"]["latent"]["tensor_shape"]
    assert latent["unknown_rank"] is False
    assert latent["dim"] == [{"size": "-1", "name": ""}, {"size": str(NOISE_DIM), "name": ""}]


@pytest.mark.parametrize("raw, message", [
    (b"[" * 60_000, "nests too deeply"),  # under the fixture's 64 KiB body limit
    (b'{"instances": ' + b"[" * 900 + b"1" + b"]" * 900 + b"}", "latent"),
])
def test_deeply_nested_json_is_a_400_and_the_server_keeps_serving(served, raw, message):
    server, _ = served
    status, answer, _ = http("POST", server.url + "/v1/models/emoji:predict", raw=raw)
    assert status == 400 and message in answer["error"], answer
    assert http("GET", server.url + "/v1/models/emoji")[0] == 200


def test_a_float_too_large_for_float32_is_refused(served):
    server, _ = served
    row = [0.0] * NOISE_DIM
    row[0] = 1e40
    status, answer, _ = predict(server, {"instances": [row]})
    assert status == 400 and "too large" in answer["error"], answer


def _foreign_saved_model(path):
    """Any SavedModel that is not an emojigan generator: a tf.Module with one signature of its own."""
    import tensorflow as tf

    class Doubler(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def double(self, x):
            return {"y": 2 * x}

    module = Doubler()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.double})
    return path


def test_a_foreign_or_damaged_saved_model_is_refused_by_name_and_never_served(tmp_path):
    from click.testing import CliRunner

    from keras_emojigan.cli import main

    foreign = _foreign_saved_model(tmp_path / "foreign")
    damaged = export_tiny(tmp_path / "damaged", 1)
    (damaged / "saved_model.pb").write_bytes(b"not a protocol buffer")
    runner = CliRunner()
    for args in (["sample", str(foreign), "-o", str(tmp_path / "x.png")],
                 ["interpolate", str(foreign), "--seeds", "1,2", "-o", str(tmp_path / "x.png")],
                 ["evaluate", str(foreign), "-n", "4"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and "is not an emojigan generator" in result.output, (args, result.output)
        assert "'generate' signature" in result.output or "signature takes x" in result.output
    result = runner.invoke(main, ["sample", str(damaged), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "could not be read" in result.output and "Traceback" not in result.output
    base = tmp_path / "saved_models" / "emoji"
    export_tiny(base, 1)
    server = Server(base, "--poll-seconds", "0.3")
    try:
        _foreign_saved_model(base / "2")  # a new version that is not a generator: logged, skipped
        time.sleep(2.5)
        assert http("GET", server.url + "/")[0] == 200
        assert http("GET", server.url + "/morph.png?from=1&to=2")[0] == 200
        status, answer, _ = http("GET", server.url + "/v1/models/emoji")
        assert status == 200 and answer["model_version_status"][0]["version"] == "1"
        assert any("is not an emojigan generator" in line for line in server.stderr_lines)
    finally:
        server.stop()


def test_a_model_base_loads_its_newest_version_as_tf_serving_serves_it(tmp_path):
    base = tmp_path / "emoji"
    export_tiny(base, 1)
    export_tiny(base, 2, seed=1)
    (base / "notes").mkdir()  # not a version
    loaded = load_generator(base)
    assert loaded.path == base / "2"
    assert np.array_equal(loaded.generate(2, 7), load_generator(base / "2").generate(2, 7))
    assert not np.array_equal(loaded.generate(2, 7), load_generator(base / "1").generate(2, 7))
