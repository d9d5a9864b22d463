"""Rows as an aligned text table or a Markdown one: the course's tables, and notebook 10's small ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def format_table(
    rows: Sequence[Mapping],
    headers: Mapping[str, str] | None = None,
    formats: Mapping[str, str] | None = None,
    markdown: bool = False,
) -> str:
    """Rows as an aligned text table, or a Markdown one: text left, numbers right, absent values as '-'.

    ``headers`` chooses the columns and names them (default: every key, as it is); ``formats``
    gives some columns a format (default: two decimals for floats, thousands separators).
    """
    headers = headers or {key: key for row in rows for key in row}
    formats = formats or {}
    lines = [
        list(headers.values()),
        *([_cell(row.get(key), formats.get(key)) for key in headers] for row in rows),
    ]
    numeric = [
        all(isinstance(row.get(key), (int, float, type(None))) for row in rows) for key in headers
    ]
    if markdown:
        rule = ["---:" if right else ":---" for right in numeric]
        return "\n".join("| " + " | ".join(line) + " |" for line in [lines[0], rule, *lines[1:]])
    widths = [max(map(len, column)) for column in zip(*lines)]
    return "\n".join(
        "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(line, widths, numeric)
        ).rstrip()
        for line in lines
    )


def _cell(value: object, fmt: str | None = None) -> str:
    if value is None:
        return "-"
    if fmt:
        return fmt.format(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
