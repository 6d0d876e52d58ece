"""The README and the docs it links: every repository path they cite exists, every link
(and #anchor) resolves, and the README stays a front door (at most 250 lines)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROOTS = ("docs/", "saved_models/", "scripts/", "keras_emojigan/", "tests/", ".ci/")
# The hand-written pages (the generated tables under docs/results are checked by their scripts' tests).
DOCUMENTS = sorted({"README.md", "saved_models/README.md", "scripts/README.md",
                    *(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")),
                    *(str(p.relative_to(ROOT)) for p in (ROOT / "docs" / "results").rglob("README.md")),
                    *(str(p.relative_to(ROOT)) for p in (ROOT / "docs" / "results").glob("*.md")
                      if p.name != "paper100-claims.md"),
                    *(str(p.relative_to(ROOT)) for p in (ROOT / "scripts").rglob("README.md"))})


def inline_paths(text: str) -> set[str]:
    """Paths in inline code that start with one of the repository's folders (relative to the
    repository root). Fenced blocks are commands to type: the paths there (``saved_models/emoji``,
    an ``--out`` folder) are made by the commands, so they are not checked."""
    found = set()
    inline = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`]+)`", inline):
        found.update(word for word in span.split() if word.startswith(ROOTS))
    return {path.rstrip(".,;:)") for path in found if "*" not in path and "NAME" not in path
            and "NNNN" not in path and "{" not in path}


def links(text: str) -> set[str]:
    """Targets of markdown links and images outside fenced blocks (web addresses left out)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return {t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"^[a-z]+:", t)}


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    markdown = re.sub(r"```.*?```", "", markdown, flags=re.S)
    result = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        result.add(slug)
    return result


@pytest.mark.parametrize("document", DOCUMENTS)
def test_cited_paths_and_links_resolve(document):
    path = ROOT / document
    text = path.read_text(encoding="utf-8")
    missing = sorted(p for p in inline_paths(text) if not (ROOT / p).exists())
    for target in links(text):
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            missing.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text(encoding="utf-8")):
            missing.append(target + " (no such heading)")
    assert not missing, f"{document} cites what is not in the repository: {missing}"


def test_the_readme_is_a_front_door():
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(readme) <= 250
    first_screen = "\n".join(readme[:60])
    for command in ("pip install -e .", "emojigan sample", "emojigan serve", "emojigan fit --data",
                    "emojigan evaluate"):
        assert command in first_screen, command
    assert not re.search(r"\bissue \d+|\bcommit [0-9a-f]{7}", "\n".join(readme), flags=re.I)


def test_the_path_finder_finds_links_and_commands():
    text = ("see [t](docs/results/x/table.md) and `python scripts/a.py\ndocs/results/y/runs`.\n"
            "```sh\nemojigan export run --name emoji   # saved_models/emoji/1/\n```\n")
    assert links(text) == {"docs/results/x/table.md"}
    assert inline_paths(text) == {"scripts/a.py", "docs/results/y/runs"}
    assert anchors("## The standard FID, offline (`--extractor fid-inception`)\n") == {
        "the-standard-fid-offline---extractor-fid-inception"}


def test_the_recipe_table_is_the_one_quality_table_wrote():
    """The quality push page's table is docs/results/quality-push/recipe.md's, row for row (rerun
    `python scripts/experiments/quality-push/quality_table.py` and copy its table when the results change)."""
    page = (ROOT / "docs/results/quality-push/README.md").read_text(encoding="utf-8")
    recipe = (ROOT / "docs/results/quality-push/recipe.md").read_text(encoding="utf-8")
    rows = [line for line in recipe.splitlines() if line.startswith("|")]
    assert len(rows) > 2 and "\n".join(rows) in page


def test_the_licence_and_the_citation_file_match_what_setup_declares():
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert "Apache-2.0" in setup and "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]
    citation = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    version = re.search(r'__version__ = "([^"]+)"', (ROOT / "keras_emojigan" / "__init__.py").read_text())[1]
    assert citation.startswith("cff-version: 1.2.0") and f'version: "{version}"' in citation
    assert "license: Apache-2.0" in citation and "Adjustment of Latent vector Representation" in citation


def _documented_command(document: str, starts: str) -> list[str]:
    """The words of the first command line in ``document``'s fenced blocks that starts with
    ``starts`` (its comment and trailing '...' left off)."""
    import shlex

    text = (ROOT / document).read_text(encoding="utf-8")
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if line.startswith(starts):
                return [w for w in shlex.split(line.split("#")[0]) if w != "..."]
    raise AssertionError(f"no command starting {starts!r} in {document}")


@pytest.mark.heavy
def test_the_documented_mirrored_example_and_the_readme_short_run_ship_path_run_as_written(tmp_path, monkeypatch):
    """docs/training.md's CPU mirrored example (with a smoke run's fields added), and the README's
    `fit --preset lite` then `ship runs/mine` after fewer epochs than lite evaluates at."""
    import numpy as np
    from click.testing import CliRunner

    from keras_emojigan.cli import main
    from keras_emojigan.data.sources import load_images

    data = tmp_path / "tiny.npz"
    np.savez(data, images=load_images("emoji-faces", 32).images[:72])
    tiny = ["--data", str(data), "--resolution", "32", "--epochs", "1", "--eval-every", "0",
            "--set", "ngf=4", "--set", "ndf=4", "--set", "latent_dim=8", "--quiet"]
    words = _documented_command("docs/training.md", "EMOJIGAN_CPU_REPLICAS=2 emojigan fit --strategy mirrored")
    env, command = words[0].split("=", 1), words[2:]
    import os
    import subprocess
    import sys

    # a process of its own: the CPU can be split into devices only before TensorFlow starts
    done = subprocess.run([sys.executable, "-m", "keras_emojigan.cli", *command, *tiny, "--run-dir",
                           str(tmp_path / "mirrored")], env={**os.environ, env[0]: env[1]}, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    monkeypatch.chdir(tmp_path)
    fit_words = _documented_command("README.md", "emojigan fit --data my_emoji/ --preset lite")
    fit_words = [str(data) if w == "my_emoji/" else w for w in fit_words[1:]]
    result = CliRunner().invoke(main, [*fit_words, *tiny[2:], "--set", "precision=float32"])
    assert result.exit_code == 0, result.output
    ship_words = _documented_command("README.md", "emojigan ship runs/mine --name mine")[1:]
    result = CliRunner().invoke(main, [*ship_words, "--extractors", "emoji"])
    assert result.exit_code == 0, result.output
    assert "the last one" in result.output and (tmp_path / "saved_models" / "mine" / "1").exists()
