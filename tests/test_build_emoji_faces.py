"""scripts/tools/build_emoji_faces.py: label selection, name matching and image preparation.

The full rebuild downloads packages; these tests check its pieces offline.
"""


import numpy as np
from PIL import Image
from script_loader import load_script

build = load_script("build_emoji_faces")

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
