"""Where each class lives in an unconditional generator's noise space (InterFaceGAN).

An unconditional generator trained on labelled images already draws every class; asking it for
one is a matter of finding where the class lives, not of training it in. ``find_directions``:

1. fits a *labeller* on the real images only: a linear probe (``ClassProbe``) on the shipped
   emoji classifier's features, with a held-out fifth saying how well it tells the classes apart.
   The Inception-feature probe is kept for measuring (``evaluate --per-class``), so the
   measure is not the selector;
2. draws ``count`` seeded noise rows, generates their images and labels them with the probe;
3. fits, per class, a linear boundary (one class against the rest: for two classes, the one
   boundary between them) in the noise space, by logistic regression, and keeps its unit normal
   and offset: ``n . x + b`` is a row's signed distance from the boundary in noise standard
   deviations, positive on the class's side. With ``confident`` below 1 it is fitted, as
   InterFaceGAN's ``train_boundary`` does, only on the rows the labeller is surest of: the
   ``confident`` share with the highest margin for the class and the same share with the
   lowest (the labels near the labeller's own boundary are the noisiest). The space is the
   *noise* the SavedModel takes, the only one an exported model exposes; for a Gaussian latent
   (``dcgan``, and ``lite`` with it) it is the generator's input itself, for the proposed
   latent a linear map of it plus a shift.
   For DeLiGAN's mixture the component index is not a linear coordinate (the components are in
   no order), so each component's class shares are measured, a class keeps the components
   whose samples are mostly of it, and the boundary is fitted on the within-component noise;
   for the classes named in ``keep_colour`` ("all": every class), the normal is then made
   orthogonal to the noise directions that predict an image's mean red, green and blue (least
   squares on the same labelled rows): InterFaceGAN's conditional manipulation, for a labeller
   that reads colour as part of the class (on emoji-faces most non-yellow faces are Negative, so
   the fitted Negative normal turns faces blue and purple, which most real Negative emoji are
   not; real Positive emoji are yellow, and there the colour the normal brings is right);
4. sweeps the strength on fresh rows through the steered generator itself
   (``models.savedmodel.SteeredModule``, the graph that is exported) and reads each class's
   accuracy with the same labeller; the default strength is the smallest at which every class
   reaches ``TARGET``, else the one whose worst class is best.

The result is a JSON-able dict (``emojigan directions MODEL -o FILE`` writes it); ``emojigan export
MODEL --directions FILE`` writes the steered SavedModel, with the file beside it as ``DIRECTIONS_FILE``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_emojigan.errors import UserInputError
from keras_emojigan.models.savedmodel import saved_model_fingerprint

DIRECTIONS_FILE = "directions.json"
MAX_STRENGTH = 10.0  # a steered model's strength: noise standard deviations past the class boundary
MAX_CLASSES = 1000
STRENGTHS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)
TARGET = 0.9  # the labeller's accuracy the default strength aims at, per class
CHUNK = 500
MIN_KEPT = 0.25  # keep_colour: below this cosine to the fitted normal, what is left is the fit's noise


def find_directions(generator, real, *, count: int = 20000, seed: int = 0, sweep: int = 256,
                    strengths=STRENGTHS, extractor=None, confident: float = 1.0, keep_colour=(),
                    log=print) -> dict:
    """The class directions of ``generator`` (an unconditional ``LoadedGenerator``) for the classes
    of ``real`` (a labelled ``ImageSet``): see the module docstring. ``extractor`` defaults to the
    shipped emoji classifier's."""
    from keras_emojigan.metrics.extractors import get_extractor
    from keras_emojigan.models.class_probe import ClassProbe

    names = list(real.class_names)
    if len(names) < 2:
        raise UserInputError(f"{real.source} has no classes: directions need labelled real images (class "
                             "sub-folders, or the embedded emoji-faces)")
    if generator.class_names:
        raise UserInputError(f"{generator.path} already takes a class: directions are for an unconditional model")
    if count < 10 * len(names):
        raise UserInputError(f"--count {count}: draw at least {10 * len(names)} latents")
    if not 0.0 < confident <= 1.0 or (confident < 1.0 and confident * count < 10):
        raise UserInputError(f"--confident {confident}: give a share in (0, 1] that keeps at least 10 of the "
                             f"{count} latents on each side (1 fits on every labelled latent)")
    keep = _classes_named(keep_colour, names)  # before the slow labelling: a bad name is refused at once
    extractor = extractor or get_extractor("emoji")
    labeller = ClassProbe(len(names), seed=seed)
    fitted = labeller.fit(extractor.features(real.images).pool, np.asarray(real.labels), names)
    log(f"labeller ({extractor.name} features, fitted on {len(real)} real images): held-out accuracy "
        f"{fitted['probe_heldout_accuracy']:.1%}")

    noise_dim = generator.noise_dim
    noise = np.random.default_rng(seed).standard_normal((count, noise_dim)).astype(np.float32)
    logits, colours = _read(generator.from_latent, noise, labeller, extractor)
    labels, margins = np.argmax(logits, axis=1).astype(np.int32), _margins(logits)
    log(f"labelled {count} generated images: " + ", ".join(
        f"{name} {np.mean(labels == c):.1%}" for c, name in enumerate(names)))

    mixture = mixture_of(generator.metadata)
    steered = noise[:, : mixture["latent_dim"]] if mixture else noise
    shares = _component_shares(noise, labels, len(names), mixture) if mixture else None
    colour = _colour_basis(steered, colours) if keep else None
    if colour:
        log(f"mean colour from the noise: R^2 (red, green, blue) {', '.join(f'{r:.2f}' for r in colour['r2'])}, "
            f"along {colour['basis'].shape[1]} directions")
    classes = []
    for c, name in enumerate(names):
        entry = {"name": name, "share": float(np.mean(labels == c)),
                 **_boundary(steered, labels == c, name, seed, margin=margins[:, c], confident=confident)}
        if name in keep:
            entry.update(_keep_off(entry, colour["basis"], steered, labels == c, name))
            log(f"{name}: steered along the colour-free part of its normal (cosine {entry['kept_share']:.2f} to it)")
        if mixture:
            # the components whose samples are mostly of this class (at least the one with most)
            mostly = np.flatnonzero(shares[:, c] >= 0.5)
            entry["components"] = [int(k) for k in mostly] or [int(np.argmax(shares[:, c]))]
        classes.append(entry)
        log(f"{name}: boundary held-out accuracy {entry['boundary_heldout_accuracy']:.1%}"
            + (f", {len(entry['components'])} of {mixture['components']} components" if mixture else ""))
    if mixture:
        mixture["component_shares"] = shares.tolist()
    directions = {
        "model": str(generator.path), "model_fingerprint": saved_model_fingerprint(generator.path),
        "seed": seed, "latents": count, "noise_dim": noise_dim,
        "space": "mixture noise" if mixture else "noise", "confident": confident,
        "keep_colour": {"classes": keep, "r2": colour["r2"], "directions": int(colour["basis"].shape[1])}
        if colour else None,
        "labeller": {"extractor": extractor.name, "fitted_on": real.source, **fitted},
        "classes": classes, "mixture": mixture,
    }
    directions["selector_curve"] = strength_curve(generator, directions, labeller, extractor, strengths,
                                                  per_class=sweep, seed=seed + 1)
    directions["default_strength"] = default_strength(directions["selector_curve"], names)
    shares = directions["selector_curve"][str(directions["default_strength"])]
    log(f"default strength {directions['default_strength']}: " + ", ".join(f"{n} {shares[n]:.1%}" for n in names))
    if min(shares[n] for n in names) < TARGET:
        log(f"warning: no strength up to {max(strengths):g} makes the probe read every class {TARGET:.0%} of the "
            f"time; the default is the one whose worst class reads best ({min(shares.values()):.1%}): steering this "
            "model asks more of it than it can give every time")
    return directions


