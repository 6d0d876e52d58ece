"""tf.distribute: mirrored over two logical CPUs equals one device; two workers on loopback agree.

Each case runs in its own process: logical devices and TF_CONFIG must be set before
TensorFlow starts.
"""

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
FIT = [sys.executable, "-m", "keras_emojigan.cli", "fit", "--preset", "smoke", "--batch-size", "34", "--quiet"]

ONE_VS_MIRRORED = textwrap.dedent("""
    import json, sys
    import keras_emojigan
    import keras, numpy as np, tensorflow as tf
    from keras_emojigan.training.strategies import split_cpu
    split_cpu(2)
    from keras_emojigan.config import make_config
    from keras_emojigan.training.rundir import build_from_config

    model, optimizer, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = make_config("smoke", model=model, batch_size=34)
    images = np.random.default_rng(0).uniform(-1, 1, (34, 64, 64, 3)).astype("float32")
    out = {}
    for name, strategy in (("one", tf.distribute.get_strategy()),
                           ("mirrored", tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"]))):
        with strategy.scope():
            gan = build_from_config(config, sync_batch_norm=name == "mirrored")
            if optimizer == "sgd":
                gan.compile(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.01))
            start = [w.copy() for w in gan.generator.get_weights() + gan.discriminator.get_weights()]
        history = gan.fit(tf.data.Dataset.from_tensors(images).repeat(), epochs=1, steps_per_epoch=steps,
                          verbose=0, shuffle=False)
        weights = gan.generator.get_weights() + gan.discriminator.get_weights()
        out[name] = {"logs": {k: float(v[-1]) for k, v in history.history.items()},
                     "replicas": strategy.num_replicas_in_sync,
                     "updates": [(w - w0).tolist() for w, w0 in zip(weights, start)]}
    print(json.dumps(out))
""")


def run(command, env=ENV, timeout=900, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, **kwargs)


def one_vs_mirrored(model, optimizer, steps):
    done = run([sys.executable, "-c", ONE_VS_MIRRORED, model, optimizer, str(steps)])
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["one"]["replicas"] == 1 and out["mirrored"]["replicas"] == 2
    return out["one"], out["mirrored"]


@pytest.mark.parametrize("model", ["dcgan", "proposed"])
def test_mirrored_step_over_two_cpus_equals_one_device(model):
    """One SGD step: the weight updates agree, so gradients were averaged over the global batch
    (SGD's step scales with the loss, so a missing or doubled division by the replicas shows)."""
    import numpy as np

    one, mirrored = one_vs_mirrored(model, "sgd", 1)
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert mirrored["logs"][key] == pytest.approx(one["logs"][key], rel=1e-3), key
    for a, b in zip(one["updates"], mirrored["updates"], strict=True):
        a, b = np.array(a).ravel(), np.array(b).ravel()
        if not np.any(a):
            continue
        # Same direction, same length: a wrong loss scale would give a length ratio of 0.5 or 2.
        # (Not elementwise: G's step goes through the just-updated D, whose batch norm at init
        # divides by tiny spreads and magnifies float rounding.)
        assert a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.99
        assert np.linalg.norm(b) / np.linalg.norm(a) == pytest.approx(1.0, abs=0.05)


@pytest.mark.heavy
def test_mirrored_adam_steps_track_one_device():
    """Three Adam steps (the real optimiser): the logged losses agree. Not bit-exact: float
    rounding in the all-reduced batch-norm moments grows over steps at init, where the signals
    batch norm divides by are tiny."""
    one, mirrored = one_vs_mirrored("proposed", "adam", 3)
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert mirrored["logs"][key] == pytest.approx(one["logs"][key], rel=1e-3), key


