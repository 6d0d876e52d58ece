"""scripts/experiments/conditional/conditional_table.py: the class criteria from fabricated per-class
results (no training)."""

import json
from pathlib import Path

from script_loader import load_script

conditional_table = load_script("conditional_table")


def _write(path: Path, classes: dict, conditional: bool):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"extractor": path.parent.name, "conditional": conditional,
                                "probe_heldout_accuracy": 0.9, "probe_heldout_images": 160, "classes": classes,
                                "probe_heldout_class_accuracy": {"Negative": 0.875, "Positive": 0.925}}))


def _conditional(fid_neg, fid_pos, acc_neg, acc_pos):
    return {"Negative": {"fid": fid_neg, "kid": 0.01, "class_accuracy": acc_neg, "num_fake": 400, "num_real": 380},
            "Positive": {"fid": fid_pos, "kid": 0.02, "class_accuracy": acc_pos, "num_fake": 400, "num_real": 420}}


def _unconditional(fid_neg, fid_pos, share_neg=0.4):
    return {"Negative": {"fid": fid_neg, "kid": 0.01, "share": share_neg},
            "Positive": {"fid": fid_pos, "kid": 0.02, "share": 1 - share_neg}}


def test_criteria_hold_fail_or_are_missing(tmp_path):
    root = tmp_path / "per_class" / "fid-inception"
    _write(root / "dcgan.json", _conditional(100, 120, 0.95, 0.90), True)  # holds: ratios 1.0 and 1.2
    _write(root / "dcgan.unconditional.json", _unconditional(100, 100), False)
    _write(root / "deligan.json", _conditional(100, 160, 0.95, 0.80), True)  # Positive: 80% and 1.6x
    _write(root / "deligan.unconditional.json", _unconditional(100, 100), False)
    _write(root / "proposed.json", _conditional(100, 100, 0.9, 0.9), True)  # no unconditional run
    _write(root / "modern-deligan.json", _conditional(50, 50, 0.9, 0.9), True)
    _write(root / "modern-deligan.unconditional.json", _unconditional(40, 50), False)
    _write(tmp_path / "per_class" / "emoji" / "dcgan.json", _conditional(10, 12, 0.5, 0.5), True)

    found = conditional_table.load(tmp_path)
    assert set(found) == {"fid-inception", "emoji"}
    assert list(found["fid-inception"]) == ["dcgan", "deligan", "proposed", "modern-deligan"]  # default rows first
    assert conditional_table.verdicts(found["fid-inception"]["dcgan"]) == {"accuracy": True, "fid_ratio": True}
    assert conditional_table.verdicts(found["fid-inception"]["deligan"]) == {"accuracy": False, "fid_ratio": False}
    assert conditional_table.verdicts(found["fid-inception"]["proposed"]) == {"accuracy": True, "fid_ratio": None}

    assert conditional_table.main(["conditional_table.py", str(tmp_path)]) == 0
    text = (tmp_path / "per_class.md").read_text()
    assert "| deligan | Positive | 160 | 0.02 | 80.0% | 92.5% | 100 (60%) | 1.60x |" in text
    assert "| modern-deligan | Negative | 50 | 0.01 | 90.0% | 87.5% | 40 (40%) | 1.25x |" in text
    assert "| modern-deligan | yes | yes |" in text
    assert "| dcgan | yes | yes |" in text and "| deligan | no | no |" in text and "| proposed | yes | n/a |" in text
    assert "Probe's accuracy on held-out real images: 90.0% (160 images)" in text
    assert "## Extractor `emoji`" in text


def test_nothing_to_read_is_an_error(tmp_path, capsys):
    assert conditional_table.main(["conditional_table.py", str(tmp_path)]) == 2
    assert "conditional_experiment.sh" in capsys.readouterr().err
