"""Read a question file (CSV, TSV, TXT, XLSX, Parquet, JSONL) into an immutable LoadedTable.

Files are sniffed by content (magic bytes, encoding, delimiter, header), then streamed in
chunks so a 500k-row file reports progress and can be cancelled. Every column comes back as
pandas' ``str`` dtype with "" for blanks, never NaN, so later steps handle one representation.
Problems the user can fix raise InputFileError / ColumnError with a message that says what is
wrong and what to do; anything unexpected propagates so the GUI logs the traceback.
The input file is only ever opened for reading.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import secrets
import stat
import unicodedata
import warnings
import zipfile
from collections import Counter
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import numpy as np
import pandas as pd

from .errors import ColumnError, InputFileError
from .jobs import JobContext, NullContext

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".parquet", ".jsonl", ".ndjson")
_SUPPORTED = "quoradup reads CSV, TSV, TXT, XLSX, Parquet and JSONL files."
_CHUNK_ROWS = 50_000  # ~0.1 s of parsing per chunk: the cancel/progress granularity
_CHUNK_BYTES = 4 << 20  # the same for line-based readers
_SAMPLE_BYTES = 256 << 10  # what sniffing looks at
_SAMPLE_RECORDS = 500
_LONG_VALUE = 100_000  # characters; longer cells are kept but reported
_DELIMITERS = (",", "\t", ";", "|")

# The csv module sniffs (and counts short rows); a 10 MB field must not trip its 128 KB limit.
csv.field_size_limit(2**31 - 1)


class Role(str, Enum):
    COLLECTION = "collection"  # one question per row: find duplicates among them
    PAIRS = "pairs"  # labelled / positive pairs: train or evaluate a model


_KIND_NAMES = {
    "csv": "CSV", "tsv": "TSV", "txt": "Text", "xlsx": "Excel workbook", "parquet": "Parquet", "jsonl": "JSON Lines",
}
_ENCODING_NAMES = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16", "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE", "utf-32": "UTF-32", "cp1252": "Windows-1252",
}
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


@dataclass(frozen=True)
class FileFormat:
    kind: str  # "csv" | "tsv" | "txt" | "xlsx" | "parquet" | "jsonl"
    encoding: str | None  # None for binary formats
    delimiter: str | None  # None: one value per line (txt, single-column csv) or binary
    has_header: bool
    quotechar: str | None = '"'

    def describe(self) -> str:
        parts = [_KIND_NAMES.get(self.kind, self.kind.upper())]
        if self.kind == "xlsx":
            parts.append("first sheet")
        if self.encoding:
            parts.append(_ENCODING_NAMES.get(self.encoding, self.encoding.upper()))
        if self.kind == "txt":
            parts.append("one question per line")
        elif self.delimiter:
            parts.append(f"{_DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-delimited")
        elif self.kind in ("csv", "tsv"):
            parts.append("single column")
        if self.kind in ("csv", "tsv", "txt", "xlsx"):
            parts.append("with header" if self.has_header else "no header row")
        return ", ".join(parts)


@dataclass(frozen=True)
class PairColumns:
    text1: str
    text2: str
    label: str | None = None  # is_duplicate / label / score; None for anchor,positive
    negative: str | None = None  # anchor,positive,negative
    qid1: str | None = None
    qid2: str | None = None
    layout: str = "custom"  # quora-kaggle | sentence-pair | triplet | anchor-positive | question-pair | custom

    def columns(self) -> list[str]:
        names = (self.text1, self.text2, self.label, self.negative, self.qid1, self.qid2)
        return [name for name in names if name is not None]


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
        return _parse_label_or_score(self.frame[self.pairs.label])

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
            notes.append(f"{_plural(n_blank_text, 'pair')} {_has(n_blank_text)} a blank question and will be skipped.")
        if pairs.label is not None:
            n_unlabelled = int(_parse_label_or_score(self.frame[pairs.label]).isna().sum())
            if n_unlabelled:
                notes.append(
                    f"{_plural(n_unlabelled, 'pair')} {_has(n_unlabelled)} no label and "
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
    if _text_score(frame[column]) is None:
        raise ColumnError(
            f'Column "{column}" holds no text: it is empty or holds only numbers.',
            hint="Choose the column that holds the questions.",
        )


# ---------------------------------------------------------------------------------------------
# Sniffing


@dataclass(frozen=True)
class _Sniffed:
    format: FileFormat
    size: int
    names: tuple[str, ...] = ()  # column names to use for text files
    head_is_ascii: bool = True


def sniff_format(path: Path) -> FileFormat:
    """Detect kind, encoding, delimiter and header from the file's first 256 KB.

    For xlsx the header is decided while reading (the sheet is not opened here), so
    ``read_table(...).format`` is the authoritative description.
    """
    return _sniff(Path(path)).format


def _open_binary(path: Path) -> IO[bytes]:
    """The one place input files are opened (read-only); tests replace it to inject I/O errors."""
    return open(path, "rb")


def _sniff(path: Path) -> _Sniffed:
    try:
        size = _check_path(path)
        with _open_binary(path) as fh:
            head = fh.read(_SAMPLE_BYTES)
    except PermissionError as exc:
        raise _permission_error(path) from exc
    except OSError as exc:
        raise InputFileError(f"{path.name} could not be read ({exc.strerror or exc}).",
                             hint="Check that the file is not on a disconnected drive, then try again.") from exc
    suffix = path.suffix.lower()
    binary = _binary_kind(path, head, suffix)
    if binary:
        return _Sniffed(FileFormat(binary, None, None, True, None), size)
    if suffix and suffix not in SUPPORTED_SUFFIXES:
        raise InputFileError(f"{path.name}: {_SUPPORTED}", hint="Save or export the questions in one of these formats.")
    if suffix in (".xlsx", ".xlsm", ".parquet"):
        raise InputFileError(
            f"{path.name} is named like a {'Parquet' if suffix == '.parquet' else 'Excel'} file, but it is not one.",
            hint="It may be damaged or renamed; save it again from the program that made it.",
        )
    at_eof = size <= len(head)
    encoding = _detect_encoding(path, head, at_eof)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=at_eof)
    if not at_eof and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # sniff whole lines only
    if at_eof and not text.strip():
        raise InputFileError(f"{path.name} holds only blank lines.", hint="Choose a file with one question per row.")
    if suffix in (".jsonl", ".ndjson"):
        return _Sniffed(FileFormat("jsonl", encoding, None, True, None), size, head_is_ascii=head.isascii())
    fmt, names = _sniff_text(text, suffix, encoding, at_eof)
    return _Sniffed(fmt, size, names, head.isascii())


def _check_path(path: Path) -> int:
    if not path.exists():
        raise InputFileError(f"{path} does not exist.", hint="Check the name and folder, or choose the file again.")
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not a file.", hint="Choose one of the files inside it.")
    if not path.is_file():  # a FIFO or device would block forever
        raise InputFileError(f"{path} is not a regular file.", hint=_SUPPORTED)
    size = path.stat().st_size
    if size == 0:
        raise InputFileError(f"{path.name} is empty (0 bytes).", hint="Choose a file with one question per row.")
    return size


def _permission_error(path: Path) -> InputFileError:
    return InputFileError(f"quoradup is not allowed to read {path.name}.",
                          hint="Check the file's permissions, or copy it to a folder you own.")


_OTHER_BINARIES = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip-compressed file"), (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"SQLite format 3\x00", "an SQLite database"),
)


def _binary_kind(path: Path, head: bytes, suffix: str) -> str | None:
    """"xlsx" / "parquet" by magic bytes (whatever the extension), None for text; raises for other binaries."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            with _open_binary(path) as fh, zipfile.ZipFile(fh) as archive:
                members = archive.namelist()
        except zipfile.BadZipFile:
            members = []
        if any(m.startswith("xl/") for m in members):
            return "xlsx"
        if not members and suffix in (".xlsx", ".xlsm"):
            raise InputFileError(f"{path.name} is a damaged Excel workbook.",
                                 hint="Open it in Excel or LibreOffice and save it again, or export it as CSV.")
        what = ("a Word document" if any(m.startswith("word/") for m in members)
                else "a PowerPoint file" if any(m.startswith("ppt/") for m in members) else "a ZIP archive")
        raise InputFileError(f"{path.name} is {what}, not a table of questions.", hint=_SUPPORTED)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise InputFileError(f"{path.name} is an old-style Office file (.xls/.doc) or a password-protected workbook.",
                             hint="Open it in Excel or LibreOffice and save it as .xlsx (without a password) or CSV.")
    for magic, what in _OTHER_BINARIES:
        if head.startswith(magic):
            raise InputFileError(f"{path.name} is {what}, not a table of questions.", hint=_SUPPORTED)
    return None