@pytest.mark.heavy
def test_fit_cli_mirrored_checkpoints_and_resumes(tiny_data, tmp_path):
    env = {**ENV, "EMOJIGAN_CPU_REPLICAS": "2"}
    run_dir = tmp_path / "mirrored"
    tiny = ["--data", tiny_data, "--resolution", "32"]
    first = run([*FIT, *tiny, "--strategy", "mirrored", "--epochs", "1", "--run-dir", str(run_dir)], env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "2 replicas, 17 images each per step" in first.stdout
    second = run([*FIT, *tiny, "--strategy", "mirrored", "--epochs", "2", "--run-dir", str(run_dir)], env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming" in second.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["epochs_done"] == 2 and summary["replicas"] == 2 and summary["strategy"] == "mirrored"
    with open(run_dir / "history.csv") as fh:
        assert [row["epoch"] for row in csv.DictReader(fh)] == ["0", "1"]
    assert (run_dir / "saved_model" / "saved_model.pb").exists()
    odd = run([*FIT[:-3], "--batch-size", "35", "--strategy", "mirrored", "--run-dir", str(tmp_path / "odd")], env=env)
    assert odd.returncode == 2 and "does not split over 2 replicas" in odd.stderr


@pytest.mark.heavy
def test_a_robust_class_guide_is_fine_tuned_under_the_mirrored_strategy(tmp_path):
    """The guide's variables are mirrored there; the fine-tune must still reach them."""
    import numpy as np

    labels = np.arange(68) % 2
    images = (np.random.default_rng(0).integers(10, 60, (68, 32, 32, 3)) + labels[:, None, None, None] * 180)
    np.savez(tmp_path / "two.npz", images=images.astype(np.uint8), labels=labels,
             class_names=np.array(["dark", "bright"]))
    run_dir = tmp_path / "robust"
    done = run([*FIT, "--model", "deligan", "--strategy", "mirrored", "--epochs", "1", "--run-dir", str(run_dir),
                "--resolution", "32", "--set", "conditional=true", "--set", f"data={tmp_path / 'two.npz'}",
                "--set", "class_guide_weight=0.5", "--set", "class_guide_robust=4",
                "--set", "class_guide_robust_epochs=2"],
               env={**ENV, "EMOJIGAN_CPU_REPLICAS": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((run_dir / "class_guide.json").read_text())
    assert record["robust_radius"] == 4.0 and 0.0 <= record["robust_heldout_attacked_accuracy"] <= 1.0
    assert record["robust_epochs"] == 2


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.heavy
def test_multiworker_two_processes_on_loopback_agree(tiny_data, tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    run_dir = tmp_path / "multi"
    processes = []
    for index in range(2):
        env = {**ENV, "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                               "task": {"type": "worker", "index": index}})}
        command = [*FIT, "--data", tiny_data, "--resolution", "32", "--strategy", "multiworker", "--epochs", "1",
                   "--run-dir", str(run_dir)]
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
    outputs = [p.communicate(timeout=900) for p in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    assert "multiworker strategy: 2 replicas, 17 images each per step" in outputs[0][0]

    def history(path):
        with open(path / "history.csv") as fh:
            return list(csv.DictReader(fh))

    chief, other = history(run_dir), history(run_dir / "workers" / "1")
    assert len(chief) == 1 and len(other) == 1
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):  # metrics are all-reduced: one number everywhere
        assert float(chief[0][key]) == pytest.approx(float(other[0][key]), rel=1e-6), key
    assert json.loads((run_dir / "summary.json").read_text())["replicas"] == 2
    # As strategies.py says: every worker evaluates (the best-checkpoint decision must match on
    # all of them) and exports (saving is collective); only the chief's files are the run's.
    for path in (run_dir, run_dir / "workers" / "1"):
        assert (path / "saved_model" / "saved_model.pb").exists()
    assert chief[0]["fid"] != "" and chief[0]["fid"] == other[0]["fid"]


def test_multiworker_without_tf_config_is_a_clear_error(tmp_path):
    env = {k: v for k, v in ENV.items() if k != "TF_CONFIG"}
    done = run([*FIT, "--strategy", "multiworker", "--run-dir", str(tmp_path / "x")], env=env)
    assert done.returncode == 2 and "needs TF_CONFIG" in done.stderr and "Traceback" not in done.stderr
