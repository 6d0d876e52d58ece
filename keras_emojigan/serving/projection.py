"""Projection on the server: a user's upload checked, laid out and projected (``projector.py``) in
one worker thread of its own, behind a bounded queue and a deadline, so that a projection (tens of
seconds of both cores) never holds up status, metadata, the page or the other generations, and a
burst of uploads cannot pile up memory.

Contract: ``Projections.submit`` either returns the result within ``timeout`` seconds of the
request's arrival (queue included) or raises ``RestError``: 413 too large, 415 not an image type
we take, 400 an image we cannot use (animated, tiny, blank, unreadable), 503 (Retry-After) when
``max_queued`` projections are already queued or running, or the LPIPS weights are missing, 504
past the deadline (the projection stops at its next step). Projectors are built once per served
version (the generator rebuilt from its SavedModel) and LPIPS once per server.
"""

from __future__ import annotations

import asyncio
import base64
import io
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_emojigan.errors import UserInputError
from keras_emojigan.serving.rest import RestError

IMAGE_TYPES = ("PNG", "JPEG", "WEBP", "GIF", "BMP")  # Pillow's format names of the uploads taken
LATENT_BOUND = 10.0  # |value| of one latent number: standard-normal noise is within +-6 in a billion draws


@dataclass(frozen=True)
class ProjectionLimits:
    """Each is a ``serve`` option of the same name."""

    max_upload_bytes: int = 4 << 20
    max_upload_pixels: int = 16_000_000
    max_queued: int = 2  # projections queued or running; past it, 503 with Retry-After
    projection_timeout: float = 180.0  # seconds from the request's arrival to its answer
    projection_steps: int = 300


class _Stopped(Exception):
    """Raised from a projection's progress callback once its deadline has passed."""


class Projections:
    """The server's projections: one worker, at most ``max_queued`` queued or running."""

    def __init__(self, limits: ProjectionLimits | None = None):
        self.limits = limits or ProjectionLimits()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="projection")
        self.pending = 0  # the event loop's thread only
        self._built = None  # (the served version's path, its projector): the one worker's thread only
        self._lpips = None

    def check_size(self, size: int) -> None:
        """413 for an upload over --max-upload-bytes (the handler checks the declared length first)."""
        limit = self.limits.max_upload_bytes
        if size > limit:
            raise RestError(f"the upload is {size:,} bytes; the most this server takes is {limit:,} "
                            "(--max-upload-bytes)", 413)

    def check_upload(self, body: bytes) -> None:
        """The cheap checks, on the event loop before queueing: size and image type."""
        from PIL import Image, UnidentifiedImageError

        if not body:
            raise RestError("the upload is empty: send the image file's bytes as the request body")
        self.check_size(len(body))
        try:
            with Image.open(io.BytesIO(body)) as image:
                kind = image.format
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            kind = None
        if kind not in IMAGE_TYPES:
            raise RestError(f"not an image of a type this server takes ({'unreadable' if kind is None else kind}): "
                            "send a PNG, JPEG, WebP, GIF or BMP", 415)

    async def submit(self, body: bytes, served) -> dict:
        """Queue the projection of ``body`` into ``served`` (a ``LoadedVersion``) and await it."""
        self.check_upload(body)
        if self.pending >= self.limits.max_queued:
            raise RestError(f"{self.pending} projections are queued or running, the most this server takes "
                            "(--max-queued-projections): retry shortly", 503)
        deadline = time.monotonic() + self.limits.projection_timeout
        self.pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, self._project, body, served, deadline)
        finally:
            self.pending -= 1

    def _project(self, body: bytes, served, deadline: float) -> dict:
        from keras_emojigan.data.emoji_canvas import prepare_user_image
        from keras_emojigan.data.sources import ImageReadError

        if time.monotonic() > deadline:
            raise self._late()
        generator = served.generator
        with tempfile.TemporaryDirectory(prefix="emojigan-upload-") as folder:
            path = Path(folder) / "upload"
            path.write_bytes(body)
            try:
                target = prepare_user_image(path, generator.resolution, animated_ok=False,
                                            max_pixels=self.limits.max_upload_pixels)
            except ImageReadError as err:
                raise RestError(f"the upload cannot be projected: {err}") from None
        projector = self._projector(served)
        start = time.monotonic()

        def progress(_):
            if time.monotonic() > deadline:
                raise _Stopped()

        try:
            found = projector.project(target, seed=0, progress=progress)
        except _Stopped:
            raise self._late() from None
        latent = found.latent[None]
        drawn = generator.from_latent(latent)[0]  # a steered model's own mix: the latent unmoved
        return {"latent": [float(x) for x in found.latent], "lpips": found.lpips,
                "seconds": round(time.monotonic() - start, 2), "version": served.version,
                "input_png": _png_base64(target), "projection_png": _png_base64(drawn)}

    def _late(self) -> RestError:
        return RestError(f"the projection did not finish within {self.limits.projection_timeout:g} s "
                         "(--projection-timeout); try again when the server is less busy", 504)

    def _projector(self, served):
        """The served version's projector (built on its first upload, in the one worker's thread)."""
        from keras_emojigan.metrics.lpips import load_lpips
        from keras_emojigan.models.restored_generator import restore_generator
        from keras_emojigan.projector import ProjectionSettings, Projector
        from keras_emojigan.training.precision import resolve_precision

        key = str(served.generator.path)
        if self._built is None or self._built[0] != key:  # a new version: rebuild (only one is kept)
            generator = served.generator
            try:
                if self._lpips is None:
                    self._lpips = load_lpips(resolve_precision("auto"))  # bfloat16 where native
                rebuilt = restore_generator(generator.path, generator.from_latent)
            except UserInputError as err:  # no LPIPS weights here, or a model that cannot be rebuilt
                raise RestError(f"projection is not available on this server: {err}", 503) from None
            self._built = key, Projector(rebuilt, self._lpips, ProjectionSettings(steps=self.limits.projection_steps))
        return self._built[1]

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _png_base64(image: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def parse_latents(body: dict, noise_dim: int, max_rows: int = 2) -> np.ndarray:
    """``{"latents": [[...], ...]}`` (1 to ``max_rows`` rows of ``noise_dim`` finite numbers, each
    within +-LATENT_BOUND) -> float32 [rows, noise_dim]; else RestError saying what is wrong."""
    rows = body.get("latents") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not 1 <= len(rows) <= max_rows:
        raise RestError(f'give "latents": a list of 1 to {max_rows} latents (each a list of {noise_dim} numbers, '
                        "as POST /project returns)")
    try:
        array = np.array(rows, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.shape != (len(rows), noise_dim):
        raise RestError(f"each latent must be a list of {noise_dim} numbers")
    if not np.all(np.isfinite(array)) or np.abs(array).max() > LATENT_BOUND:
        raise RestError(f"latent values must be finite numbers within +-{LATENT_BOUND:g} (standard-normal noise)")
    return array.astype(np.float32)