_CONTROL_BYTES = bytes(set(range(32)) - {9, 10, 11, 12, 13, 26} | {127})


def _detect_encoding(path: Path, head: bytes, at_eof: bool) -> str:
    """BOM, then BOM-less UTF-16, then strict UTF-8, then a legacy code page."""
    for bom, encoding in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                          (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if head.startswith(bom):
            return encoding
    if b"\x00" in head:
        # ASCII-range text in UTF-16 without a BOM has a NUL in every other byte.
        nul_even, nul_odd = head[0::2].count(0) / len(head[0::2]), head[1::2].count(0) / max(1, len(head[1::2]))
        for encoding, zeros, other in (("utf-16-le", nul_odd, nul_even), ("utf-16-be", nul_even, nul_odd)):
            if zeros > 0.3 and other < 0.05 and _decodes(head[: len(head) // 2 * 2], encoding):
                return encoding
    if len(head) - len(head.translate(None, _CONTROL_BYTES)) > len(head) / 100:  # NUL included
        raise InputFileError(f"{path.name} is not a text file (it holds binary data).",
                             hint=f"{_SUPPORTED} Check that you chose the right file.")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=at_eof)
        return "utf-8"
    except UnicodeDecodeError:
        return _guess_legacy_encoding(head)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def _guess_legacy_encoding(head: bytes) -> str:
    """charset-normalizer's guess, but cp1252 for Latin-script text.

    charset-normalizer often answers cp1250 for Western text, which turns "Où" into "Oů";
    cp1252 is by far the most common legacy encoding of Latin-script question files.
    """
    import charset_normalizer

    best = charset_normalizer.from_bytes(head).best()
    guess = best.encoding if best is not None else None
    if guess is None:
        return "cp1252"
    letters = [ch for ch in head.decode(guess, errors="replace") if ord(ch) > 127 and ch.isalpha()]
    latin = sum(unicodedata.name(ch, "").startswith("LATIN") for ch in letters)
    if latin >= len(letters) / 2 and _decodes(head, "cp1252"):
        return "cp1252"
    return guess


_KNOWN_NAMES = {
    "id", "qid", "qid1", "qid2", "question", "questions", "question1", "question2", "questiontext",
    "isduplicate", "duplicate", "label", "labels", "score", "text", "text1", "text2", "title", "query",
    "sentence", "sentence1", "sentence2", "anchor", "positive", "negative", "category", "body",
    "answer", "prompt", "content",
}
_LABEL_LIKE = re.compile(r"[^\W\d][\w .\-/()#&%:]*")


def _name_key(name: object) -> str:
    """Column-name key that ignores case, spaces, underscores and hyphens."""
    return re.sub(r"[\s_\-]+", "", str(name).casefold())


def _is_label_like(cell: str) -> bool:
    """A short identifier-ish name such as "question", "is_duplicate" or "Question Text"."""
    cell = cell.strip()
    return 0 < len(cell) <= 40 and len(cell.split()) <= 4 and _LABEL_LIKE.fullmatch(cell) is not None


def _looks_like_header(first: list[str], rest: list[list[str]]) -> bool:
    """Is the first row a header? (csv.Sniffer.has_header guesses badly for all-text columns.)

    Yes if every named cell is a short label and either one is a well-known column name, or
    some column's values below are unlike labels (numbers, sentences, questions).
    """
    cells = [c.strip() for c in first]
    named = [c for c in cells if c]
    if not named or len(named) < len(cells) / 2 or not all(_is_label_like(c) for c in named):
        return False
    if any(_name_key(c) in _KNOWN_NAMES for c in named):
        return True
    for j, head in enumerate(cells):
        below = [row[j].strip() for row in rest if len(row) > j and row[j].strip()]
        if head and below and head not in below and sum(map(_is_label_like, below)) < len(below) / 2:
            return True
    return False


def _sample_records(text: str, delimiter: str) -> list[list[str]]:
    records: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"'):
            if row and not (len(row) == 1 and not row[0].strip()):  # pandas skips blank lines too
                records.append(row)
                if len(records) >= _SAMPLE_RECORDS:
                    break
    except csv.Error:
        pass  # odd quoting at the end of a truncated sample: judge by what parsed
    return records


def _pick_delimiter(text: str, min_share: float) -> str | None:
    """The delimiter that splits most sample records, ranked by how consistent the field count is.

    A candidate must split at least ``min_share`` of the records (ragged files still qualify);
    among candidates the most regular field count wins.
    """
    scores = {}
    for delimiter in _DELIMITERS:
        counts = [len(r) for r in _sample_records(text, delimiter)]
        if counts and sum(c >= 2 for c in counts) >= min_share * len(counts):
            modal, frequency = Counter(counts).most_common(1)[0]
            if modal >= 2:
                scores[delimiter] = frequency / len(counts)
    if not scores:
        return None
    best = [d for d, s in scores.items() if s >= max(scores.values()) - 1e-9]
    if len(best) > 1:  # e.g. every line has one comma and one semicolon: let the Sniffer decide
        with suppress(csv.Error):
            sniffed = csv.Sniffer().sniff(text[:16384], delimiters="".join(best)).delimiter
            if sniffed in best:
                return sniffed
    return best[0]


def _sniff_text(text: str, suffix: str, encoding: str, at_eof: bool) -> tuple[FileFormat, tuple[str, ...]]:
    lines = [line for line in text.split("\n") if line.strip()][:_SAMPLE_RECORDS]
    if not lines:
        raise InputFileError("The file starts with a long run of blank lines.", hint="Remove them and try again.")
    if suffix in (".tsv", ".tab"):
        delimiter: str | None = "\t"
    else:  # a .txt is a table only when that is clear
        delimiter = _pick_delimiter(text, 0.95 if suffix == ".txt" else 0.8)
    records = _sample_records(text, delimiter) if delimiter else []
    if not at_eof and len(records) > 1:
        records = records[:-1]  # the sample may end inside a quoted field
    if records:  # (empty if the csv module could not parse the sample at all)
        has_header = _looks_like_header(records[0], records[1:])
        if suffix != ".txt" or has_header:
            data = records[1:] if has_header else records
            width = Counter(map(len, data)).most_common(1)[0][0] if data else len(records[0])
            raw = records[0] if has_header else []
            names = _unique_names(raw + [""] * (width - len(raw)))
            kind = "tsv" if delimiter == "\t" else "csv"
            return FileFormat(kind, encoding, delimiter, has_header), tuple(names)
    # One value per line. A .txt has a header only if it is a well-known name like "question".
    first = lines[0].strip()
    if suffix == ".txt":
        has_header = _name_key(first) in _KNOWN_NAMES
        return FileFormat("txt", encoding, None, has_header, None), (first if has_header else "question",)
    unquoted = [_unquote(line, '"') for line in lines]
    has_header = _looks_like_header(unquoted[:1], [[v] for v in unquoted[1:]])
    kind = "tsv" if suffix in (".tsv", ".tab") else "csv"
    return FileFormat(kind, encoding, None, has_header), (unquoted[0].strip() if has_header else "question",)


def _unquote(value: str, quotechar: str) -> str:
    if len(value) >= 2 and value[0] == quotechar and value[-1] == quotechar:
        return value[1:-1].replace(quotechar * 2, quotechar)
    return value


def _unique_names(raw: list[Any]) -> list[str]:
    """Stripped names; blanks become "column_<position>", repeats get "_2", "_3"…"""
    names: list[str] = []
    for i, name in enumerate(raw, start=1):
        name = str(name).strip() if name is not None else ""
        base = name or f"column_{i}"
        name, k = base, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names


# ---------------------------------------------------------------------------------------------
# Reading

_Reader = Callable[[Path, _Sniffed, str, str, JobContext], tuple[pd.DataFrame, FileFormat, list[str]]]


def read_table(path: str | Path, ctx: JobContext | None = None) -> LoadedTable:
    """Sniff and read a whole file, guess its role and columns; see LoadedTable."""
    ctx = ctx or NullContext()
    path = Path(path)
    ctx.set_status(f"Reading {path.name}…")
    sniffed = _sniff(path)
    try:
        if sniffed.format.kind == "xlsx":
            frame, fmt, notes = _read_xlsx(path, sniffed, ctx)
        elif sniffed.format.kind == "parquet":
            frame, fmt, notes = _read_parquet(path, sniffed, ctx)
        else:
            reader = (_read_jsonl if sniffed.format.kind == "jsonl"
                      else _read_lines if sniffed.format.delimiter is None else _read_delimited)
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
    notes += _long_value_notes(frame)
    try:
        role, question_column, pairs = detect_role(frame)
    except ColumnError as exc:
        raise ColumnError(f"{path.name}: {exc.message}", exc.hint) from exc
    table = LoadedTable(path, fmt, frame, role, question_column, None, tuple(notes), tuple(notes))
    if pairs is not None:
        try:
            table = table.with_pair_columns(pairs)
        except ColumnError as exc:
            if pairs.label is None:
                raise
            # Unusable labels must not block the file: load the pairs unlabelled and say why.
            table = table.with_pair_columns(replace(pairs, label=None))
            table = replace(table, warnings=(*table.warnings, f"{exc.message} These labels are ignored: "
                                             "choose another label column, or fix the file and load it again."))
    ctx.set_status(f"Read {len(frame):,} rows from {path.name}")
    return table


def _with_decoding_fallback(reader: _Reader, path: Path, sniffed: _Sniffed, ctx: JobContext):
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
        name = _ENCODING_NAMES.get(encoding, encoding)
        note = f"Some bytes in {path.name} are not valid {name}; they were replaced by “�”."
    ctx.set_status(f"Reading {path.name} again…")
    frame, fmt, notes = reader(path, sniffed, encoding, "replace", ctx)
    return frame, fmt, [note, *notes]


def _read_delimited(path: Path, sniffed: _Sniffed, encoding: str, errors: str, ctx: JobContext):
    fmt, names = replace(sniffed.format, encoding=encoding), list(sniffed.names)
    chunks = []
    # on_bad_lines="warn" is the only C-engine way to learn which long rows were skipped.
    # (catch_warnings is process-wide; a stray warning from another thread may land here.)
    with warnings.catch_warnings(record=True) as caught, _open_binary(path) as fh:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            reader = pd.read_csv(
                fh, sep=fmt.delimiter, header=0 if fmt.has_header else None, names=names, index_col=False,
                dtype=str, na_filter=False, quotechar=fmt.quotechar or '"', skip_blank_lines=True,
                on_bad_lines="warn", engine="c", encoding=encoding, encoding_errors=errors,
                chunksize=_CHUNK_ROWS,
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
    skipped, first_row_cut = [], False
    for warning in caught:
        found = re.findall(r"Skipping line (\d+)", str(warning.message))
        if found:
            skipped += [int(n) for n in found]
        elif "Length of header or names does not match" in str(warning.message):
            first_row_cut = True  # pandas truncates (not skips) a too-long *first* data row
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame({n: pd.Series(dtype="str") for n in names})
    notes = []
    if skipped:
        where = ", ".join(f"{n:,}" for n in skipped[:5]) + ("…" if len(skipped) > 5 else "")
        notes.append(f"{_plural(len(skipped), 'row')} had more fields than the header and "
                     f"{'was' if len(skipped) == 1 else 'were'} skipped (line {where}).")
    if first_row_cut:
        notes.append("The first data row had more fields than the header; its extra cells were dropped.")
    # A short row is padded with "" exactly like a row whose last cells are empty, so count
    # them with a second (csv-module) pass, but only when such rows can exist.
    if len(names) > 1 and len(frame) and (frame[names[-1]] == "").any():
        n_short = _count_short_rows(path, fmt, len(names), ctx)
        if n_short:
            notes.append(f"{_plural(n_short, 'row')} had fewer fields than the header; "
                         "the missing cells were left blank.")
    return frame, fmt, notes


def _count_short_rows(path: Path, fmt: FileFormat, width: int, ctx: JobContext) -> int:
    short, header_pending = 0, fmt.has_header
    errors = "replace"  # the strict read already succeeded or fell back
    with _open_binary(path) as fh, io.TextIOWrapper(fh, encoding=fmt.encoding, errors=errors, newline="") as text:
        try:
            for i, row in enumerate(csv.reader(text, delimiter=fmt.delimiter, quotechar=fmt.quotechar or '"')):
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if header_pending:
                    header_pending = False
                elif len(row) < width:
                    short += 1
                if i % _CHUNK_ROWS == 0:
                    ctx.check_cancelled()
        except csv.Error:  # e.g. a NUL byte, which pandas tolerates: the count is only a hint
            pass
    return short


def _read_lines(path: Path, sniffed: _Sniffed, encoding: str, errors: str, ctx: JobContext):
    """One value per line (txt, single-column csv); blank lines are skipped like pandas does."""
    fmt = replace(sniffed.format, encoding=encoding)
    chunks, header_pending = [], fmt.has_header
    with _open_binary(path) as fh, io.TextIOWrapper(fh, encoding=encoding, errors=errors) as text:
        while lines := text.readlines(_CHUNK_BYTES):
            values = [line.rstrip("\n") for line in lines if line.strip()]
            if header_pending and values:
                values, header_pending = values[1:], False
            if fmt.quotechar:
                values = [_unquote(v, fmt.quotechar) for v in values]
            chunks.append(pd.Series(values, dtype="str"))
            ctx.set_progress(fh.tell(), sniffed.size)
            ctx.check_cancelled()
    column = pd.concat(chunks, ignore_index=True) if chunks else pd.Series(dtype="str")
    return pd.DataFrame({sniffed.names[0]: column}), fmt, []


def _read_jsonl(path: Path, sniffed: _Sniffed, encoding: str, errors: str, ctx: JobContext):
    fmt = replace(sniffed.format, encoding=encoding)
    chunks, line_no = [], 0
    with _open_binary(path) as fh, io.TextIOWrapper(fh, encoding=encoding, errors=errors) as text:
        while lines := text.readlines(_CHUNK_BYTES):
            if line_no == 0 and lines[0].lstrip().startswith("["):  # a JSON array saved as .jsonl
                chunks.append(_json_array_frame(path, "".join(lines) + text.read()))
                break
            records = _json_lines(path, lines, line_no)
            line_no += len(lines)
            chunks.append(_as_text_frame(pd.DataFrame.from_records(records)))
            ctx.set_progress(fh.tell(), sniffed.size)
            ctx.check_cancelled()
    # Keys missing from some chunks come back as NaN after concat.
    frame = pd.concat(chunks, ignore_index=True).fillna("") if chunks else pd.DataFrame()
    return frame, fmt, []


def _json_lines(path: Path, lines: list[str], line_no: int) -> list[dict]:
    """Parse a chunk of JSON Lines. ``line_no`` lines came before it."""
    filled = [line for line in lines if line.strip()]
    # One json.loads call per chunk is ~3x faster than one per line; anything unusual
    # (a bad line, a bare string, two values on a line) takes the exact per-line path.
    with suppress(json.JSONDecodeError):
        records = json.loads("[" + ",".join(filled) + "]")
        if len(records) == len(filled) and all(isinstance(r, dict) for r in records):
            return records
    records = []
    for i, line in enumerate(lines, start=line_no + 1):
        if line.strip():
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFileError(f"Line {i:,} of {path.name} is not valid JSON ({exc.msg}).",
                                     hint=_JSONL_HINT) from exc
            records.append(_json_record(path, value, f"Line {i:,}"))
    return records


def _json_array_frame(path: Path, content: str) -> pd.DataFrame:
    try:
        values = json.loads(content)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path.name} is not valid JSON Lines ({exc.msg}, line {exc.lineno:,}).",
                             hint=_JSONL_HINT) from exc
    if not isinstance(values, list):
        raise InputFileError(f"{path.name} is not JSON Lines.", hint=_JSONL_HINT)
    records = [_json_record(path, v, f"Item {i:,}") for i, v in enumerate(values, start=1)]
    return _as_text_frame(pd.DataFrame.from_records(records))


_JSONL_HINT = 'Each line must hold one JSON object, such as {"question": "How do I …?"}.'


def _json_record(path: Path, value: Any, where: str) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):  # a bare string per line: a question
        return {"question": value}
    raise InputFileError(f"{where} of {path.name} holds a JSON {type(value).__name__}, not an object.",
                         hint=_JSONL_HINT)


