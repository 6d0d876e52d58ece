"""Every repository path the README (and the docs it links) cites exists, so a table's
records can be checked against the runs behind it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROOTS = ("docs/", "saved_models/", "scripts/", "keras_emojigan/", "tests/", ".ci/")
DOCUMENTS = ["README.md", "saved_models/README.md"]


def cited_paths(text: str) -> set[str]:
    """Paths in markdown links, and in inline code that start with one of the repository's
    folders. Fenced blocks are commands to type: the paths there (``saved_models/emoji``, an
    ``--out`` folder) are made by the commands, so they are not checked."""
    found = set(re.findall(r"\]\(([^)#\s]+)", text))
    inline = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`]+)`", inline):
        found.update(word for word in span.split() if word.startswith(ROOTS))
    return {path.rstrip(".,;:)") for path in found if path.startswith(ROOTS) and "*" not in path
            and "NAME" not in path and "NNNN" not in path and "{" not in path}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_cited_paths_exist(document):
    text = (ROOT / document).read_text(encoding="utf-8")
    missing = sorted(path for path in cited_paths(text) if not (ROOT / path).exists())
    assert not missing, f"{document} cites paths that are not in the repository: {missing}"


def test_the_path_finder_finds_links_and_commands():
    text = ("see [t](docs/results/x/table.md) and `python scripts/a.py\ndocs/results/y/runs`.\n"
            "```sh\nemojigan export run --name emoji   # saved_models/emoji/1/\n```\n")
    assert cited_paths(text) == {"docs/results/x/table.md", "scripts/a.py", "docs/results/y/runs"}


def test_the_recipe_table_is_the_one_quality_table_wrote():
    """The README's quality-push table is docs/results/quality-push/recipe.md's, row for row
    (rerun `python scripts/quality_table.py` and copy its table when the results change)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    recipe = (ROOT / "docs/results/quality-push/recipe.md").read_text(encoding="utf-8")
    rows = [line for line in recipe.splitlines() if line.startswith("|")]
    assert len(rows) > 2 and "\n".join(rows) in readme
