"""Excel workbooks: read one sheet (which one is said, the others offered), write text that stays text.

Reading: the first sheet that holds data unless one is named; title rows above the header
(a merged "Quarterly FAQ" line) are skipped when a header row follows them, and said.
Cell text is decoded the way Excel decodes it (``_x000D_`` is a carriage return). Every cell is
read as text, as for any file; the numbers, dates and booleans of the sheet are kept as well,
with their number formats (SheetCells), so that an Excel export of an Excel file keeps them typed.

Writing: every text cell is written as a string, never as a formula, so ``=HYPERLINK(…)`` in
a question stays the text the user wrote (OWASP "CSV injection"); a blank cell is left empty;
numbers, dates and booleans (a SheetCells value) are written typed, in their number format. The
header row is frozen and filtered, and the columns get widths that fit. Characters XML cannot hold
(carriage returns, NULs and the other control characters) are written as Excel's own
``_xHHHH_`` escapes, so they come back exactly; a cell over Excel's 32,767-character limit
is cut, and the rows are named in a warning. The workbook is built in memory and then
written in one go, so a full disk cannot leave a half-closed zip behind.
"""

from __future__ import annotations

import io
import re
import zipfile
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..jobs import JobContext
from .sniffing import looks_like_header

XLSX_CELL_LIMIT = 32_767
_TITLE_ROWS_MAX = 5  # leading rows looked at for titles above the header
_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
_UNESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def escape_text(text: str) -> str:
    """Excel's ST_Xstring escaping: control characters as ``_xHHHH_``; a literal ``_xHHHH_`` keeps its ``_``."""
    return _ESCAPE.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def unescape_text(text: str) -> str:
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


# ----------------------------------------------------------------------------- reading