def _read_parquet(path: Path, sniffed: _Sniffed, ctx: JobContext):
    import pyarrow as pa
    import pyarrow.parquet as pq

    chunks = []
    with _open_binary(path) as fh:
        try:
            parquet = pq.ParquetFile(fh)
            total, done, names = parquet.metadata.num_rows, 0, parquet.schema_arrow.names
            for batch in parquet.iter_batches(batch_size=_CHUNK_ROWS):
                chunks.append(_as_text_frame(batch.to_pandas()))
                done += batch.num_rows
                ctx.set_progress(done, total)
                ctx.check_cancelled()
        except (pa.ArrowException, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # a real I/O error (it has an errno); pyarrow reports corrupt data without one
            raise InputFileError(
                f"{path.name} looks like a Parquet file but cannot be read ({exc}).",
                hint="It may be damaged or incomplete; write it again from the program that made it.",
            ) from exc
    if not chunks:
        return pd.DataFrame({n: pd.Series(dtype="str") for n in _unique_names(names)}), sniffed.format, []
    return pd.concat(chunks, ignore_index=True), sniffed.format, []


def _read_xlsx(path: Path, sniffed: _Sniffed, ctx: JobContext):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    chunks, rows = [], []
    with _open_binary(path) as fh:
        try:
            workbook = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, InvalidFileException) as exc:
            raise InputFileError(
                f"{path.name} looks like an Excel workbook but cannot be opened ({exc}).",
                hint="Open it in Excel or LibreOffice and save it again as .xlsx, or export it as CSV.",
            ) from exc
        try:
            sheet = workbook.worksheets[0]
            total = sheet.max_row
            for i, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [_cell_text(v) for v in row]
                if any(c.strip() for c in cells):
                    rows.append(cells)
                if i % 10_000 == 0:  # openpyxl reads ~50k rows/s: report and check 5x a second
                    if rows:
                        chunks.append(_rows_frame(rows))
                        rows = []
                    ctx.set_progress(i, total)
                    ctx.check_cancelled()
        finally:
            workbook.close()
    if rows:
        chunks.append(_rows_frame(rows))
    if not chunks:
        raise InputFileError(f"The first sheet of {path.name} is empty.",
                             hint="quoradup reads the first sheet; move the questions there.")
    frame = pd.concat(chunks, ignore_index=True).fillna("")
    while frame.shape[1] > 1 and (frame.iloc[:, -1] == "").all():  # formatted but empty columns
        frame = frame.iloc[:, :-1]
    first = frame.iloc[0].tolist()
    has_header = _looks_like_header(first, frame.iloc[1:201].to_numpy().tolist())
    if has_header:
        frame, names = frame.iloc[1:].reset_index(drop=True), _unique_names(first)
    else:
        names = [f"column_{i}" for i in range(1, frame.shape[1] + 1)]
    return frame.set_axis(names, axis=1), replace(sniffed.format, has_header=has_header), []


