"""``emojigan serve``: TF Serving's REST API and an emoji gallery page, on aiohttp.

Routes (TF Serving's, https://www.tensorflow.org/tfx/serving/api_rest):
- ``GET /v1/models/NAME[/versions/V]``: version status;
- ``GET /v1/models/NAME[/versions/V]/metadata``: the SignatureDefs;
- ``POST /v1/models/NAME[/versions/V]:predict``: row or columnar predict (``rest.py``).
And ours: ``GET /`` the gallery page, ``GET /sheet.png?seed=S&count=C`` one PNG sheet from the
``generate`` signature, ``GET /morph.png?from=A&to=B&steps=N`` a strip morphing between two
seeds (``interpolate.py``); for a conditional model both take ``class=NAME|INDEX``, for a
steered one (``export --directions``) also ``strength=S``. ``POST /project`` (an image file as the
body) finds the latent of a user's emoji (``projection.py``: its own worker, queue and deadline)
and ``POST /latent.png`` (JSON: ``latents``, one or two rows, and ``steps``, ``class``,
``strength``) draws it, edited or morphed to another; REST clients can draw the same latents with
``:predict`` (``serving_default`` takes a ``latent``).
Inference, JSON parsing and encoding run in a thread pool (TensorFlow releases the GIL), so
status, metadata and the page answer while a big request computes; a background task polls the
model folder for new versions (``versions.py``).
What one client can hold is bounded (``Bounds``): at most ``max_pending`` generations in flight
(queued, computing or being sent; past it a 503 with Retry-After), a request's headers within
``header_timeout`` (also the idle time allowed between requests: aiohttp's keep-alive timer,
which also closes a connection whose headers never complete), its body within ``body_timeout``
(408), and a reply the client does not read is dropped after ``write_timeout``, its memory freed.
Labels (``/labels/L``) and ``:classify``/``:regress`` are not supported: a generator has no use
for them.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources

import numpy as np
from aiohttp import web

from keras_emojigan.serving.generator import (
    MAX_STRENGTH,
    SEED_MAX,
    SEED_MIN,
    STRENGTH_INPUT,
    SavedModelError,
    check_strength,
)
from keras_emojigan.serving.projection import ProjectionLimits, Projections, parse_latents
from keras_emojigan.serving.rest import Limits, RestError, parse_body, pick_signature, request_tensors, response_json
from keras_emojigan.serving.versions import LoadedVersion, ModelVersions

log = logging.getLogger("keras_emojigan.serve")
NAME = r"{name:[^/:]+}"
VERSION = r"{version:[0-9]+}"
VERSIONS_KEY = web.AppKey("versions", ModelVersions)
LIMITS_KEY = web.AppKey("limits", Limits)
EXECUTOR_KEY = web.AppKey("executor", ThreadPoolExecutor)
PROJECTIONS_KEY = web.AppKey("projections", Projections)
SLIDER_END = 4.0  # the gallery's emotion slider runs to this strength each way
# Connections the kernel queues before we accept them (aiohttp's default is 128; past it a new
# client's SYN is dropped and retried a second or more later): room for a burst of hundreds.
BACKLOG = 1024
SLICE_BYTES = 1 << 20  # a big reply is written this much at a time, as the client reads


@dataclass(frozen=True)
class Bounds:
    """What one client may hold on the server; each is a ``serve`` option of the same name."""

    max_pending: int = 8  # generations in flight: predicts, sheets and morphs, queued or being sent
    header_timeout: float = 15.0  # seconds to send a request's headers, and to stay idle between requests
    body_timeout: float = 30.0  # seconds to send a request's body
    write_timeout: float = 30.0  # seconds a reply may wait for the client to read it


class _InFlight:
    """The count of generations in flight (the event loop's thread only, so no lock)."""

    def __init__(self):
        self.count = 0


BOUNDS_KEY = web.AppKey("bounds", Bounds)
IN_FLIGHT_KEY = web.AppKey("in_flight", _InFlight)


@web.middleware
async def bounded(request: web.Request, handler):
    """Refuse a generation past ``max_pending`` (503, Retry-After), and send every reply here
    within ``write_timeout``: a client that does not read is dropped (the connection aborted, its
    buffered reply freed) instead of holding the reply's memory for as long as it likes. A
    generation's slot is held until its reply is sent, so the slots bound the memory too."""
    bounds, in_flight = request.app[BOUNDS_KEY], request.app[IN_FLIGHT_KEY]
    generation = getattr(request.match_info, "handler", None) in (predict, sheet, morph, latent_png)
    if generation and in_flight.count >= bounds.max_pending:
        response = web.json_response({"error": f"{in_flight.count} generations are in flight, the most this "
                                               f"server takes (--max-pending): retry shortly"},
                                     status=503, headers={"Retry-After": "1"})
        return await _send(request, response, bounds.write_timeout)
    in_flight.count += int(generation)
    try:
        response = await _send(request, await handler(request), bounds.write_timeout)
        if response.status == 408 and request.protocol is not None:  # not 10 s more reading a late body
            request.protocol.force_close()
        return response
    finally:
        in_flight.count -= int(generation)


async def _send(request: web.Request, response: web.StreamResponse, seconds: float) -> web.StreamResponse:
    """Write ``response`` (if aiohttp has not yet), or abort the connection after ``seconds``, and
    return what was sent. A big body goes out in slices as the client reads (not copied whole into
    the socket's buffer). After an abort aiohttp's own write fails as a reset connection, which it
    expects and logs quietly."""
    if response.prepared:
        return response
    body = response.body if isinstance(response, web.Response) else None
    if isinstance(body, bytes) and len(body) > SLICE_BYTES:
        sliced = web.StreamResponse(status=response.status, headers=response.headers)
        sliced.content_length = len(body)
        response = sliced
    try:
        await asyncio.wait_for(_write(request, response, body), seconds)
    except asyncio.TimeoutError:
        log.warning("dropped %s %s from %s: the reply was not read within %g s (--write-timeout)",
                    request.method, request.path, request.remote, seconds)
        if request.transport is not None:
            request.transport.abort()
    return response


async def _write(request: web.Request, response: web.StreamResponse, body) -> None:
    await response.prepare(request)
    if body is not None and not isinstance(response, web.Response):  # the sliced copy made in _send
        view = memoryview(body)
        for start in range(0, len(view), SLICE_BYTES):
            await response.write(view[start:start + SLICE_BYTES])
    await response.write_eof()


@web.middleware
async def json_errors(request: web.Request, handler):
    """Every failure as ``{"error": "..."}`` with its status code, as TF Serving answers."""
    try:
        return await handler(request)
    except RestError as err:
        return web.json_response({"error": str(err)}, status=err.status)
    except web.HTTPRequestEntityTooLarge as err:
        limit = request.app[LIMITS_KEY].max_body_bytes
        return web.json_response({"error": f"request body larger than {limit} bytes (--max-body-bytes)"},
                                 status=err.status)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        where = f": {request.method} {request.path}" if err.status in (404, 405) else ""
        return web.json_response({"error": err.reason + where}, status=err.status, headers=_allow(err))
    except Exception as err:  # a bug or a TensorFlow error: answer, log, keep serving
        log.exception("error answering %s %s", request.method, request.path)
        return web.json_response({"error": f"{type(err).__name__}: {err}"}, status=500)


def _allow(err: web.HTTPException) -> dict:
    return {"Allow": err.headers["Allow"]} if "Allow" in err.headers else {}


def _served(request: web.Request) -> LoadedVersion:
    versions = request.app[VERSIONS_KEY]
    name, wanted = request.match_info["name"], request.match_info.get("version")
    current = versions.current
    if name != versions.name:
        spec = f"Specific({name}, {wanted})" if wanted else f"Latest({name})"
        raise RestError(f"Servable not found for request: {spec}; this server serves '{versions.name}'", 404)
    # (compared as text: int() refuses more than 4,300 digits, and versions are plain numbers)
    if wanted is not None and wanted.lstrip("0") != str(current.version):
        raise RestError(f"Servable not found for request: Specific({name}, {wanted}); "
                        f"version {current.version} is served", 404)
    return current


async def status(request: web.Request) -> web.Response:
    served = _served(request)
    return web.json_response({"model_version_status": [
        {"version": str(served.version), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})


async def metadata(request: web.Request) -> web.Response:
    served = _served(request)
    return web.json_response({
        "model_spec": {"name": request.app[VERSIONS_KEY].name, "signature_name": "", "version": str(served.version)},
        "metadata": {"signature_def": {"signature_def": served.signature_def}}})


async def _run(request: web.Request, fn, *args):
    return await asyncio.get_running_loop().run_in_executor(request.app[EXECUTOR_KEY], fn, *args)


async def predict(request: web.Request) -> web.Response:
    served = _served(request)
    limits = request.app[LIMITS_KEY]
    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=limits.max_body_bytes, actual_size=request.content_length)
    body = await _run(request, parse_body, await _body(request))  # 8 MB of JSON is seconds of parsing: off the loop
    signature = pick_signature(body, served.signatures)
    arrays, layout = request_tensors(body, signature, limits)
    if STRENGTH_INPUT in arrays:  # a steered model: beyond its bounds the images go black or to noise
        try:
            check_strength(arrays[STRENGTH_INPUT], "input 'strength'")
        except SavedModelError as err:
            raise RestError(str(err)) from None
    outputs = await _run(request, _call, signature.function, arrays)
    body = await _run(request, response_json, outputs, layout)  # 256 images are 3M numbers: off the loop too
    return web.Response(body=body, content_type="application/json")


async def _body(request: web.Request) -> bytes:
    """The request's body, or 408 when it does not arrive within --body-timeout."""
    seconds = request.app[BOUNDS_KEY].body_timeout
    try:
        return await asyncio.wait_for(request.read(), seconds)
    except asyncio.TimeoutError:
        raise RestError(f"the request body did not arrive within {seconds:g} s (--body-timeout)", 408) from None


async def project(request: web.Request) -> web.Response:
    """The latent of the uploaded image (the body: a PNG, JPEG, WebP, GIF or BMP file) in the served
    model, its laid-out input and its projection as base64 PNGs, LPIPS and seconds."""
    projections = request.app[PROJECTIONS_KEY]
    if request.content_length is not None:
        projections.check_size(request.content_length)  # before reading a body that is too large
    result = await projections.submit(await _body(request), request.app[VERSIONS_KEY].current)
    return web.json_response(result, headers={"Cache-Control": "no-store"})


async def latent_png(request: web.Request) -> web.Response:
    """A PNG of one latent (as POST /project returns it), or of the morph between two in ``steps``
    frames; a steered model's at ``class`` and ``strength``, a conditional one's in ``class``."""
    from keras_emojigan.interpolate import latent_path

    served = request.app[VERSIONS_KEY].current
    body = await _run(request, parse_body, await _body(request))
    signature = served.signatures["serving_default"]
    latents = parse_latents(body, int(signature.inputs["latent"].shape[1]))
    steps = _int_value(body, "steps", 8, 1, min(64, request.app[LIMITS_KEY].max_count - 1))
    scale = _int_value(body, "scale", 1, 1, 4)
    path = latent_path(latents, steps) if len(latents) == 2 else latents
    query = {key: str(body[key]) for key in ("class", "strength") if key in body}
    arrays = {"latent": path, **_class_inputs(signature, served, query, len(path))}
    images = (await _run(request, _call, signature.function, arrays))["images"]
    return web.Response(body=await _run(request, _png, images, len(path), scale), content_type="image/png",
                        headers={"X-Model-Version": str(served.version), "Cache-Control": "no-store"})


def _int_value(body: dict, key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RestError(f"{key}={str(value)[:40]!r}: give a whole number from {low} to {high}")
    return value


def _call(function, arrays: dict) -> dict:
    import tensorflow as tf

    try:
        results = function(**{name: tf.constant(array) for name, array in arrays.items()})
    except (tf.errors.InvalidArgumentError, ValueError, TypeError) as err:
        raise RestError(f"the model refused the inputs: {_reason(err)}") from None
    return {name: np.asarray(value) for name, value in results.items()}


def _reason(err: Exception) -> str:
    """The line of a TensorFlow error that says what was wrong (an assertion's message, not
    "Graph execution error:" and the trace of where the graph was defined)."""
    lines = [line.strip() for line in getattr(err, "message", str(err)).splitlines() if line.strip()]
    for line in lines:
        if "assertion failed:" in line:
            return line.split("assertion failed:", 1)[1].split("]")[0].strip(" [")
    useful = [line for line in lines if not line.startswith(("Graph execution error", "Detected at node", "File ",
                                                             "<stack traces unavailable>"))]
    return (useful or lines or ["unknown error"])[0]


def _int_query(request: web.Request, key: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(key, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise RestError(f"{key}={raw!r}: give a whole number") from None
    if not low <= value <= high:
        raise RestError(f"{key}={value}: give {low} to {high}")
    return value


async def sheet(request: web.Request) -> web.Response:
    """One PNG sheet of ``count`` images for ``seed`` from the ``generate`` signature."""
    served = request.app[VERSIONS_KEY].current
    limits = request.app[LIMITS_KEY]
    seed = _int_query(request, "seed", 0, SEED_MIN, SEED_MAX)
    count = _int_query(request, "count", 16, 1, limits.max_count)
    scale = _int_query(request, "scale", 1, 1, 4)
    arrays = {"count": np.int32(count), "seed": np.int64(seed)}
    if "label" in served.signatures["generate"].inputs:  # a conditional model: one class, or -1 for a mix
        arrays["label"] = np.int32(_class_query(request.query, served))
    if "strength" in served.signatures["generate"].inputs:  # a steered model: how far into the class
        arrays["strength"] = np.float32(_strength_query(request.query, served))
    images = (await _run(request, _call, served.signatures["generate"].function, arrays))["images"]

    return web.Response(body=await _run(request, _png, images, None, scale), content_type="image/png",
                        headers={"X-Model-Version": str(served.version), "Cache-Control": "no-store"})


async def morph(request: web.Request) -> web.Response:
    """A PNG strip morphing from ``from`` to ``to`` (seeds) in ``steps`` frames (``interpolate.py``)."""
    from keras_emojigan.interpolate import latent_path, seed_noise

    served = request.app[VERSIONS_KEY].current
    first = _int_query(request, "from", 0, SEED_MIN, SEED_MAX)
    last = _int_query(request, "to", 1, SEED_MIN, SEED_MAX)
    steps = _int_query(request, "steps", 8, 1, min(64, request.app[LIMITS_KEY].max_count - 1))
    scale = _int_query(request, "scale", 1, 1, 4)
    signature = served.signatures["serving_default"]
    noise_dim = int(signature.inputs["latent"].shape[1])
    path = await _run(request, lambda: latent_path(seed_noise([first, last], noise_dim), steps))
    arrays = {"latent": path, **_class_inputs(signature, served, request.query, len(path))}
    images = (await _run(request, _call, signature.function, arrays))["images"]
    return web.Response(body=await _run(request, _png, images, steps + 1, scale), content_type="image/png",
                        headers={"X-Model-Version": str(served.version), "Cache-Control": "no-store"})


def _class_inputs(signature, served: LoadedVersion, query, rows: int) -> dict:
    """The ``label`` (and ``strength``) inputs of ``rows`` latents drawn at one class: a steered model's
    at ``query``'s class and strength (or its own mix), a conditional model's in its class (the first
    without one); nothing for an unconditional model."""
    if "strength" in signature.inputs:
        return {"label": np.full(rows, _class_query(query, served), np.int32),
                "strength": np.full(rows, _strength_query(query, served), np.float32)}
    if "label" in signature.inputs:
        return {"label": np.full(rows, max(_class_query(query, served), 0), np.int32)}
    return {}


def _class_query(query, served: LoadedVersion) -> int:
    """``class=NAME|INDEX`` of a conditional model's page requests (the generator's own rules);
    -1 (a mix) when absent."""
    raw = query.get("class", "")
    if raw in ("", "-1", "mix"):
        return -1
    try:
        return served.generator.class_index(raw)
    except SavedModelError as err:
        raise RestError(str(err)) from None


def _strength_query(query, served: LoadedVersion) -> float:
    """``strength=S`` of a steered model's page requests (default: the model's own)."""
    raw = query.get("strength", "")
    if raw == "":
        return served.generator.default_strength
    try:
        return float(check_strength(float(raw)))
    except (ValueError, SavedModelError):  # SavedModelError: nan, inf or beyond MAX_STRENGTH
        raise RestError(f"strength={raw[:40]!r}: give a number from {-MAX_STRENGTH:g} to {MAX_STRENGTH:g}") from None


def _png(images, columns, scale) -> bytes:
    from keras_emojigan.grid import image_grid

    grid = image_grid(images, columns)
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), resample=0)
    buffer = io.BytesIO()
    grid.save(buffer, "PNG")
    return buffer.getvalue()


async def gallery(request: web.Request) -> web.Response:
    page = resources.files("keras_emojigan.serving").joinpath("gallery.html").read_text(encoding="utf-8")
    versions = request.app[VERSIONS_KEY]
    # The model's name is a folder name: anything may be in it. Escaped for HTML, and as a JSON
    # string (with "<" escaped, so no "</script>" ends the script) where the script uses it.
    script_name = json.dumps(versions.name).replace("<", "\\u003c")
    page = (page.replace("{{MODEL_JSON}}", script_name).replace("{{MODEL}}", html.escape(versions.name))
            .replace("{{MAX_COUNT}}", str(request.app[LIMITS_KEY].max_count)))
    names = versions.current.generator.class_names
    options = "".join(f'<option value="{i}">{html.escape(n)}</option>' for i, n in enumerate(names))
    page = page.replace("{{CLASS_OPTIONS}}", options).replace("{{CLASS_HIDDEN}}", "" if names else "hidden")
    # A steered model gets an emotion slider: with two classes it runs from the first (left) to the
    # second (right), its value the signed strength; with more, the picked class's strength.
    generator = versions.current.generator
    two = generator.steered and len(names) == 2
    slider = {"STRENGTH_HIDDEN": "" if generator.steered else "hidden",
              "STRENGTH_DEFAULT": f"{generator.default_strength:g}",
              "STRENGTH_MIN": f"{-SLIDER_END if two else 0:g}", "STRENGTH_MAX": f"{SLIDER_END:g}",
              "STRENGTH_LEFT": html.escape(names[0]) if two else "0",
              "STRENGTH_RIGHT": html.escape(names[1]) if two else "more", "TWO_CLASSES": "true" if two else "false"}
    for key, value in slider.items():
        page = page.replace("{{" + key + "}}", value)
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


async def _poll_forever(app: web.Application, seconds: float):
    versions, loop = app[VERSIONS_KEY], asyncio.get_running_loop()
    with ThreadPoolExecutor(1, thread_name_prefix="reload") as loader:
        while True:
            await asyncio.sleep(seconds)
            try:
                await loop.run_in_executor(loader, versions.poll)
            except Exception:  # never let a bad folder stop the polling
                log.exception("polling %s failed", versions.base)


def make_app(versions: ModelVersions, *, limits: Limits | None = None, bounds: Bounds | None = None,
             projection: ProjectionLimits | None = None, workers: int = 2,
             poll_seconds: float = 2.0) -> web.Application:
    """The aiohttp application; ``versions`` must already hold a loaded version. ``bounds``'s
    header timeout is the server's (``serve``), not the application's."""
    limits = limits or Limits()
    if versions.current is None:
        raise ValueError("load a version first (ModelVersions.load_initial)")
    app = web.Application(middlewares=[bounded, json_errors], client_max_size=limits.max_body_bytes)
    app[VERSIONS_KEY], app[LIMITS_KEY] = versions, limits
    app[BOUNDS_KEY], app[IN_FLIGHT_KEY] = bounds or Bounds(), _InFlight()
    app[EXECUTOR_KEY] = ThreadPoolExecutor(workers, thread_name_prefix="inference")
    app[PROJECTIONS_KEY] = Projections(projection)
    for prefix in (f"/v1/models/{NAME}", f"/v1/models/{NAME}/versions/{VERSION}"):
        app.router.add_get(prefix, status)
        app.router.add_get(prefix + "/metadata", metadata)
        app.router.add_post(prefix + ":predict", predict)
    app.router.add_get("/", gallery)
    app.router.add_get("/sheet.png", sheet)
    app.router.add_get("/morph.png", morph)
    app.router.add_post("/project", project)
    app.router.add_post("/latent.png", latent_png)

    async def background(app):
        task = asyncio.create_task(_poll_forever(app, poll_seconds)) if poll_seconds > 0 else None
        yield
        if task:
            task.cancel()
        app[EXECUTOR_KEY].shutdown(wait=False, cancel_futures=True)
        app[PROJECTIONS_KEY].shutdown()

    app.cleanup_ctx.append(background)
    return app


def _return_freed_memory_to_the_os() -> None:
    """glibc raises its mmap threshold after big blocks are freed (up to 32 MB) and gives each thread
    an arena, so the memory of big replies, once freed, stays in the process (docs/serving.md has
    the load test). A fixed 128 KiB threshold (what ``MALLOC_MMAP_THRESHOLD_`` sets) and two
    arenas return it. Not glibc: nothing."""

    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_mmap_threshold, m_arena_max = -3, -8  # glibc's malloc.h
    mallopt(m_mmap_threshold, 128 << 10)
    mallopt(m_arena_max, 2)


def serve(versions: ModelVersions, *, host: str, port: int, on_ready=None, **options) -> None:
    """Run until interrupted; ``on_ready(url)`` is called once the socket listens (port 0 picks one)."""
    _return_freed_memory_to_the_os()
    app = make_app(versions, **options)

    async def main():
        # aiohttp's keep-alive timer runs from the connection's start and from each reply, and closes
        # a connection still waiting for a complete request then: the header timeout and idle timeout.
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=app[BOUNDS_KEY].header_timeout)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=BACKLOG)
        await site.start()
        bound = runner.addresses[0]
        if on_ready:
            on_ready(f"http://{bound[0] if ':' not in bound[0] else f'[{bound[0]}]'}:{bound[1]}")
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