def sheet_names(fh: IO[bytes]) -> list[str]:
    import openpyxl

    workbook = openpyxl.load_workbook(fh, read_only=True)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def read_sheet(fh: IO[bytes], path: Path, sheet: str | None, ctx: JobContext, cell_text,
               ) -> tuple[list[list[str]], list[int], str, list[str], list[str], TypedCells]:
    """(rows of cell text, their sheet row numbers, the sheet read, all sheet names, notes, the
    typed cells of those rows).

    Blank rows before the first and after the last row with data are left out. ``sheet`` None:
    the first sheet that holds data.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, InvalidFileException) as exc:
        raise InputFileError(
            f"{path.name} looks like an Excel workbook but cannot be opened ({exc}).",
            hint="Open it in Excel or LibreOffice and save it again as .xlsx, or export it as CSV.",
        ) from exc
    try:
        names = list(workbook.sheetnames)
        if sheet is not None and sheet not in names:
            raise InputFileError(f'{path.name} has no sheet "{sheet}".',
                                 hint=f"Its sheets are: {', '.join(repr(n) for n in names)}.")
        for name in [sheet] if sheet is not None else names:
            rows, numbers, typed = _sheet_rows(workbook[name], ctx, cell_text)
            if rows:
                notes = _formulas_without_results(fh, name, rows, numbers, ctx)
                return rows, numbers, name, names, notes, typed
    finally:
        workbook.close()
    if sheet is not None or len(names) == 1:
        where = f'The sheet "{sheet or names[0]}" of {path.name} is empty.'
    else:
        where = f"Every sheet of {path.name} is empty."
    raise InputFileError(where, hint="Move the questions onto a sheet, or choose another file.")


class TypedCells:
    """The cells of a sheet that are not text, by column position: (row position, value, number format)
    in three lists per column, so a text-only sheet costs nothing and a numeric column few objects."""

    def __init__(self) -> None:
        self.columns: dict[int, tuple[list[int], list[Any], list[str]]] = {}

    def add(self, row: int, found: list[tuple[int, Any, str]]) -> None:
        for j, value, number_format in found:
            rows, values, formats = self.columns.setdefault(j, ([], [], []))
            rows.append(row)
            values.append(value)
            formats.append(number_format)


def _sheet_rows(ws, ctx: JobContext, cell_text) -> tuple[list[list[str]], list[int], TypedCells]:
    """The rows from the first one with data to the last one with data; blank rows between stay
    (as blank rows: a row of the user's is never dropped), blank rows around are formatting."""
    rows, numbers, blank_run = [], [], []
    typed = TypedCells()
    total = ws.max_row or 0
    # Cells, not values_only: a number's format (a date's "dd/mm/yyyy", a price's "0.00") is kept.
    for i, row in enumerate(ws.iter_rows(), start=1):
        cells, found = [], []
        for j, cell in enumerate(row):
            value = cell.value
            if isinstance(value, str):
                cells.append(unescape_text(value))
            elif value is None:
                cells.append("")
            else:
                cells.append(cell_text(value))
                found.append((j, value, cell.number_format))
        if any(c.strip() for c in cells):
            if rows:  # blank rows between two rows with data
                rows += [[""] * len(cells) for _ in blank_run]
                numbers += blank_run
            blank_run = []
            if found:
                typed.add(len(rows), found)
            rows.append(cells)
            numbers.append(i)
        elif len(blank_run) < 1_000_000:
            blank_run.append(i)
        if i % 10_000 == 0:  # openpyxl reads ~50k rows/s: report and check 5x a second
            ctx.set_progress(i, total)
            ctx.check_cancelled()
    return rows, numbers, typed


def _formulas_without_results(fh: IO[bytes], sheet: str, rows: list[list[str]], numbers: list[int],
                              ctx: JobContext) -> list[str]:
    """Formula cells with no saved result read as blank; put their formula text in instead, and say so.

    A workbook saved by a spreadsheet program stores each formula's result; one written by a
    program (openpyxl, pandas) often does not, and text such as "=HYPERLINK(…) is this safe?"
    may even have been stored as a formula. Only workbooks that hold formulas pay for this pass.
    """
    import openpyxl

    fh.seek(0)
    with zipfile.ZipFile(fh) as archive:
        if not any(_holds_formula(archive, name) for name in archive.namelist()
                   if name.startswith("xl/worksheets/") and name.endswith(".xml")):
            return []
    fh.seek(0)
    workbook = openpyxl.load_workbook(fh, read_only=True, data_only=False)
    fixed: list[int] = []
    try:
        position = {number: i for i, number in enumerate(numbers)}
        for number, row in enumerate(workbook[sheet].iter_rows(values_only=True), start=1):
            i = position.get(number)
            if i is None:
                continue
            for j, value in enumerate(row):
                if isinstance(value, str) and value.startswith("=") and j < len(rows[i]) and rows[i][j] == "":
                    rows[i][j] = value
                    fixed.append(number)
            if number % 10_000 == 0:
                ctx.check_cancelled()
    finally:
        workbook.close()
    if not fixed:
        return []
    where = ", ".join(f"{n:,}" for n in sorted(set(fixed))[:5]) + ("…" if len(set(fixed)) > 5 else "")
    return [f"{len(fixed):,} cell{'s' if len(fixed) != 1 else ''} of sheet \"{sheet}\" hold{'s' if len(fixed) == 1 else ''} "
            f"a formula with no saved "
            f"result (the workbook was not saved by a spreadsheet program), so the formula's text was read instead "
            f"(sheet row {where})."]


def _holds_formula(archive: zipfile.ZipFile, name: str) -> bool:
    with archive.open(name) as member:
        tail = b""
        while chunk := member.read(1 << 20):
            if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                return True
            tail = chunk[-3:]
    return False


class FormattedValue:
    """A number, date or boolean to write with its number format ("dd/mm/yyyy", "0.00")."""

    __slots__ = ("value", "number_format")

    def __init__(self, value: Any, number_format: str) -> None:
        self.value = value
        self.number_format = number_format

    def __repr__(self) -> str:
        return f"FormattedValue({self.value!r}, {self.number_format!r})"


@dataclass(frozen=True, eq=False)
class SheetCells:
    """The sheet a table was read from, and its typed cells, aligned with the rows of the table.

    ``columns[name]`` = (row positions, values, number formats) of that column's cells that are not
    text (numbers, dates, times, booleans); a format is None for General. Text and blank cells are
    the table's own text. Mining and CSV exports read the text; an Excel export writes these."""

    sheet: str
    columns: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]

    @classmethod
    def from_typed(cls, sheet: str, typed: TypedCells, first_row: int, n_rows: int,
                   names: Sequence[str]) -> SheetCells:
        """``first_row``: the position in the rows read of the table's first data row (after titles
        and the header)."""
        columns = {}
        for j, (rows, values, formats) in typed.columns.items():
            start, end = bisect_left(rows, first_row), bisect_left(rows, first_row + n_rows)  # rows ascend
            if j >= len(names) or start == end:
                continue
            kept_values, kept_formats = np.empty(end - start, object), np.empty(end - start, object)
            kept_values[:] = values[start:end]
            kept_formats[:] = [None if f == "General" else f for f in formats[start:end]]
            columns[names[j]] = (np.asarray(rows[start:end], np.int64) - first_row, kept_values, kept_formats)
        return cls(sheet, columns)

    def typed_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (the table's rows, in order) with its typed cells as Excel held them; for workbook_bytes."""
        out = frame.copy(deep=False)
        for name, (rows, values, formats) in self.columns.items():
            if name not in out.columns:
                continue
            column = out[name].to_numpy(dtype=object, copy=True)
            column[rows] = [v if f is None else FormattedValue(v, f) for v, f in zip(values.tolist(), formats.tolist())]
            out[name] = pd.Series(column, index=out.index, dtype=object)
        return out


def rows_frame(rows: list[list[str]]) -> pd.DataFrame:
    width = max(map(len, rows))
    frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype="str")
    while frame.shape[1] > 1 and (frame.iloc[:, -1] == "").all():  # formatted but empty columns
        frame = frame.iloc[:, :-1]
    return frame