def _rows_frame(rows: list[list[str]]) -> pd.DataFrame:
    width = max(map(len, rows))
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype="str")


def _cell_text(value: Any) -> str:
    """A cell or JSON value as text: "" for missing, 1.0 → "1", nested JSON as JSON."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _as_text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as ``str`` dtype with "" for missing values, under unique stripped names."""
    names = _unique_names(list(frame.columns))
    return pd.DataFrame({name: _as_text(frame.iloc[:, i]) for i, name in enumerate(names)}, index=frame.index)


def _as_text(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.StringDtype):
        return s.astype("str").fillna("")
    if pd.api.types.is_float_dtype(s):
        finite = s.dropna()
        if finite.empty or ((finite == finite.round()) & (finite.abs() < 2**53)).all():
            s = s.astype("Int64")  # integers that became floats because of a missing value
    if s.dtype != object:
        return s.astype("str").where(s.notna().to_numpy(), "")
    return pd.Series([_cell_text(v) for v in s.tolist()], index=s.index, dtype="str")


def _long_value_notes(frame: pd.DataFrame) -> list[str]:
    notes = []
    for column in frame.columns:
        lengths = frame[column].str.len()
        longest = int(lengths.max())
        if longest > _LONG_VALUE:
            n = int((lengths > _LONG_VALUE).sum())
            notes.append(
                f'{_plural(n, "value")} in column "{column}" {"is" if n == 1 else "are"} longer than '
                f"{_LONG_VALUE:,} characters (the longest, in row {int(lengths.to_numpy().argmax()) + 1:,}, "
                f"has {longest:,}); models read only the first few hundred words of a text."
            )
    return notes


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _has(n: int) -> str:
    return "has" if n == 1 else "have"


