"""The gallery page in headless Chromium (Debian's ``chromium``; `.ci/run` installs it).

Skipped when no Chromium is found, except under CI=true, where a missing browser fails. The
screenshot goes to ``$EMOJIGAN_ARTIFACTS`` (default ``test-artifacts/``) for a person to look at.
"""

import contextlib
import os
import shutil
from pathlib import Path

import pytest
from serving_helpers import TINY, export_colour_toy_steered, export_tiny

from keras_emojigan.serving.launcher import Server

ARTIFACTS = Path(os.environ.get("EMOJIGAN_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-default-apps", "--disable-sync", "--no-first-run",
                  "--metrics-recording-only"]

if not CHROMIUM:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI=true but no chromium: `apt-get install chromium` (the .ci/run script does)")
    pytest.skip("no chromium on PATH (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

# The spread of pixel values inside the sheet's first tile (gap 2 px, page scale 2): a blank,
# grey or broken image is flat there; the grid's gaps are left out.
TILE = 2 * TINY["resolution"]
PIXEL_SPREAD = """(img, tile) => {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0);
  const data = context.getImageData(4, 4, tile, tile).data;
  let sum = 0, squares = 0, n = 0;
  for (let i = 0; i < data.length; i += 4) {
    for (let c = 0; c < 3; c++) { const v = data[i + c]; sum += v; squares += v * v; n++; }
  }
  return Math.sqrt(squares / n - (sum / n) ** 2);
}"""


def sheet_state(page):
    image = page.locator("#sheet")
    page.wait_for_function("() => { const i = document.getElementById('sheet'); "
                           "return i.complete && i.naturalWidth > 0 }")
    return image.get_attribute("src"), image.evaluate(PIXEL_SPREAD, TILE), image.evaluate("i => i.naturalWidth")


@contextlib.contextmanager
def gallery_page(base, *options):
    """``emojigan serve BASE [OPTIONS]`` and a headless Chromium page on its gallery: (page, server,
    errors), where errors collects the page's script errors and any request that leaves the server
    (a data: URL does not)."""
    server = Server(base, "--poll-seconds", "0", *options)
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 900, "height": 800})
            errors = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.on("request", lambda req: errors.append(f"external request {req.url}")
                    if not req.url.startswith((server.url, "data:")) else None)
            page.goto(server.url + "/")
            yield page, server, errors
            browser.close()
    finally:
        server.stop()


def test_gallery_shows_emoji_and_the_button_changes_them(tmp_path):
    base = tmp_path / "saved_models" / "emoji"
    export_tiny(base, 1, contrast=40.0)
    with gallery_page(base) as (page, _, errors):
        first_src, first_spread, width = sheet_state(page)
        assert not page.locator("#class").is_visible() and not page.locator("#strength").is_visible()
        assert width > 0 and first_spread > 20, f"the sheet looks blank (pixel spread {first_spread:.1f})"
        page.wait_for_function("() => document.getElementById('version').textContent.startsWith('version 1')")
        first_pixels = page.locator("#sheet").screenshot()

        page.click("#new-batch")
        page.wait_for_function(f"() => document.getElementById('sheet').getAttribute('src') !== {first_src!r}")
        second_src, second_spread, _ = sheet_state(page)
        assert second_spread > 20 and second_src != first_src
        assert page.locator("#sheet").screenshot() != first_pixels, "the new batch looks the same"

        page.fill("#count", "4")
        page.click("#show")
        page.wait_for_function("() => document.getElementById('sheet').getAttribute('src').includes('count=4&')")
        assert sheet_state(page)[2] < width  # a 2x2 sheet is narrower than 4x4

        assert not page.locator("#morph").is_visible()  # no broken-image icon before the first morph
        page.fill("#from", "3")
        page.fill("#to", "11")
        page.fill("#steps", "6")
        page.click("#morph-show")
        page.wait_for_function("() => { const i = document.getElementById('morph'); "
                               "return i.complete && i.naturalWidth > 0 && i.src.includes('steps=6') }")
        morph = page.locator("#morph")
        assert morph.evaluate("i => i.naturalWidth") > 6 * morph.evaluate("i => i.naturalHeight")  # 7 in a row

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.fill("#count", "16")
        page.click("#show")
        sheet_state(page)
        page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)
    assert errors == []
    assert (ARTIFACTS / "gallery.png").stat().st_size > 1000