def steered_module(generator, directions: dict):
    """The steered generator (``SteeredModule``) around a loaded one, in memory."""
    from keras_emojigan.models.savedmodel import SteeredModule

    return SteeredModule(generator.module, generator.noise_dim, directions)


def strength_curve(generator, directions: dict, labeller, extractor, strengths, *, per_class: int = 256,
                   seed: int = 1) -> dict:
    """{strength: {class: share of that class's steered images the labeller reads as it}}."""
    import tensorflow as tf

    module = steered_module(generator, directions)
    noise = np.random.default_rng(seed).standard_normal((per_class, generator.noise_dim)).astype(np.float32)
    curve = {}
    for strength in strengths:
        row = {}
        for c, entry in enumerate(directions["classes"]):
            def images(rows, c=c, strength=strength):
                return module.serve(tf.constant(rows), tf.fill([len(rows)], c),
                                    tf.fill([len(rows)], float(strength)))["images"].numpy()
            row[entry["name"]] = float(np.mean(_label(images, noise, labeller, extractor) == c))
        curve[str(float(strength))] = row
    return curve


def default_strength(curve: dict, names) -> float:
    """The smallest strength at which every class reaches TARGET, else the best worst class."""
    worst = {float(s): min(row[n] for n in names) for s, row in curve.items()}
    reaching = [s for s, w in worst.items() if w >= TARGET]
    return min(reaching) if reaching else max(worst, key=lambda s: (worst[s], -s))