# ---------------------------------------------------------------------------------------------
# Roles, columns and labels


def detect_role(frame: pd.DataFrame) -> tuple[Role, str | None, PairColumns | None]:
    """PAIRS for the well-known pair/triplet layouts (by column name), else COLLECTION."""
    keys: dict[str, str] = {}
    for column in frame.columns:
        keys.setdefault(_name_key(column), column)

    def find(*names: str) -> str | None:
        return next((keys[n] for n in names if n in keys), None)

    question1, question2 = find("question1"), find("question2")
    if question1 and question2:
        label, qid1, qid2 = find("isduplicate", "duplicate", "label", "isdup"), find("qid1"), find("qid2")
        layout = "quora-kaggle" if qid1 and qid2 and label else "question-pair"
        return Role.PAIRS, None, PairColumns(question1, question2, label=label, qid1=qid1, qid2=qid2, layout=layout)
    sentence1, sentence2 = find("sentence1", "text1"), find("sentence2", "text2")
    if sentence1 and sentence2:
        label = find("label", "score", "similarity", "isduplicate")
        return Role.PAIRS, None, PairColumns(sentence1, sentence2, label=label, layout="sentence-pair")
    anchor, positive = find("anchor"), find("positive")
    if anchor and positive:
        negative = find("negative")
        layout = "triplet" if negative else "anchor-positive"
        return Role.PAIRS, None, PairColumns(anchor, positive, negative=negative, layout=layout)
    return Role.COLLECTION, guess_question_column(frame), None


