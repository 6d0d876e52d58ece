"""The names of the numbers an evaluation gives, defined once: history.csv's evaluation columns,
the per-epoch evaluator, compare's tables and the checkpoint measurements all read them here."""

SCORES = ("fid", "kid", "is_mean")  # quality (IS only with an extractor that has logits)
DIVERSITY = ("precision", "recall", "near_duplicate_share", "near_duplicate_groups")
EVALUATED = (*SCORES, *DIVERSITY)  # what a per-epoch evaluation records (history.csv)
# What measuring a checkpoint adds: the real set's own near-duplicate share, memorisation, and FID
# against each real half over the floor (one half against the other: ``evaluate_halves``).
CHECKPOINT = (*EVALUATED, "near_duplicate_share_real", "memorised_share", "memorised_share_pixels",
              "median_nearest_ratio", "fid_over_floor", "floor_fid")
