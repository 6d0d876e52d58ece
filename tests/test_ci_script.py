""".ci/run must fail when any step of the README's test command fails. It once ran the command
as one ``a && b && c`` list under ``set -e``, which bash does not stop on: a lint error printed,
then "ci: finished", exit 0. Here every tool it calls is a stub that succeeds or fails on demand."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STUBS = ("pip", "ruff", "lint-imports", "pytest", "chromium", "apt-get", "sudo")


def _stub(path: Path, body: str) -> None:
    path.write_text("#!/usr/bin/env bash\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run_ci(tmp_path: Path, failing: str | None) -> subprocess.CompletedProcess:
    repo, bin_dir = tmp_path / "repo", tmp_path / "bin"
    (repo / ".ci").mkdir(parents=True)
    bin_dir.mkdir()
    shutil.copy(ROOT / ".ci" / "run", repo / ".ci" / "run")
    log = tmp_path / "calls.log"
    for tool in STUBS:
        _stub(bin_dir / tool, f'echo {tool} >> "{log}"; exit {1 if tool == failing else 0}')
    # python3 -m venv DIR: a venv whose activate script changes nothing; python -m pip: the pip stub
    _stub(bin_dir / "python3", f'if [ "$2" = venv ]; then mkdir -p "$3/bin" && : > "$3/bin/activate"; '
                               f'else echo python3 "$@" >> "{log}"; fi')
    _stub(bin_dir / "python", 'exit 0')
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "CI": "true"}
    return subprocess.run(["bash", str(repo / ".ci" / "run")], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("failing", ["pip", "ruff", "lint-imports", "pytest"])
def test_ci_run_fails_when_a_step_of_the_test_command_fails(tmp_path, failing):
    result = _run_ci(tmp_path, failing)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "ci: finished" not in result.stdout and "ci: failed (exit 1) after" in result.stdout


def test_ci_run_passes_and_runs_every_step_when_all_pass(tmp_path):
    result = _run_ci(tmp_path, None)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = (tmp_path / "calls.log").read_text().split()
    assert [c for c in calls if c in ("pip", "ruff", "lint-imports", "pytest")] == ["pip", "ruff", "lint-imports",
                                                                                   "pytest"]
    assert "ci: finished" in result.stdout


@pytest.mark.skipif(shutil.which("lint-imports") is None,
                    reason="import-linter is not installed (pip install -e '.[dev]')")
def test_the_import_contract_holds_and_fails_on_a_back_import(tmp_path):
    """The layers contract (.importlinter) is kept by the package as it is, and broken by one
    import of a higher layer from a lower one (here the config importing the CLI)."""
    def lint(package_root: Path) -> subprocess.CompletedProcess:
        return subprocess.run(["lint-imports", "--config", str(ROOT / ".importlinter")], cwd=package_root,
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(package_root)})

    copy = tmp_path / "src"
    shutil.copytree(ROOT / "keras_emojigan", copy / "keras_emojigan",
                    ignore=shutil.ignore_patterns("*.npz", "*.h5", "__pycache__"))
    kept = lint(copy)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    config = copy / "keras_emojigan" / "config.py"
    config.write_text(config.read_text() + "\n\ndef _back():\n    from keras_emojigan import cli  # noqa\n")
    broken = lint(copy)
    assert broken.returncode != 0
    assert "keras_emojigan.config is not allowed to import keras_emojigan.cli" in broken.stdout