def test_the_gallery_of_a_conditional_model_has_a_class_picker(tmp_path):
    from keras_emojigan.models.gan import build_gan
    from keras_emojigan.models.savedmodel import export_saved_model

    gan = build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, num_classes=2)
    base = tmp_path / "saved_models" / "faces"
    export_saved_model(gan, base / "1", {"class_names": ["Negative", "Positive"]})
    with gallery_page(base) as (page, _, errors):
        sheet_state(page)
        assert page.locator("#class").is_visible() and not page.locator("#strength").is_visible()
        assert page.locator("#class option").all_inner_texts() == ["a mix", "Negative", "Positive"]
        page.select_option("#class", "1")
        page.wait_for_function("() => document.getElementById('sheet').getAttribute('src').endsWith('class=1')")
        assert sheet_state(page)[2] > 0
    assert errors == []


MEAN_RED_MINUS_BLUE = """img => {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let difference = 0;
  for (let i = 0; i < data.length; i += 4) difference += data[i] - data[i + 2];
  return difference / (data.length / 4);
}"""


def test_the_emotion_slider_of_a_steered_model_redraws_the_same_faces_from_one_class_to_the_other(tmp_path):
    base = tmp_path / "saved_models" / "colours"
    export_colour_toy_steered(base / "1")
    with gallery_page(base) as (page, _, errors):
        sheet_state(page)
        assert page.locator("#strength").is_visible()
        assert page.locator("#emotion .slider span").all_inner_texts() == ["blue", "red"]
        readings = {}
        for value in ("-3", "3"):
            page.locator("#strength").fill(value)  # a range input: sets the value and fires "input"
            klass = "0" if value.startswith("-") else "1"
            page.wait_for_function("() => document.getElementById('sheet').getAttribute('src')"
                                   f".endsWith('class={klass}&strength=3')")
            sheet_state(page)
            readings[value] = page.locator("#sheet").evaluate(MEAN_RED_MINUS_BLUE)
        assert page.locator("#class").input_value() == "1"  # the picker follows the slider
        assert readings["-3"] < -50 and readings["3"] > 50, readings  # blue, then red
        page.select_option("#class", "0")  # the picker puts the slider at the class's default strength
        assert page.locator("#strength").input_value() == "-1.5"
    assert errors == []


def test_an_uploaded_emoji_is_projected_its_emotion_moved_and_morphed_to_another(tmp_path, monkeypatch):
    from PIL import Image
    from serving_helpers import export_projectable, export_projectable_steered, write_random_lpips

    from keras_emojigan.serving.generator import load_generator

    write_random_lpips(tmp_path / "cache")
    monkeypatch.setenv("EMOJIGAN_CACHE", str(tmp_path / "cache"))  # the server's: the weights above
    plain = export_projectable(tmp_path / "plain" / "1")
    base = tmp_path / "saved_models" / "faces"
    export_projectable_steered(plain, base / "1")
    generator = load_generator(plain)
    for i, seed in enumerate((5, 6)):
        Image.fromarray(generator.generate(1, seed)[0]).resize((96, 96)).save(tmp_path / f"mine{i}.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with gallery_page(base, "--projection-steps", "20") as (page, _, errors):
        sheet_state(page)
        page.set_input_files("#upload", str(tmp_path / "junk.png"))
        page.click("#project")
        page.wait_for_function("() => document.getElementById('upload-message').textContent.includes('PNG, JPEG')")
        for i in range(2):
            page.set_input_files("#upload", str(tmp_path / f"mine{i}.png"))
            page.click("#project")
            page.wait_for_function(f"() => document.querySelectorAll('#uploads .pair').length === {i + 1}")
            page.wait_for_function("() => [...document.querySelectorAll('#uploads .pair img')].every("
                                   "i => i.hidden || (i.complete && i.naturalWidth > 0))")
        assert "LPIPS" in page.locator("#upload-message").inner_text()
        edited = page.locator("#uploads .pair img.edited").first
        page.wait_for_function("() => !document.querySelector('#uploads .pair img.edited').hidden")
        before = edited.get_attribute("src")
        page.locator("#strength").fill("-3")  # the slider redraws each upload at the other class
        page.wait_for_function(f"() => document.querySelector('#uploads .pair img.edited').src !== {before!r}")
        assert page.locator("#uploads-morph-show").is_visible()
        page.click("#uploads-morph-show")
        page.wait_for_function("() => { const i = document.getElementById('uploads-morph'); "
                               "return !i.hidden && i.complete && i.naturalWidth > 0 }")
        strip = page.locator("#uploads-morph")
        assert strip.evaluate("i => i.naturalWidth") > 8 * strip.evaluate("i => i.naturalHeight")  # 9 frames
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "gallery-uploads.png"), full_page=True)
    assert errors == []
