#!/usr/bin/env python3
"""Rebuild the embedded "emoji-faces" data set from openly licensed emoji packages
(``keras_emojigan/data/emoji_build.py``, selection ``faces``).

Output (deterministic for the pinned package versions):
  keras_emojigan/data/emoji_faces/emoji_faces.npz   images uint8 [N, 64, 64, 3], labels, ...
  keras_emojigan/data/emoji_faces/MANIFEST.csv      one row per image

    pip install -e '.[data]' && python scripts/tools/build_emoji_faces.py --cache ~/.cache/emojigan-build
"""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_emojigan.data.emoji_build import OUT_DIR, build


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "emojigan-build",
                        help="where downloaded packages are kept between runs")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    args = parser.parse_args(argv)
    build(args.cache, args.out, "faces")


if __name__ == "__main__":
    main()
