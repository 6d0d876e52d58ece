"""scripts/tools/build_emoji_faces.py: label selection, name matching and image preparation.

The full rebuild downloads packages; these tests check its pieces offline.
"""


import numpy as np
from PIL import Image

from keras_emojigan.data import emoji_build as build  # noqa: E402  (the builder the script runs)

EMOJI_TEST = """\
# group: Smileys & Emotion
# subgroup: face-smiling
1F600 ; fully-qualified     # 😀 E1.0 grinning face
# subgroup: face-hand
1F917 ; fully-qualified     # 🤗 E1.0 smiling face with open hands
1F92B ; fully-qualified     # 🤫 E5.0 shushing face
# subgroup: face-concerned
2639 FE0F ; fully-qualified     # ☹️ E0.7 frowning face
2639 ; unqualified         # ☹ E0.7 frowning face
1F62E ; fully-qualified     # 😮 E1.0 face with open mouth
# subgroup: cat-face
1F63A ; fully-qualified     # 😺 E0.6 grinning cat
1F640 ; fully-qualified     # 🙀 E0.6 weary cat
1F431 ; fully-qualified     # 🐱 E0.6 cat face
"""


def test_select_emoji_follows_the_label_rules(tmp_path):
    path = tmp_path / "emoji-test.txt"
    path.write_text(EMOJI_TEST, encoding="utf-8")
    chosen = {e.codepoints: build.CLASS_NAMES[e.label] for e in build.select_emoji(path)}
    assert chosen == {"1F600": "Positive", "1F917": "Positive", "2639-FE0F": "Negative",
                      "1F63A": "Positive", "1F640": "Negative"}


def test_names_for_icon_sets():
    assert build.slug("face with tears of joy") == "face-with-tears-of-joy"
    assert build.slug("smiling face with open hands") == "smiling-face-with-open-hands"
    emoji = build.Emoji("1F63A", "grinning cat", "cat-face", 1)
    assert build.slug(emoji.unicode_name) == "smiling-cat-face-with-open-mouth"
    assert build._variants("263A-FE0F") == ["263A-FE0F", "263A"]


def test_normalise_crops_fits_and_centres():
    rgba = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    rgba.paste(Image.new("RGBA", (100, 50), (255, 0, 0, 255)), (20, 30))
    out = build.normalise(rgba)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    red = (out[..., 0] > 200) & (out[..., 1] < 60)
    ys, xs = np.nonzero(red)
    assert xs.min() == 2 and xs.max() == 61  # 60 wide, centred
    assert 14 <= ys.min() <= 18 and 45 <= ys.max() <= 49  # 30 high, centred
    assert (out[0, 0] == 255).all()
    assert build.normalise(Image.new("RGBA", (10, 10), (0, 0, 0, 0))) is None


ALL_TEST = """\
# group: Smileys & Emotion
# subgroup: face-smiling
1F600 ; fully-qualified     # 😀 E1.0 grinning face
# subgroup: face-neutral-skeptical
1F610 ; fully-qualified     # 😐 E0.7 neutral face
# subgroup: cat-face
1F63A ; fully-qualified     # 😺 E0.6 grinning cat
1F63F ; fully-qualified     # 😿 E1.0 crying cat
# group: People & Body
# subgroup: hand-fingers-open
1F44B ; fully-qualified     # 👋 E0.6 waving hand
1F44B 1F3FB ; fully-qualified     # 👋🏻 E1.0 waving hand: light skin tone
# group: Component
# subgroup: skin-tone
1F3FB ; component           # 🏻 E1.0 light skin tone
# subgroup: hair-style
1F9B0 ; component           # 🦰 E11.0 red hair
# group: Flags
# subgroup: flag
1F3C1 ; fully-qualified     # 🏁 E0.6 chequered flag
# subgroup: country-flag
1F1E6 1F1E8 ; fully-qualified     # 🇦🇨 E2.0 flag: Ascension Island
"""


def test_the_all_selection_holds_out_emoji_faces_and_leaves_out_skin_tones_and_country_flags(tmp_path):
    path = tmp_path / "emoji-test.txt"
    path.write_text(ALL_TEST, encoding="utf-8")
    chosen = {e.codepoints: build.ALL_GROUPS[e.label] for e in build.select_all(path)}
    # 1F600 (face-smiling) and the cats 1F63A/1F63F are emoji-faces' own; 1F44B-1F3FB a skin tone
    assert chosen == {"1F610": "Smileys & Emotion", "1F44B": "People & Body", "1F3C1": "Flags"}
    faces = {e.codepoints for e in build.select_emoji(path)}
    assert faces == {"1F600", "1F63A", "1F63F"} and not faces & set(chosen)  # disjoint by construction
    path.write_text("# group: Unknown Things\n# subgroup: x\n1F600 ; fully-qualified # 😀 E1.0 x\n", encoding="utf-8")
    import pytest

    with pytest.raises(ValueError, match="group 'Unknown Things'"):
        build.select_all(path)


def test_emoji_all_is_refused_until_fetched_then_read_from_the_cache(tmp_path, monkeypatch):
    import pytest

    from keras_emojigan.data import fetched
    from keras_emojigan.data.sources import DataSourceError, load_images

    monkeypatch.setenv("EMOJIGAN_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataSourceError, match="run `emojigan data fetch emoji-all`"):
        load_images("emoji-all", 64)
    monkeypatch.setattr(fetched.shutil, "which", lambda tool: None if tool == "npm" else "/usr/bin/" + tool)
    with pytest.raises(fetched.FetchError, match=r"cannot build emoji-all here: missing npm"):
        fetched.fetch_dataset("emoji-all", log=lambda *_: None)
    # a built set in the cache (two images of two groups) is used as it is, without building
    folder = fetched.dataset_dir("emoji-all")
    folder.mkdir(parents=True)
    images = np.full((2, 64, 64, 3), 200, np.uint8)
    build.save_npz_reproducibly(folder / "emoji_all.npz", images=images, labels=np.array([0, 7], np.int32),
                                class_names=np.array(build.ALL_GROUPS), files=np.array(["a/1f610.png", "a/1f3c1.png"]))
    (folder / "MANIFEST.csv").write_text("file,design\na/1f610.png,a\na/1f3c1.png,a\n", encoding="utf-8")
    monkeypatch.setattr(build, "build", lambda *a, **k: pytest.fail("built again"))
    assert fetched.fetch_dataset("emoji-all", log=lambda *_: None) == folder / "emoji_all.npz"
    loaded = load_images("emoji-all", 32)
    assert loaded.images.shape == (2, 32, 32, 3) and loaded.class_names == build.ALL_GROUPS
    assert loaded.class_counts()["Symbols"] == 1 and loaded.source == "emoji-all"
