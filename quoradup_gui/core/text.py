"""The one definition of a question's text keys, shared by every stage.

- :func:`key_text`: what is fed to the model and keys the embedding cache: stripped, whitespace
  runs collapsed (so "How  do I…" and "How do I…" are one text);
- :func:`text_key`: the digest naming a question in review decisions (of its key text);
- :func:`question_key`: the same question for the training split: key text, casefolded;
- :func:`normalize_text` / :func:`normalize_series`: what "exact duplicate" means in the summary and
  the graph: casefolded, punctuation, symbols and invisible characters dropped, whitespace
  collapsed; letters, marks and digits of every script are kept. The two give identical
  results; the series version is vectorised for 500k rows.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from functools import cache

import numpy as np
import pandas as pd

from .jobs import JobContext


def key_text(text: str) -> str:
    """What is fed to the model and keys the cache: stripped, whitespace runs collapsed."""
    if not isinstance(text, str):  # a NaN cell that slipped through would otherwise become "nan"
        raise TypeError(f"Expected question text, got {type(text).__name__}: {text!r}")
    return " ".join(text.split())


def text_key(text: str) -> str:
    """Digest naming a question in decisions: its key text (like the embedding cache)."""
    return hashlib.blake2b(" ".join(str(text).split()).encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()


def question_key(text: str) -> str:
    """Texts that differ only in case or whitespace are the same question (the training split)."""
    return " ".join(str(text).casefold().split())


_KEEP, _REMOVE, _SPACE = 0, 1, 2
_SEP = "\x00"  # joins texts for the vectorised pass; it is "removed" in every text first
_CHUNK = 20_000  # texts per vectorised pass: small enough to stay in CPU cache (4x faster)


@cache
def _char_classes() -> np.ndarray:
    """One byte per code point: keep, remove (punctuation, symbols, control, format) or space."""
    classes = np.zeros(0x110000, dtype=np.uint8)
    # Beyond U+30000 only the tag characters (Cf) are punctuation-like; skipping the rest of
    # the 1.1M code points makes building the table ~10x cheaper.
    for cp in (*range(0x30000), *range(0xE0000, 0xE0080)):
        ch = chr(cp)
        if ch.isspace():  # exactly what str.split() splits on
            classes[cp] = _SPACE
        else:
            category = unicodedata.category(ch)
            if category[0] in "PS" or category in ("Cc", "Cf"):
                classes[cp] = _REMOVE
    classes[ord(_SEP)] = _KEEP  # the vectorised pass splits on it; texts never contain it there
    return classes


@cache
def _translate_table() -> dict[int, None]:
    return dict.fromkeys([ord(_SEP), *np.flatnonzero(_char_classes() == _REMOVE).tolist()])


def normalize_text(text: str) -> str:
    """Casefold, drop punctuation/symbols/invisible characters, collapse and strip whitespace."""
    if not isinstance(text, str):
        text = "" if _is_missing(text) else str(text)
    return " ".join(text.casefold().translate(_translate_table()).split())


def normalize_series(s: pd.Series) -> pd.Series:
    """``normalize_text`` over a Series (missing values become ""), vectorised with numpy."""
    return pd.Series(normalize_values(as_strings(s)), index=s.index, name=s.name, dtype="str")


def normalize_values(values: list[str], ctx: JobContext | None = None) -> list[str]:
    out: list[str] = []
    for start in range(0, len(values), _CHUNK):
        out.extend(_normalize_chunk(values[start : start + _CHUNK]))
        if ctx is not None:
            ctx.check_cancelled()
    return out


def _normalize_chunk(texts: list[str]) -> list[str]:
    joined = _SEP.join(texts)
    if joined.count(_SEP) != len(texts) - 1:  # a text holds the separator itself (NUL)
        joined = _SEP.join(t.replace(_SEP, "") for t in texts)
    codes = np.frombuffer(joined.casefold().encode("utf-32-le", "surrogatepass"), np.uint32)
    classes = _char_classes()[codes]
    kept = classes != _REMOVE
    codes, space = codes[kept], classes[kept] == _SPACE
    if codes.size == 0:  # nothing but punctuation in the whole chunk
        return [""] * len(texts)
    codes[space] = 32  # boolean indexing copied the array, so this write is allowed
    # Collapse runs of spaces, then drop spaces that touch a text boundary (strip).
    single = ~(space & np.r_[False, space[:-1]])
    codes, space = codes[single], space[single]
    boundary = codes == 0
    edge = space & (np.r_[True, boundary[:-1]] | np.r_[boundary[1:], True])
    return codes[~edge].tobytes().decode("utf-32-le", "surrogatepass").split(_SEP)


def as_strings(s: pd.Series) -> list[str]:
    # Converted in slices: one 500k-row conversion holds the GIL long enough to stall the GUI.
    out: list[str] = []
    for start in range(0, len(s), _CHUNK):
        part = s.iloc[start : start + _CHUNK]
        if isinstance(part.dtype, pd.StringDtype):
            out.extend(part.to_numpy(dtype=object, na_value="").tolist())
        else:
            out.extend(v if isinstance(v, str) else "" if _is_missing(v) else str(v) for v in part.tolist())
    return out


def release_in_slices(items: list) -> None:
    """Empty a large list a slice at a time.

    Freeing 500,000 strings at once (a list going out of scope) holds the GIL for 10-30 ms in
    one step; deleting slices lets the GUI thread in between them.
    """
    while items:
        del items[-_CHUNK:]


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
