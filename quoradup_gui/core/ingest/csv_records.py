"""CSV records read by the csv module, for what pandas' fast reader cannot tell.

pandas reads well-formed delimited files fast, but it drops rows with more fields than the
header, cannot say on which line a record starts, and reads a one-column file only through a
delimiter that may occur in the text. The csv module can: this module reads

- single-column CSV files, as CSV (quoted line breaks and doubled quotes), strictly, so a file
  that is not valid CSV is recognised and read one question per line instead;
- delimited files whose rows are ragged, keeping every row: the cells past the header's width
  are joined back into the last column, missing cells are left blank, and the line numbers of
  those rows are reported;
- the start line of each record, to say where a field that swallowed rows (an unclosed quote
  closed by a later one) begins.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import IO, Iterator

import pandas as pd

from ..jobs import JobContext

_CHECK_EVERY = 20_000  # records between progress reports and cancel checks
_UNUSED_DELIMITER = "\x1f"  # ASCII unit separator: the one-column reader splits on nothing real
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class NotValidCsv(Exception):
    """A one-column file that the csv module refuses in strict mode (e.g. ``"Hamlet" is a play?``)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line:,}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class RaggedRow:
    line: int  # where the record starts (1-based physical line)
    n_fields: int


def _records(text: IO[str], delimiter: str, quotechar: str, strict: bool = False) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) of every record, blank lines included (as ``[]``)."""
    reader = csv.reader(text, delimiter=delimiter, quotechar=quotechar, strict=strict)
    start = 1
    for row in reader:
        yield start, row
        start = reader.line_num + 1


def _is_blank(row: list[str]) -> bool:
    """A line pandas skips: empty or only whitespace (in a file with more than one column)."""
    return not row or (len(row) == 1 and not row[0].strip())


def read_single_column(fh: IO[bytes], text: IO[str], quotechar: str, has_header: bool, size: int,
                       ctx: JobContext) -> tuple[pd.Series, str | None]:
    """A one-column CSV as CSV: (values, header) or NotValidCsv.

    Only lines that are entirely empty are skipped: a quoted empty field (``""``) is a row whose
    question is blank, which is how a writer saves one.
    """
    values: list[str] = []
    header: str | None = None
    header_pending = has_header
    reader = csv.reader(text, delimiter=_UNUSED_DELIMITER, quotechar=quotechar, strict=True)
    next_start = 1
    try:
        for i, row in enumerate(reader):
            next_start = reader.line_num + 1
            if not row:
                continue
            value = _UNUSED_DELIMITER.join(row)
            if header_pending:
                header, header_pending = value, False
            else:
                values.append(value)
            if i % _CHECK_EVERY == 0:
                ctx.set_progress(fh.tell(), size)
                ctx.check_cancelled()
    except csv.Error as exc:
        reason = ("a quote is never closed" if "end of data" in str(exc) or "EOF" in str(exc)
                  else "a quoted text is followed by more text")
        raise NotValidCsv(next_start, reason) from exc
    return pd.Series(values, dtype="str"), header


def _data_records(text: IO[str], delimiter: str, quotechar: str, has_header: bool, ctx: JobContext,
                  fh: IO[bytes] | None = None, size: int = 0) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) of each data record, counted as pandas counts them (blank lines and
    the header skipped); reports progress through ``fh`` and checks for cancel as it goes."""
    header_pending = has_header
    for i, (start, row) in enumerate(_records(text, delimiter, quotechar)):
        if i % _CHECK_EVERY == 0:
            if fh is not None:
                ctx.set_progress(fh.tell(), size)
            ctx.check_cancelled()
        if _is_blank(row):
            continue
        if header_pending:
            header_pending = False
            continue
        yield start, row


def read_ragged(fh: IO[bytes], text: IO[str], delimiter: str, quotechar: str, has_header: bool, width: int,
                size: int, ctx: JobContext, keep_rows: bool = True,
                ) -> tuple[list[list[str]], list[RaggedRow], list[RaggedRow]]:
    """Every data record, made ``width`` wide: (rows, long rows, short rows).

    A long row's cells from the last column on are joined with the delimiter (an unquoted
    delimiter in the last column is the usual cause); a short row is padded with blanks.
    ``keep_rows=False`` only finds the ragged rows (rows comes back empty).
    """
    rows: list[list[str]] = []
    long: list[RaggedRow] = []
    short: list[RaggedRow] = []
    for start, row in _data_records(text, delimiter, quotechar, has_header, ctx, fh, size):
        if len(row) > width:
            long.append(RaggedRow(start, len(row)))
            row = row[: width - 1] + [delimiter.join(row[width - 1:])]
        elif len(row) < width:
            short.append(RaggedRow(start, len(row)))
            row = row + [""] * (width - len(row))
        if keep_rows:
            rows.append(row)
    return rows, long, short


def record_start_lines(text: IO[str], delimiter: str, quotechar: str, has_header: bool,
                       ctx: JobContext) -> list[int]:
    """The start line of each data record."""
    return [start for start, _ in _data_records(text, delimiter, quotechar, has_header, ctx)]


def swallowing_rows(frame: pd.DataFrame, delimiter: str) -> list[int]:
    """Rows with a field that looks like it swallowed whole records (an unclosed quote).

    Such a field runs over a line break and a later line of it holds as many delimiters as a
    record has. A file whose multi-line fields look like that as a rule (long notes with
    commas) is left alone: only the exceptions are reported.
    """
    width = frame.shape[1]
    if width < 2 or frame.empty:
        return []
    needed = width - 1
    multi_line = 0
    suspicious: set[int] = set()
    for column in frame.columns:
        values = frame[column]
        broken = values.str.contains("\n", regex=False) | values.str.contains("\r", regex=False)
        for row in broken.to_numpy().nonzero()[0]:
            multi_line += 1
            later = _LINE_BREAK.split(values.iat[row])[1:]
            if any(line.count(delimiter) >= needed for line in later):
                suspicious.add(int(row))
    if not suspicious or (len(suspicious) >= 3 and len(suspicious) > 0.1 * multi_line):
        return []
    return sorted(suspicious)


def lines_text(lines: list[int], limit: int = 5) -> str:
    """"line 4" / "lines 4, 7, 9…" for a warning."""
    shown = ", ".join(f"{n:,}" for n in lines[:limit]) + ("…" if len(lines) > limit else "")
    return f"line{'s' if len(lines) > 1 else ''} {shown}"
