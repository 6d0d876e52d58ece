"""Training is unchanged by refactoring: each case of ``reference_fits.CASES`` (every preset,
latent and optional training part) gives the history.csv and sample grid recorded in
tests/data/reference_fits, and each shipped SavedModel draws the images recorded for fixed seeds.

Exact on a CPU with the instruction sets of the machine that recorded them (oneDNN picks its
kernels by them, and with them the last bits of a float32 sum); elsewhere within a relative 1e-4,
since six steps of a tiny GAN carry a rounding difference only that far."""

import hashlib
import json
import math

import numpy as np
import pytest
from reference_fits import CASES, REFERENCE_DIR, cpu_signature, run_case, write_data

SHIPPED = REFERENCE_DIR / "shipped.json"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_data(tmp_path_factory.mktemp("reference-data") / "data.npz")


def _close(recorded: str, got: str) -> bool:
    if recorded == "" or got == "":
        return recorded == got
    return math.isclose(float(recorded), float(got), rel_tol=1e-4, abs_tol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_short_fit_gives_the_recorded_history(name, data, tmp_path):
    reference = json.loads((REFERENCE_DIR / f"{name}.json").read_text())
    result = run_case(name, data, tmp_path / name)
    assert [list(row) for row in result["history"]] == [list(row) for row in reference["history"]]  # same columns
    if cpu_signature() == reference["cpu"]:
        assert result["history"] == reference["history"]
        assert result["samples_sha256"] == reference["samples_sha256"]
    else:
        for got, recorded in zip(result["history"], reference["history"], strict=True):
            differ = {k: (recorded[k], got[k]) for k in recorded if not _close(recorded[k], got[k])}
            assert not differ, differ


def shipped_digests() -> dict:
    """sha256 of each shipped model's 8 images for seed 3 (and for each class of a conditional one)."""
    from keras_emojigan.serving.generator import load_generator
    from keras_emojigan.shipped import version_folders

    digests = {}
    shipped = REFERENCE_DIR.parents[2] / "saved_models"
    for version in sorted(p for base in shipped.iterdir() for p in version_folders(base).values()):
        model = load_generator(version)
        labels = range(len(model.class_names)) if model.class_names else [None]
        for label in labels:
            images = model.generate(8, seed=3, label=label)
            key = f"{version.parent.name}/{version.name}" + (f"/class{label}" if label is not None else "")
            digests[key] = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()
    return digests


def test_the_shipped_models_draw_the_recorded_images():
    recorded = json.loads(SHIPPED.read_text())
    got = shipped_digests()
    assert set(got) >= set(recorded)
    assert {k: got[k] for k in recorded} == recorded


if __name__ == "__main__":  # record the shipped models' digests (only when a model ships)
    SHIPPED.write_text(json.dumps(shipped_digests(), indent=1) + "\n")


@pytest.mark.parametrize("name", ["lite", "r1-ada", "conditional-acgan"])
def test_a_run_dir_written_before_the_parts_resumes_to_the_recorded_history(name, data, tmp_path):
    """Its first epoch's checkpoint was written by the code before the model was parts (ADA's p, the
    EMA generator, LeCam's averages and the class head are restored by their old names)."""
    import shutil

    run_dir = tmp_path / name
    shutil.copytree(REFERENCE_DIR / "old_runs" / name, run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "data": str(data)}))  # the same images, here
    result = run_case(name, data, run_dir)
    reference = json.loads((REFERENCE_DIR / f"{name}.json").read_text())
    assert result["history"][0] == reference["history"][0]  # the old epoch, kept
    if cpu_signature() == reference["cpu"]:
        assert result == {k: reference[k] for k in result}
    if name == "lite":  # and its .keras file loads as an EmojiGAN with the same parts
        import keras

        from keras_emojigan.models.gan import EmojiGAN

        gan = keras.saving.load_model(REFERENCE_DIR / "old_runs" / name / "gan.keras", compile=False)
        assert isinstance(gan, EmojiGAN) and gan.d_outputs == ("logits", "reconstruction")
        assert [type(term).__name__ for term in gan.terms] == ["LeCam", "Reconstruction"]
        assert gan.generate(2, seed=1).shape == (2, 32, 32, 3)
