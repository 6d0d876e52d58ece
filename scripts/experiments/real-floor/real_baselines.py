#!/usr/bin/env python3
"""Real-vs-real baselines: the metrics of one random half of a data set against the other,
per extractor. They are the floor a generator can reach with the same sample counts.

    python scripts/experiments/real-floor/real_baselines.py [--data emoji-faces] \
        [--extractors emoji,fid-inception] [--seeds 0,1,2]

One JSON line per (extractor, seed); extractors whose weights are absent are reported as such.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_emojigan.data.sources import load_images  # noqa: E402
from keras_emojigan.metrics.evaluate import compare_features, split_halves, subset  # noqa: E402
from keras_emojigan.metrics.extractors import ExtractorUnavailable, get_extractor  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="emoji-faces")
    parser.add_argument("--extractors", default="emoji,fid-inception")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    images = load_images(args.data).images
    for name in args.extractors.split(","):
        try:
            extractor = get_extractor(name)
        except ExtractorUnavailable as err:
            print(json.dumps({"extractor": name, "unavailable": str(err)}), flush=True)
            continue
        features = extractor.features(images)
        for seed in map(int, args.seeds.split(",")):
            a, b = split_halves(len(images), seed)
            result = compare_features(subset(features, a), subset(features, b))  # no IS from fid-inception
            print(json.dumps({"extractor": name, "data": args.data, "seed": seed, "num_real": len(a),
                              "num_fake": len(b), **{k: round(v, 4) if isinstance(v, float) else v
                                                     for k, v in result.items()}}), flush=True)


if __name__ == "__main__":
    main()
