"""scripts/experiments/emotion/measure.py's tables: the curve over strengths with what each
strength costs (FID-Inception), each class's mean colour beside its real images', and results
written before those columns existed."""

from script_loader import load_script

measure = load_script("measure")


def _results(with_fid: bool) -> dict:
    def reading(inception, fid):
        found = {"inception_accuracy": inception, "emoji_accuracy": 0.9, "probes_agree": 0.8}
        return {**found, "fid_inception": fid} if with_fid else found

    probes = {"fid-inception": {"probe_heldout_accuracy": 0.906}, "emoji": {"probe_heldout_accuracy": 0.931}}
    row = {"num_fake": 800, "inception_accuracy": 0.9, "fid": 120.0, "kid": 0.1, "precision": 0.2, "recall": 0.01,
           "near_duplicate_share": 0.0}
    return {"steered_from": "saved_models/emoji-faces/2", "per_class": 800, "seed": 0, "curve_images": 400,
            "default_strength": 3.0, "probes": probes,
            "curve": {"0.0": {"Negative": reading(0.5, 100.0), "Positive": reading(0.5, 101.0)},
                      "6.0": {"Negative": reading(0.99, 180.5), "Positive": reading(0.9, 170.25)}},
            "classes": {"Negative": {"num_real": 400, "steered": row, "unconditional": {"num_fake": 0}}}}


def test_the_curve_shows_each_strengths_cost_beside_its_accuracy():
    text = measure.tables(_results(with_fid=True))
    assert "| strength | Negative: Inception / emoji / agree, FID | Positive: Inception / emoji / agree, FID |" in text
    assert "| 6.0 | 99.0% / 90.0% / 80.0%, 180.5 | 90.0% / 90.0% / 80.0%, 170.2 |" in text
    assert "| Negative, unconditional | 0 | | | | | | | |" in text


def test_results_written_before_the_fid_column_still_make_tables():
    text = measure.tables(_results(with_fid=False))
    assert "| 0.0 | 50.0% / 90.0% / 80.0% | 50.0% / 90.0% / 80.0% |" in text


def test_each_class_shows_its_mean_colour_beside_the_real_images():
    results = _results(with_fid=True)
    entry = results["classes"]["Negative"]
    entry["real_mean_colour"] = [231.4, 206.0, 140.6]
    entry["steered"] = {**entry["steered"], "mean_colour": [180.0, 170.2, 220.9]}
    text = measure.tables(results)
    assert "| Negative, real | 400 | | | | | | | 231, 206, 141 |" in text
    assert "| 0.0% | 180, 170, 221 |" in text
    assert measure.mean_colour([[[[0, 10, 20], [2, 10, 40]]]]) == [1.0, 10.0, 30.0]