def load_directions(path: Path) -> dict:
    """A directions file (JSON), read; ``check_directions`` checks it against a model."""
    import json

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserInputError(f"{path} does not exist: write it with `emojigan directions MODEL -o {path}`") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserInputError(f"{path}: cannot be read as text ({type(err).__name__}): give a directions file "
                             "that `emojigan directions` wrote") from None
    try:
        directions = json.loads(text, parse_constant=lambda name: _refuse_constant(name, path))
    except ValueError as err:
        raise UserInputError(f"{path} is not a directions file (`emojigan directions` writes one): {err}") from None
    if not isinstance(directions, dict):
        raise UserInputError(f"{path} is not a directions file: it holds a JSON {type(directions).__name__}, "
                             "not an object")
    directions.setdefault("_source", str(path))
    return directions


def _refuse_constant(name, path):
    raise ValueError(f"it holds {name}, which is not a number (every value must be finite)")


def check_directions(directions: dict, noise_dim: int, *, mixture: dict | None = None, fingerprint: str = "",
                     model: str = "", warn=None) -> dict:
    """``directions`` checked against the model it is exported with (its noise size, its DeLiGAN
    mixture or None, its SavedModel fingerprint): keys, types, shapes, finite values, unit normals,
    unique class names, a default strength within +-MAX_STRENGTH. A file made for another model is
    refused when both have a fingerprint, and warned about (``warn``) when only the paths differ.
    Returns the directions without private keys; every error names the file and the field."""
    where = directions.get("_source", "the directions")

    def refuse(message):
        raise UserInputError(f"{where}: {message}; write the file again with `emojigan directions MODEL -o FILE`")

    def number(value, what, low=-1e6, high=1e6):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            refuse(f"{what} is {value!r}: it must be a finite number")
        if not low <= value <= high:
            refuse(f"{what} is {value!r}: it must lie in [{low:g}, {high:g}]")
        return float(value)

    classes = directions.get("classes")
    if not isinstance(classes, list) or not classes:
        refuse("'classes' must be a non-empty list of {name, normal, offset} objects")
    if len(classes) > MAX_CLASSES:
        refuse(f"{len(classes)} classes: at most {MAX_CLASSES}")
    expected_mixture = mixture
    given_mixture = directions.get("mixture")
    if (given_mixture is None) != (expected_mixture is None):
        refuse("it is for a " + ("DeLiGAN mixture latent" if given_mixture else "Gaussian latent")
               + f", the model has a {'mixture' if expected_mixture else 'Gaussian'} latent")
    if given_mixture is not None:
        if not isinstance(given_mixture, dict) or any(
                given_mixture.get(k) != expected_mixture[k] for k in ("latent_dim", "components")):
            refuse(f"'mixture' is {given_mixture!r}; the model's is {expected_mixture}")
    dims = expected_mixture["latent_dim"] if expected_mixture else noise_dim
    if "noise_dim" in directions and directions["noise_dim"] != noise_dim:
        refuse(f"'noise_dim' is {directions['noise_dim']!r}; the model takes {noise_dim}-dimensional noise")
    names = []
    for index, entry in enumerate(classes):
        what = f"class {index}"
        if not isinstance(entry, dict):
            refuse(f"{what} is not an object with name, normal and offset")
        missing = [k for k in ("name", "normal", "offset") if k not in entry]
        if missing:
            refuse(f"{what} has no {', '.join(missing)}")
        name = entry["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            refuse(f"{what}'s name {name!r} must be a non-empty string of at most 100 characters")
        if name.lower() in (n.lower() for n in names):
            refuse(f"two classes are named {name!r} (names must differ, ignoring case)")
        names.append(name)
        normal = entry["normal"]
        if not isinstance(normal, list) or len(normal) != dims:
            refuse(f"class {name!r}'s normal has {len(normal) if isinstance(normal, list) else 'no list of'} values; "
                   f"the model's {'mixture latent' if expected_mixture else 'noise'} has {dims} dimensions")
        values = np.array([number(v, f"a value of class {name!r}'s normal") for v in normal])
        if not 0.999 <= float(np.linalg.norm(values)) <= 1.001:
            refuse(f"class {name!r}'s normal has length {float(np.linalg.norm(values)):.4g}: it must be a unit vector")
        number(entry["offset"], f"class {name!r}'s offset", -100, 100)
        if expected_mixture:
            components = entry.get("components")
            if (not isinstance(components, list) or not components or any(
                    isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < expected_mixture["components"]
                    for k in components)):
                refuse(f"class {name!r}'s components {components!r} must be a non-empty list of the model's "
                       f"components, 0 to {expected_mixture['components'] - 1}")
    if "default_strength" in directions:
        number(directions["default_strength"], "'default_strength'", -MAX_STRENGTH, MAX_STRENGTH)
    made_for = directions.get("model_fingerprint")
    if made_for and fingerprint and made_for != fingerprint:
        refuse(f"it was made for another model (fingerprint {made_for}, this one's is {fingerprint})")
    other = directions.get("model")
    if not made_for and model and other and Path(other).resolve() != Path(model).resolve():
        (warn or print)(f"warning: {where} was made for {directions['model']}, not {model}; its directions "
                        "fit only the model they were found in")
    return {k: v for k, v in directions.items() if not k.startswith("_")}


def _classes_named(given, names) -> list[str]:
    """The classes of ``names`` that ``given`` names (case-insensitive; "all": every one), in their order."""
    given = [given] if isinstance(given, str) else list(given)
    if any(g.lower() == "all" for g in given):
        return list(names)
    lower = {n.lower(): n for n in names}
    unknown = [g for g in given if g.lower() not in lower]
    if unknown:
        raise UserInputError(f"--keep-colour {','.join(unknown)}: no such class; the classes are "
                             f"{', '.join(names)} (or all)")
    wanted = {lower[g.lower()] for g in given}
    return [n for n in names if n in wanted]


def _read(images_of, noise, labeller, extractor):
    """The labeller's logits [rows, classes] for the image of each noise row (generated in chunks),
    and each image's mean colour [rows, 3] (0-255)."""
    logits, colours = [], []
    for i in range(0, len(noise), CHUNK):
        images = images_of(noise[i: i + CHUNK])
        logits.append(labeller.logits(extractor.features(images).pool))
        colours.append(np.asarray(images, np.float32).mean(axis=(1, 2)))
    return np.concatenate(logits), np.concatenate(colours)


def _label(images_of, noise, labeller, extractor):
    """The labeller's class for the image of each noise row."""
    return np.argmax(_read(images_of, noise, labeller, extractor)[0], axis=1).astype(np.int32)


def _margins(logits: np.ndarray) -> np.ndarray:
    """[rows, classes]: each class's logit minus the highest other one."""
    others = np.stack([np.max(np.delete(logits, c, axis=1), axis=1) for c in range(logits.shape[1])], axis=1)
    return logits - others


def _colour_basis(x: np.ndarray, colours: np.ndarray) -> dict:
    """The noise directions along which the mean colour moves: the least-squares fit of each
    channel's mean on ``x`` (centred), each channel's weights divided by its residual's standard
    deviation, and the left singular vectors of those [dims, 3] whose singular value is above
    three times what noise alone gives (sqrt(dims / rows)): a channel the noise does not predict,
    or one that moves with another, adds no direction. Returns the orthonormal basis [dims, k]
    and each channel's R^2."""
    rows, dims = x.shape
    centred, inputs = colours - colours.mean(axis=0), x - x.mean(axis=0)
    weights, *_ = np.linalg.lstsq(inputs, centred, rcond=None)
    residual = centred - inputs @ weights
    spread = np.maximum(residual.std(axis=0), 1e-6)
    total = (centred ** 2).sum(axis=0)
    r2 = np.where(total > 1e-9, 1.0 - (residual ** 2).sum(axis=0) / np.maximum(total, 1e-12), 0.0)  # flat: 0
    vectors, values, _ = np.linalg.svd(weights / spread, full_matrices=False)
    return {"basis": vectors[:, values > 3.0 * np.sqrt(dims / rows)], "r2": [float(v) for v in r2]}


def _keep_off(entry: dict, basis: np.ndarray, x: np.ndarray, inside: np.ndarray, name: str) -> dict:
    """``entry``'s boundary with its normal's part in the span of ``basis`` removed: the unit normal
    of the rest, the offset of the hyperplane through the fitted boundary's point nearest the origin,
    the share of the normal kept (the cosine between the two normals) and the agreement of the new
    boundary with the labels."""
    normal = np.asarray(entry["normal"])
    rest = normal - basis @ (basis.T @ normal)
    kept = float(np.linalg.norm(rest))
    if kept < MIN_KEPT:
        raise UserInputError(f"{name}'s boundary lies along the images' colour (the colour-free direction is at "
                             f"cosine {kept:.2f} to it): --keep-colour leaves nothing to steer by; leave it out")
    rest /= kept
    offset = entry["offset"] * kept  # -(rest . p) for p = -offset * normal, the fitted boundary's nearest point
    return {"normal": rest.tolist(), "offset": float(offset), "kept_share": kept,
            "agreement_with_labels": float(np.mean(((x @ rest + offset) > 0) == inside))}


def _boundary(x: np.ndarray, inside: np.ndarray, name: str, seed: int, margin: np.ndarray | None = None,
              confident: float = 1.0) -> dict:
    """A logistic-regression boundary between ``inside`` rows and the rest, as a unit normal
    (pointing inside) and an offset, with its held-out accuracy on the rows it was fitted on
    and its agreement with the labels of all the rows. With ``confident`` < 1, fitted on the
    ``confident`` share of rows with the highest ``margin`` (the class's side) and the same share
    with the lowest (the rest), as InterFaceGAN does."""
    from keras_emojigan.models.class_probe import ClassProbe

    if inside.all() or not inside.any():
        raise UserInputError(f"the labeller reads {'every' if inside.all() else 'no'} generated image as {name}: "
                             "there is no boundary to find (is the model trained on these classes?)")
    chosen = np.arange(len(x))
    if confident < 1.0:
        order = np.argsort(margin, kind="stable")
        keep = max(int(round(confident * len(x))), 1)
        chosen = np.concatenate([order[:keep], order[-keep:]])
    side = margin[chosen] > 0 if confident < 1.0 else inside[chosen]
    if side.all() or not side.any():
        raise UserInputError(f"--confident {confident}: the {len(chosen)} surest rows are all on one side of {name}'s "
                             "boundary; give a smaller share")
    probe = ClassProbe(2, seed=seed)
    fitted = probe.fit(x[chosen], side.astype(np.int32), ["rest", name])
    weights, bias = probe.linear()
    w, b = weights[:, 1] - weights[:, 0], bias[1] - bias[0]
    norm = float(np.linalg.norm(w))
    agreement = float(np.mean(((x @ w + b) > 0) == inside))
    return {"normal": (w / norm).tolist(), "offset": float(b / norm), "fitted_on": int(len(chosen)),
            "boundary_heldout_accuracy": fitted["probe_heldout_accuracy"], "agreement_with_labels": agreement}


def mixture_of(metadata: dict) -> dict | None:
    """A DeLiGAN model's latent size and component count (from its emojigan.json), else None."""
    config = metadata.get("config") or {}
    if metadata.get("model") != "deligan":
        return None
    return {"latent_dim": int(config["latent_dim"]), "components": int(config["components"])}


def _components_of(noise: np.ndarray, mixture: dict) -> np.ndarray:
    """Each row's mixture component, by the latent layer's own rule (``MixtureLatent.component``:
    it reads only the noise, so an unbuilt layer of the same sizes gives the trained model's)."""
    from keras_emojigan.models.latents import MixtureLatent

    layer = MixtureLatent(mixture["latent_dim"], components=mixture["components"])
    return np.asarray(layer.component(noise)).astype(int)


def _component_shares(noise, labels, num_classes: int, mixture: dict) -> np.ndarray:
    """[components, classes]: the share of each component's samples the labeller puts in each class."""
    components = _components_of(noise, mixture)
    counts = np.zeros((mixture["components"], num_classes))
    np.add.at(counts, (components, labels), 1)
    return counts / np.maximum(counts.sum(1, keepdims=True), 1)