def title_rows(frame: pd.DataFrame) -> int:
    """How many leading rows are titles: fewer filled cells than the header row that follows them."""
    if frame.shape[1] < 2:
        return 0
    filled = (frame.iloc[: _TITLE_ROWS_MAX + 1] != "").sum(axis=1).to_numpy()
    for n in range(1, min(_TITLE_ROWS_MAX, len(frame) - 1) + 1):
        header = frame.iloc[n].tolist()
        if filled[n] >= 2 and filled[:n].max() < filled[n] and looks_like_header(
                header, frame.iloc[n + 1: n + 201].to_numpy().tolist()):
            return n
    return 0


# ----------------------------------------------------------------------------- writing


def workbook_bytes(frame: pd.DataFrame, sheet_title: str = "Sheet1") -> tuple[bytes, list[str]]:
    """The frame as an .xlsx file (header row first) and warnings about cells that had to change."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook(write_only=True)
    ws = workbook.create_sheet(_safe_sheet_title(sheet_title))
    columns = [str(c) for c in frame.columns]
    # Write-only sheets take column widths before the first row; the header stays in view and filters.
    for j, width in enumerate(column_widths(columns, frame), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(1, len(columns)))}{len(frame) + 1}"
    cut: dict[str, list[int]] = {}

    def cell(value: Any, column: str, row: int) -> Any:
        if isinstance(value, str):
            if not value:
                return None  # a blank cell, not an empty text
            text = escape_text(value)
            if len(text) > XLSX_CELL_LIMIT:
                cut.setdefault(column, []).append(row)
                text = text[: XLSX_CELL_LIMIT - 1] + "…"
            c = WriteOnlyCell(ws, value=text)
            c.data_type = "s"  # never a formula, whatever the text starts with
            return c
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, FormattedValue):
            c = WriteOnlyCell(ws, value=value.value)  # never a str: read as typed, not as text
            c.number_format = value.number_format
            return c
        if isinstance(value, np.generic):
            return value.item()
        return value

    ws.append([cell(name, "(header)", 0) for name in columns])
    for row_number, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        ws.append([cell(v, columns[j], row_number) for j, v in enumerate(values)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    notes = []
    for column, rows in cut.items():
        shown = ", ".join(f"{r:,}" for r in rows[:5]) + ("…" if len(rows) > 5 else "")
        notes.append(f'{len(rows):,} cell{"s" if len(rows) != 1 else ""} in column "{column}" '
                     f"{'were' if len(rows) != 1 else 'was'} longer than Excel's limit of {XLSX_CELL_LIMIT:,} "
                     f"characters and {'were' if len(rows) != 1 else 'was'} cut (row {shown}); "
                     "export as CSV to keep the whole text.")
    return buffer.getvalue(), notes


_WIDTH_SAMPLE = 1_000  # rows looked at for a column's width
_WIDTH_MIN, _WIDTH_MAX = 8, 60  # characters


def column_widths(columns: Sequence[str], frame: pd.DataFrame) -> list[float]:
    """A width per column that shows its header (and filter button) and its usual cell, within bounds."""
    head = frame.iloc[:_WIDTH_SAMPLE]
    widths = []
    for j, name in enumerate(columns):
        longest = max([len(name) + 2, *(_shown_length(v) for v in head.iloc[:, j].tolist())])
        widths.append(float(min(max(longest + 2, _WIDTH_MIN), _WIDTH_MAX)))
    return widths


def _shown_length(value: Any) -> int:
    if isinstance(value, str):
        return max(map(len, value.splitlines()), default=0)
    if isinstance(value, FormattedValue):  # a date shows about as wide as its format
        return len(value.number_format) if hasattr(value.value, "year") else _shown_length(value.value)
    if value is None or value is pd.NA:
        return 0
    if isinstance(value, (bool, np.bool_)):
        return 5
    return min(len(str(value)), 12)  # Excel shows about 11 digits of a long decimal


def _safe_sheet_title(title: str) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "_", title).strip("'") or "Sheet1"
    return title[:31]