_QUESTION_START = re.compile(
    r"\s*(what|how|why|when|where|which|who|whom|whose|is|are|was|were|am|can|could|do|does|did|"
    r"should|would|will|has|have|had|may|might|must|shall)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\s*[-+]?(\d[\d,. _]*|[.,]\d+)([eE][-+]?\d+)?\s*%?\s*")
_NOT_TEXT = {"true", "false", "nan", "none", "null", "na", "n/a", "yes", "no", "inf", "-inf"}
_HAS_LETTER = re.compile(r"[^\W\d_]")
_PREFERRED_NAMES = {
    "question", "questions", "questiontext", "text", "title", "query", "sentence", "body", "prompt", "content",
}


def guess_question_column(frame: pd.DataFrame) -> str:
    """The column whose values look most like questions; ColumnError if none holds text."""
    scores = {}
    for column in frame.columns:
        score = _text_score(frame[column])
        if score is not None:
            scores[column] = score + (0.05 if _name_key(column) in _PREFERRED_NAMES else 0.0)
    if not scores:
        raise ColumnError(
            "No column holds text: every column is empty or holds only numbers.",
            hint="quoradup needs a column with one question per row; check that you chose the right file.",
        )
    return max(scores, key=scores.get)  # the first (leftmost) column wins exact ties


