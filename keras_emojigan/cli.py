"""The ``emojigan`` command line: thin click commands that parse flags and call the library.

Errors a user can fix (a bad data source, a bad flag) end with a one-line message and exit
code 2, never a traceback.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

import click

from keras_emojigan import __version__
from keras_emojigan.data import sources


class UserError(click.ClickException):
    """A problem with the user's input: printed as ``Error: ...``, exit code 2."""

    exit_code = 2


def _load(source, resolution=64):
    try:
        return sources.load_images(source, resolution)
    except sources.DataSourceError as err:
        raise UserError(str(err)) from None


SOURCE = click.argument("source", default=sources.EMBEDDED, required=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="emojigan")
def main():
    """Train, compare, export and serve GANs on small image sets (emoji first).

    SOURCE, wherever a command takes one, is 'emoji-faces' (the embedded open data set, the
    default), a folder of images (sub-folders are classes) or an .npz file with an 'images'
    array.
    """


@main.group()
def data():
    """Look at a data source: counts, licences, contact sheets."""


@data.command("info")
@SOURCE
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--show-skipped/--no-show-skipped", default=True,
              help="List each file that could not be used, with the reason.")
def data_info(source, as_json, show_skipped):
    """Counts per class (and per design and licence for emoji-faces), skipped files."""
    image_set = _load(source)
    designs = collections.Counter(row["design"] for row in image_set.manifest)
    licences = {row["design"]: (row["licence"], f"{row['source']} {row['version']}")
                for row in image_set.manifest}
    report = {
        "source": image_set.source,
        "images": len(image_set),
        "shape": list(image_set.images.shape[1:]),
        "classes": image_set.class_counts(),
        "designs": {name: {"images": n, "licence": licences[name][0], "package": licences[name][1]}
                    for name, n in designs.items()},
        "skipped": [{"file": s.name, "reason": s.reason} for s in image_set.skipped],
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    height, width, channels = report["shape"]
    click.echo(f"source: {report['source']}  ({report['images']} images, {height}x{width}x{channels})")
    click.echo("classes:")
    for name, n in report["classes"].items():
        click.echo(f"  {name:<20s} {n:5d}")
    if designs:
        click.echo(f"designs: {len(designs)}")
        for name, row in report["designs"].items():
            click.echo(f"  {name:<14s} {row['images']:4d}  {row['licence']:<38s} {row['package']}")
        click.echo("licence notes: " + str(sources.embedded_files() / "LICENSES.md"))
    if image_set.skipped:
        click.echo(f"skipped: {len(image_set.skipped)} files")
        if show_skipped:
            for s in image_set.skipped:
                click.echo(f"  {s.name}: {s.reason}")


@data.command("preview")
@SOURCE
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the contact sheet (PNG).")
@click.option("--per-class", type=click.IntRange(min=1), default=None,
              help="Show at most this many images of each class (default: all).")
@click.option("--columns", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--resolution", type=click.Choice(["32", "64", "128"]), default="64", show_default=True)
def data_preview(source, output, per_class, columns, resolution):
    """Write a contact sheet of SOURCE, one captioned block per class."""
    from keras_emojigan.grid import contact_sheet

    image_set = _load(source, int(resolution))
    sheet = contact_sheet(image_set.images, image_set.labels, image_set.class_names,
                          columns=columns, per_class=per_class)
    output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output)
    click.echo(f"wrote {output} ({sheet.width}x{sheet.height}, {len(image_set)} images"
               f"{', ' + str(len(image_set.skipped)) + ' files skipped' if image_set.skipped else ''})")


if __name__ == "__main__":
    sys.exit(main())
