"""Read a question file (CSV, TSV, TXT, XLSX, Parquet, JSONL) into an immutable LoadedTable.

Files are sniffed by content (magic bytes, encoding, delimiter, header), then streamed in
chunks so a 500k-row file reports progress and can be cancelled. Every column comes back as
pandas' ``str`` dtype with "" for blanks, never NaN, so later steps handle one representation.
Problems the user can fix raise InputFileError / ColumnError with a message that says what is
wrong and what to do; anything unexpected propagates so the GUI logs the traceback.
The input file is only ever opened for reading.

Sniffing the file lives in core.sniffing, role/column detection and label parsing in
core.roles, atomic writes in core.atomic; their public names are re-exported here.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..atomic import atomic_write_text, atomic_writer
from ..errors import ColumnError, InputFileError
from ..jobs import JobContext, NullContext
from ..wording import plural

# Input files are opened through sniffing.open_binary, looked up at call time, so that a test
# replacing it there affects the sniff and every reader alike.
from . import csv_records, sniffing, xlsx
from .roles import (
    PairColumns,
    Role,
    detect_role,
    guess_question_column,
    parse_label_or_score,
    parse_labels,
    text_score,
)
from .sniffing import (
    ENCODING_NAMES,
    SUPPORTED_SUFFIXES,
    FileFormat,
    Sniffed,
    looks_like_header,
    sniff,
    sniff_format,
    unique_names,
    unquote,
)
from .structured import CHUNK_BYTES, CHUNK_ROWS, cell_text, read_jsonl, read_parquet

__all__ = [
    "SUPPORTED_SUFFIXES",
    "FileFormat",
    "LoadedTable",
    "PairColumns",
    "Role",
    "atomic_write_text",
    "atomic_writer",
    "detect_role",
    "guess_question_column",
    "parse_labels",
    "read_table",
    "sniff_format",
]

_LONG_VALUE = 100_000  # characters; longer cells are kept but reported


# eq=False: comparing two tables would compare DataFrames, which has no single truth value.
@dataclass(frozen=True, eq=False)
class LoadedTable:
    path: Path
    format: FileFormat
    frame: pd.DataFrame = field(repr=False)  # never modified after load
    role: Role
    question_column: str | None  # COLLECTION only
    pairs: PairColumns | None  # PAIRS only
    warnings: tuple[str, ...] = ()  # load_warnings + warnings about the chosen columns
    load_warnings: tuple[str, ...] = field(default=(), repr=False)  # about reading the file
    ignored_label: str | None = None  # PAIRS: a label column whose values could not all be read
    # XLSX: the sheet read and its numbers, dates and booleans as Excel typed them (the frame holds text)
    cells: xlsx.SheetCells | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def texts(self) -> pd.Series:
        """COLLECTION: the question column as is; PAIRS: the distinct non-blank question texts."""
        if self.role is Role.COLLECTION:
            return self.frame[self.question_column]
        pairs = self.pairs
        columns = [pairs.text1, pairs.text2] + ([pairs.negative] if pairs.negative else [])
        stacked = pd.concat([self.frame[c] for c in columns], ignore_index=True)
        stacked = stacked[stacked.str.strip() != ""]
        return stacked.drop_duplicates().reset_index(drop=True).rename("question")

    def labels(self) -> pd.Series | None:
        """PAIRS: labels as Int8 (1/0/NA) or, for a score column, Float64; else None."""
        if self.role is not Role.PAIRS or self.pairs.label is None:
            return None
        return parse_label_or_score(self.frame[self.pairs.label])

    def with_collection_column(self, column: str) -> LoadedTable:
        _require_columns(self, [column])
        _require_text(self.frame, column)
        return replace(self, role=Role.COLLECTION, question_column=column, pairs=None, warnings=self.load_warnings)

    def with_pair_columns(self, pairs: PairColumns) -> LoadedTable:
        _require_columns(self, pairs.columns())
        if pairs.text1 == pairs.text2:
            raise ColumnError("The two question columns of a pair must be different columns.")
        for column in (pairs.text1, pairs.text2, pairs.negative):
            if column is not None:
                _require_text(self.frame, column)
        notes = list(self.load_warnings)
        texts = [self.frame[c].str.strip() == "" for c in (pairs.text1, pairs.text2, pairs.negative) if c]
        n_blank_text = int(np.logical_or.reduce([t.to_numpy() for t in texts]).sum())
        if n_blank_text:
            notes.append(f"{plural(n_blank_text, 'pair')} {_has(n_blank_text)} a blank question and will be skipped.")
        if pairs.label is not None:
            n_unlabelled = int(parse_label_or_score(self.frame[pairs.label]).isna().sum())
            if n_unlabelled:
                notes.append(
                    f"{plural(n_unlabelled, 'pair')} {_has(n_unlabelled)} no label and "
                    f"{'is' if n_unlabelled == 1 else 'are'} ignored for training/evaluation."
                )
        return replace(self, role=Role.PAIRS, question_column=None, pairs=pairs, warnings=tuple(notes))


def _require_columns(table: LoadedTable, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.frame.columns]
    if missing:
        raise ColumnError(
            f"{table.path.name} has no column {', '.join(repr(c) for c in missing)}.",
            hint=f"Its columns are: {', '.join(map(str, table.frame.columns))}.",
        )


def _require_text(frame: pd.DataFrame, column: str) -> None:
    if text_score(frame[column]) is None:
        raise ColumnError(
            f'Column "{column}" holds no text: it is empty or holds only numbers.',
            hint="Choose the column that holds the questions.",
        )


# ---------------------------------------------------------------------------------------------
# Reading

_Reader = Callable[[Path, Sniffed, str, str, JobContext], tuple[pd.DataFrame, FileFormat, list[str]]]


def read_frame(path: str | Path, ctx: JobContext | None = None, sheet: str | None = None,
               header: bool | None = None) -> tuple[pd.DataFrame, FileFormat, list[str], xlsx.SheetCells | None]:
    """Sniff and read a whole file as text cells: (frame, format, notes about the reading, the
    workbook's typed cells or None). read_table then guesses the file's role and columns."""
    ctx = ctx or NullContext()
    path = Path(path)
    ctx.set_status(f"Reading {path.name}…")
    sniffed = sniff(path, header)
    cells = None
    try:
        if sniffed.format.kind == "xlsx":
            frame, fmt, notes, cells = _read_xlsx(path, sniffed, ctx, sheet)
        elif sniffed.format.kind == "parquet":
            frame, fmt, notes = read_parquet(path, sniffed, ctx)
        else:
            reader = (read_jsonl if sniffed.format.kind == "jsonl"
                      else _read_lines if sniffed.format.kind == "txt"
                      else _read_single_column if sniffed.format.delimiter is None else _read_delimited)
            frame, fmt, notes = _with_decoding_fallback(reader, path, sniffed, ctx)
    except OSError as exc:  # deleted, unplugged or locked between chunks
        raise InputFileError(
            f"{path.name} disappeared or could not be read while loading ({exc.strerror or exc}).",
            hint="Check that the file still exists and no other program is changing it, then load it again.",
        ) from exc
    except MemoryError as exc:
        raise InputFileError(f"{path.name} is too large to load into memory.",
                             hint="Split it into smaller files, or close other programs and try again.") from exc
    ctx.check_cancelled()
    if len(frame) == 0:
        if fmt.has_header:
            header = ", ".join(map(str, frame.columns[:6]))
            raise InputFileError(f"{path.name} has a header row ({header}) but no data rows.",
                                 hint="Add questions below the header, or choose another file.")
        raise InputFileError(f"{path.name} holds no rows.", hint="Choose a file with one question per row.")
    if sheet is not None and fmt.kind != "xlsx":
        raise InputFileError(f"{path.name} is not an Excel workbook, so it has no sheet \"{sheet}\".",
                             hint="Leave out the sheet for CSV, TSV, TXT, Parquet and JSONL files.")
    notes += _long_value_notes(frame)
    return frame, fmt, notes, cells


def read_table(path: str | Path, ctx: JobContext | None = None, sheet: str | None = None,
               header: bool | None = None) -> LoadedTable:
    """Sniff and read a whole file, guess its role and columns; see LoadedTable.

    ``sheet``: the workbook sheet to read (default: the first that holds data); ``header``:
    whether the first row is a header (default: detected)."""
    ctx = ctx or NullContext()
    path = Path(path)
    frame, fmt, notes, cells = read_frame(path, ctx, sheet, header)
    try:
        role, question_column, pairs = detect_role(frame)
    except ColumnError as exc:
        raise ColumnError(f"{path.name}: {exc.message}", exc.hint) from exc
    table = LoadedTable(path, fmt, frame, role, question_column, None, tuple(notes), tuple(notes), cells=cells)
    if pairs is not None:
        try:
            table = table.with_pair_columns(pairs)
        except ColumnError as exc:
            if pairs.label is None:
                raise
            # Unusable labels must not block the file: load the pairs unlabelled and say why.
            table = table.with_pair_columns(replace(pairs, label=None))
            table = replace(table, ignored_label=pairs.label,
                            warnings=(*table.warnings, f"{exc.message} These labels are ignored: choose another "
                                      "label column, or fix the file and load it again."))
    ctx.set_status(f"Read {len(frame):,} rows from {path.name}")
    return table


def _with_decoding_fallback(reader: _Reader, path: Path, sniffed: Sniffed, ctx: JobContext):
    """Read strictly; if bytes past the sniffed sample do not decode, read again leniently."""
    encoding = sniffed.format.encoding
    try:
        return reader(path, sniffed, encoding, "strict", ctx)
    except UnicodeDecodeError:
        pass
    if encoding == "utf-8" and sniffed.head_is_ascii:  # plain ASCII head, then e.g. "caf\xe9"
        note = (f"{path.name} is not valid UTF-8; it was read as Windows-1252 (cp1252). "
                "Check that accented letters look right.")
        encoding = "cp1252"
    else:
        name = ENCODING_NAMES.get(encoding, encoding)
        note = f"Some bytes in {path.name} are not valid {name}; they were replaced by “�”."
    ctx.set_status(f"Reading {path.name} again…")
    frame, fmt, notes = reader(path, sniffed, encoding, "replace", ctx)
    return frame, fmt, [note, *notes]


def _read_delimited(path: Path, sniffed: Sniffed, encoding: str, errors: str, ctx: JobContext):
    """pandas' C reader for speed; the csv module where it would lose rows or cannot say where."""
    fmt, names = replace(sniffed.format, encoding=encoding), list(sniffed.names)
    chunks = []
    # on_bad_lines="warn" is the only C-engine way to learn that long rows were skipped.
    # (catch_warnings is process-wide; a stray warning from another thread may land here.)
    with warnings.catch_warnings(record=True) as caught, sniffing.open_binary(path) as fh:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            reader = pd.read_csv(
                fh, sep=fmt.delimiter, header=0 if fmt.has_header else None, names=names, index_col=False,
                dtype=str, na_filter=False, quotechar=fmt.quotechar or '"', skip_blank_lines=True,
                on_bad_lines="warn", engine="c", encoding=encoding, encoding_errors=errors,
                chunksize=CHUNK_ROWS,
            )
            with reader:
                for chunk in reader:
                    chunks.append(chunk)
                    ctx.set_progress(fh.tell(), sniffed.size)
                    ctx.check_cancelled()
        except pd.errors.ParserError as exc:
            match = re.search(r"EOF inside string starting at row (\d+)", str(exc))
            if not match:
                raise
            raise InputFileError(
                f'{path.name} has a quote (") that is never closed, starting near line {int(match[1]) + 1:,}.',
                hint="Fix the quotes in that row, or save the file again from a spreadsheet program.",
            ) from exc
    lost_rows = False
    for warning in caught:
        text = str(warning.message)
        if "Skipping line" in text or "Length of header or names does not match" in text:
            lost_rows = True  # a long row was skipped, or a long *first* data row truncated
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame({n: pd.Series(dtype="str") for n in names})
    notes = []
    # Ragged rows: pandas drops long ones and pads short ones exactly like a row whose last cells
    # are empty, so read the file again with the csv module, but only when such rows can exist.
    if lost_rows or (len(names) > 1 and len(frame) and (frame[names[-1]] == "").any()):
        ctx.set_status(f"Checking the rows of {path.name}…")
        with sniffing.open_binary(path) as fh, \
                io.TextIOWrapper(fh, encoding=encoding, errors=errors, newline="") as text:
            rows, long, short = csv_records.read_ragged(fh, text, fmt.delimiter, fmt.quotechar or '"', fmt.has_header,
                                                        len(names), sniffed.size, ctx, keep_rows=lost_rows)
        if lost_rows:
            frame = pd.DataFrame(rows, columns=names, dtype="str") if rows else frame.iloc[:0]
        if long:
            notes.append(f"{plural(len(long), 'row')} had more fields than the header ({len(names)}); "
                         f"the extra cells were kept, joined into the last column \"{names[-1]}\" "
                         f"({csv_records.lines_text([r.line for r in long])}).")
        if short:
            notes.append(f"{plural(len(short), 'row')} had fewer fields than the header; the missing cells "
                         f"were left blank ({csv_records.lines_text([r.line for r in short])}).")
    notes += _swallowing_notes(path, frame, fmt, encoding, errors, ctx)
    return frame, fmt, notes


def _swallowing_notes(path: Path, frame: pd.DataFrame, fmt: FileFormat, encoding: str, errors: str,
                      ctx: JobContext) -> list[str]:
    if not _may_hold_line_breaks(path, len(frame) + fmt.has_header, encoding):
        return []
    rows = csv_records.swallowing_rows(frame, fmt.delimiter)
    if not rows:
        return []
    with sniffing.open_binary(path) as fh, io.TextIOWrapper(fh, encoding=encoding, errors=errors, newline="") as text:
        starts = csv_records.record_start_lines(text, fmt.delimiter, fmt.quotechar or '"', fmt.has_header, ctx)
    lines = [starts[r] if r < len(starts) else r + 1 + fmt.has_header for r in rows]
    return [f"{plural(len(rows), 'field')} run{'s' if len(rows) == 1 else ''} over line breaks and "
            f"hold{'s' if len(rows) == 1 else ''} what looks like whole rows: a quote (\") may be missing, "
            f"so rows may have been merged ({csv_records.lines_text(lines)}; data row "
            f"{', '.join(f'{r + 1:,}' for r in rows[:5])}). Check the quotes there."]


def _may_hold_line_breaks(path: Path, n_lines: int, encoding: str) -> bool:
    """False when no cell can hold a line break: no lone carriage return, and no more line feeds
    than records (counting bytes is ~50x faster than looking at every cell)."""
    if not encoding.startswith("utf-8") and encoding != "cp1252":
        return True  # UTF-16/32: a byte count says nothing
    line_feeds, carriage_returns = 0, 0
    with sniffing.open_binary(path) as fh:
        while chunk := fh.read(CHUNK_BYTES):
            line_feeds += chunk.count(b"\n")
            carriage_returns += chunk.count(b"\r") - chunk.count(b"\r\n")  # (a pair split by chunks: a rescan)
    return carriage_returns > 0 or line_feeds > n_lines


def _read_single_column(path: Path, sniffed: Sniffed, encoding: str, errors: str, ctx: JobContext):
    """A one-column CSV/TSV: parsed as CSV; one question per line only if it is not valid CSV."""
    fmt = replace(sniffed.format, encoding=encoding)
    try:
        with sniffing.open_binary(path) as fh, \
                io.TextIOWrapper(fh, encoding=encoding, errors=errors, newline="") as text:
            column, header = csv_records.read_single_column(fh, text, fmt.quotechar or '"', fmt.has_header,
                                                            sniffed.size, ctx)
    except csv_records.NotValidCsv as exc:
        frame, fmt, notes = _read_lines(path, sniffed, encoding, errors, ctx)
        note = (f"{path.name} is not valid CSV ({exc}), so it was read as one question per line: "
                "a line break always starts a new row, and only lines wholly in quotes lose their quotes.")
        return frame, replace(fmt, lines_fallback=True), [note, *notes]
    name = sniffed.names[0] if header is None else (unique_names([header])[0])
    return pd.DataFrame({name: column}), fmt, []


def _read_lines(path: Path, sniffed: Sniffed, encoding: str, errors: str, ctx: JobContext):
    """One value per line (txt, or a one-column file that is not valid CSV); blank lines are skipped."""
    fmt = replace(sniffed.format, encoding=encoding)
    chunks, header_pending = [], fmt.has_header
    with sniffing.open_binary(path) as fh, io.TextIOWrapper(fh, encoding=encoding, errors=errors) as text:
        while lines := text.readlines(CHUNK_BYTES):
            values = [line.rstrip("\n") for line in lines if line.strip()]
            if header_pending and values:
                values, header_pending = values[1:], False
            if fmt.quotechar:
                values = [unquote(v, fmt.quotechar) for v in values]
            chunks.append(pd.Series(values, dtype="str"))
            ctx.set_progress(fh.tell(), sniffed.size)
            ctx.check_cancelled()
    column = pd.concat(chunks, ignore_index=True) if chunks else pd.Series(dtype="str")
    return pd.DataFrame({sniffed.names[0]: column}), fmt, []


def _read_xlsx(path: Path, sniffed: Sniffed, ctx: JobContext, sheet: str | None = None):
    with sniffing.open_binary(path) as fh:
        rows, numbers, sheet_read, sheets, notes, typed = xlsx.read_sheet(fh, path, sheet, ctx, cell_text)
    frame = xlsx.rows_frame(rows)
    n_titles = xlsx.title_rows(frame)
    if n_titles:
        lines = (" ".join(c for c in frame.iloc[i].tolist() if c.strip())[:60] for i in range(n_titles))
        titles = "; ".join(line for line in lines if line) or "blank"  # a blank spacer row adds no "; "
        notes.append(f"{plural(n_titles, 'title row')} above the header {'was' if n_titles == 1 else 'were'} "
                     f"skipped (sheet row {', '.join(str(n) for n in numbers[:n_titles])}: {titles}).")
        frame, numbers = frame.iloc[n_titles:].reset_index(drop=True), numbers[n_titles:]
        while frame.shape[1] > 1 and (frame.iloc[:, -1] == "").all():
            frame = frame.iloc[:, :-1]
    first = frame.iloc[0].tolist()
    has_header = looks_like_header(first, frame.iloc[1:201].to_numpy().tolist()) if sniffed.header is None \
        else sniffed.header
    if has_header:
        frame, names = frame.iloc[1:].reset_index(drop=True), unique_names(first)
    else:
        names = [f"column_{i}" for i in range(1, frame.shape[1] + 1)]
    if len(sheets) > 1:
        others = ", ".join(f'"{n}"' for n in sheets if n != sheet_read)
        notes.insert(0, f'{path.name} has {len(sheets)} sheets; sheet "{sheet_read}" was read. The others ({others}) '
                        "can be chosen with the sheet picker (or --sheet NAME).")
    fmt = replace(sniffed.format, has_header=has_header, sheet=sheet_read, sheets=tuple(sheets))
    cells = xlsx.SheetCells.from_typed(sheet_read, typed, n_titles + has_header, len(frame), names)
    return frame.set_axis(names, axis=1), fmt, notes, cells


def _long_value_notes(frame: pd.DataFrame) -> list[str]:
    notes = []
    for column in frame.columns:
        lengths = frame[column].str.len()
        longest = int(lengths.max())
        if longest > _LONG_VALUE:
            n = int((lengths > _LONG_VALUE).sum())
            notes.append(
                f'{plural(n, "value")} in column "{column}" {"is" if n == 1 else "are"} longer than '
                f"{_LONG_VALUE:,} characters (the longest, in row {int(lengths.to_numpy().argmax()) + 1:,}, "
                f"has {longest:,}); models read only the first few hundred words of a text."
            )
    return notes


def _has(n: int) -> str:
    return "has" if n == 1 else "have"