def _text_score(series: pd.Series, sample_size: int = 5_000) -> float | None:
    """How much a column looks like questions (higher is more), or None if it holds no text.

    Scored on an evenly spaced sample: share of values with letters (numbers, booleans and
    blanks do not count), mean length near 15-300 characters, distinct values, and — the
    strongest signal — the share of values ending in "?" or starting with a question word.
    """
    n = len(series)
    sample = series if n <= sample_size else series.iloc[np.linspace(0, n - 1, sample_size).astype(int)]
    values = [v.strip() for v in sample.tolist() if isinstance(v, str) and v.strip()]
    if not values:
        return None
    texty = [v for v in values if _HAS_LETTER.search(v) and not _NUMBER.fullmatch(v) and v.casefold() not in _NOT_TEXT]
    share_text = len(texty) / len(values)
    if share_text < 0.5:
        return None
    mean_length = sum(map(len, values)) / len(values)
    length_score = 1.0 if 15 <= mean_length <= 300 else mean_length / 15 if mean_length < 15 else 300 / mean_length
    questions = sum(1 for v in values if v.endswith("?") or _QUESTION_START.match(v)) / len(values)
    distinct = len(set(values)) / len(values)
    filled = len(values) / len(sample)
    return share_text * length_score * (0.4 + 0.6 * distinct) * (0.5 + 0.5 * filled) + questions


