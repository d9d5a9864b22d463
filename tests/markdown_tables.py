"""Reading back the Markdown tables that notebooks and the README show."""

from __future__ import annotations


def markdown_rows(text: str) -> list[dict[str, str]]:
    """The rows of every Markdown table in ``text``, each as {header: cell}."""
    rows, headers = [], None
    for line in text.splitlines():
        cells = (
            [cell.strip() for cell in line.strip().strip("|").split("|")]
            if line.startswith("|")
            else None
        )
        if cells is None:
            headers = None
        elif headers is None:
            headers = cells
        elif not all(set(cell) <= set(":-") for cell in cells):
            rows.append(dict(zip(headers, cells)))
    return rows
