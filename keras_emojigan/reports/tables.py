"""Markdown tables and the cell formats the reports share."""

from __future__ import annotations

import math


def markdown_table(header, rows) -> list[str]:
    """Lines of a GitHub Markdown table: ``header`` (cell texts), then each row's cells (str() of
    each). A row with another number of cells than the header is a bug: ValueError."""
    header = [str(cell) for cell in header]
    lines = [_row(header), "|" + "---|" * len(header)]
    for row in rows:
        cells = [str(cell) for cell in row]
        if len(cells) != len(header):
            raise ValueError(f"a row of {len(cells)} cells under a header of {len(header)}: {cells}")
        lines.append(_row(cells))
    return lines


def _row(cells) -> str:
    """'| a | b |'; an empty cell is '| |'."""
    return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"


def finite(value) -> bool:
    return value is not None and math.isfinite(value)


def mean_pm(mean, half=math.nan, digits: int = 4) -> str:
    """'12.3 ± 0.45' (``digits`` significant digits; no ± without a finite half-width), 'n/a' for none."""
    if not finite(mean):
        return "n/a"
    return f"{mean:.{digits}g}" + (f" ± {half:.2g}" if finite(half) else "")


def percent(share, digits: int = 1) -> str:
    """A share in [0, 1] as '12.5%', 'n/a' for none."""
    return f"{100 * share:.{digits}f}%" if finite(share) else "n/a"


def times(ratio, half=math.nan) -> str:
    """A ratio to a floor: '3.39x', '17.2x', '188x' (± the half-width when finite), 'n/a' for none."""
    if not finite(ratio):
        return "n/a"
    digits = 2 if abs(ratio) < 10 else 1 if abs(ratio) < 100 else 0
    return f"{ratio:.{digits}f}x" + (f" ± {half:.{digits}f}" if finite(half) else "")