_POSITIVE = {"1", "yes", "y", "true", "t", "duplicate", "dup", "is duplicate"}
_NEGATIVE = {
    "0", "no", "n", "false", "f", "not duplicate", "non duplicate", "not a duplicate", "not dup", "no duplicate",
}
_BLANK = {"", "nan", "none", "null", "na", "n/a", "<na>"}


def _label_key(value: object) -> str:
    key = re.sub(r"[\s_\-]+", " ", str(value).strip().casefold())
    with suppress(ValueError):
        number = float(key)  # "1.0", "0.00" from float columns
        if number in (0.0, 1.0):
            return str(int(number))
    return key


def parse_labels(series: pd.Series) -> pd.Series:
    """Duplicate labels as Int8 (1, 0, or NA for blank); ColumnError naming unknown values."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    lookup = np.full(len(uniques) + 1, np.nan)  # the last slot serves code -1 (missing)
    unknown = []
    for i, value in enumerate(uniques):
        key = _label_key(value)
        if key in _POSITIVE:
            lookup[i] = 1
        elif key in _NEGATIVE:
            lookup[i] = 0
        elif key not in _BLANK:
            unknown.append(i)
    if unknown:
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        unknown.sort(key=lambda i: -counts[i])
        listed = ", ".join(f'"{uniques[i]}" ({_plural(int(counts[i]), "row")})' for i in unknown[:5])
        more = f" and {len(unknown) - 5:,} other values" if len(unknown) > 5 else ""
        raise ColumnError(
            f'Column "{series.name}" has values that are not duplicate labels: {listed}{more}.',
            hint="Use 1/0, yes/no, true/false or duplicate/not duplicate; leave a cell blank when unknown.",
        )
    return pd.Series(lookup[codes], index=series.index, name=series.name).astype("Int8")


def _parse_label_or_score(series: pd.Series) -> pd.Series:
    """parse_labels, or Float64 scores for a numeric column such as sentence-pair "score"."""
    try:
        return parse_labels(series)
    except ColumnError:
        text = series.astype("str").str.strip()
        blank = (text.fillna("") == "").to_numpy()
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
        if numbers.isna().to_numpy()[~blank].any():
            raise
        return numbers.astype("Float64")


# ---------------------------------------------------------------------------------------------
# Atomic writes


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    with atomic_writer(path, "w", encoding=encoding) as fh:
        fh.write(text)


@contextmanager
def atomic_writer(path: str | Path, mode: str = "w", **open_kwargs: Any) -> Iterator[IO]:
    """Yield a file that replaces ``path`` only when the block ends without an exception.

    Writes to a hidden temp file in the same folder (so os.replace is atomic), fsyncs it,
    then renames; on an exception the target is untouched and the temp file removed.
    """
    if mode not in ("w", "wt", "wb"):
        raise ValueError(f"atomic_writer writes whole files; mode must be 'w', 'wt' or 'wb', not {mode!r}")
    target = Path(path)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # Keep an existing file's permissions; a new one gets the usual 0o666 minus umask.
    permissions = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), permissions)
    try:
        fh = os.fdopen(fd, mode, **open_kwargs)
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        with suppress(OSError):
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
