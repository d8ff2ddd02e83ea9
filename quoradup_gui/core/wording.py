"""How counts are said to the user (no heavy imports: the window uses it before pandas loads)."""

from __future__ import annotations


def plural(n: int, noun: str) -> str:
    """"1 row", "2 rows", "1,000 rows"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
