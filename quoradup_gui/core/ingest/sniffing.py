"""Sniff a question file before reading it: kind, encoding, delimiter, header and column names.

Only the first 256 KB are looked at. The kind comes from magic bytes (xlsx, parquet; other
binaries are refused with a message naming what they are), then the extension; the encoding
from a BOM, BOM-less UTF-16, strict UTF-8 or a legacy code page; the delimiter from how
regularly each candidate splits the sample; the header from whether the first row looks like
column names. ``open_binary`` is the one place input files are opened (read-only); core.io's
readers open files through it too, so tests replace it here to inject I/O errors.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from ..errors import InputFileError

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".xlsx", ".xlsm", ".parquet", ".jsonl", ".ndjson")
_SUPPORTED = "quoradup reads CSV, TSV, TXT, XLSX, Parquet and JSONL files."
_SAMPLE_BYTES = 256 << 10  # what sniffing looks at
_SAMPLE_RECORDS = 500
_DELIMITERS = (",", "\t", ";", "|")

# The csv module sniffs (and counts short rows); a 10 MB field must not trip its 128 KB limit.
csv.field_size_limit(2**31 - 1)


_KIND_NAMES = {
    "csv": "CSV", "tsv": "TSV", "txt": "Text", "xlsx": "Excel workbook", "parquet": "Parquet", "jsonl": "JSON Lines",
}
ENCODING_NAMES = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16", "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE", "utf-32": "UTF-32", "cp1252": "Windows-1252",
}
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


FileKind = Literal["csv", "tsv", "txt", "xlsx", "parquet", "jsonl"]


@dataclass(frozen=True)
class FileFormat:
    kind: FileKind
    encoding: str | None  # None for binary formats
    delimiter: str | None  # None: one value per line (txt, single-column csv) or binary
    has_header: bool
    quotechar: str | None = '"'
    sheet: str | None = None  # xlsx: the sheet that was read
    sheets: tuple[str, ...] = ()  # xlsx: every sheet of the workbook
    lines_fallback: bool = False  # a one-column file that is not valid CSV, read one question per line

    def describe(self) -> str:
        parts = [_KIND_NAMES.get(self.kind, self.kind.upper())]
        if self.kind == "xlsx":
            parts.append(f'sheet "{self.sheet}"' if self.sheet else "first sheet")
        if self.encoding:
            parts.append(ENCODING_NAMES.get(self.encoding, self.encoding.upper()))
        if self.kind == "txt":
            parts.append("one question per line")
        elif self.delimiter:
            parts.append(f"{_DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-delimited")
        elif self.kind in ("csv", "tsv"):
            parts.append("single column, one question per line (not valid CSV)" if self.lines_fallback
                         else "single column")
        if self.kind in ("csv", "tsv", "txt", "xlsx"):
            parts.append("with header" if self.has_header else "no header row")
        return ", ".join(parts)


@dataclass(frozen=True)
class Sniffed:
    format: FileFormat
    size: int
    names: tuple[str, ...] = ()  # column names to use for text files
    head_is_ascii: bool = True
    header: bool | None = None  # the user's answer to "is the first row a header?" (None: detect)


def sniff_format(path: Path) -> FileFormat:
    """Detect kind, encoding, delimiter and header from the file's first 256 KB.

    For xlsx the header is decided while reading (the sheet is not opened here), so
    ``read_table(...).format`` is the authoritative description.
    """
    return sniff(Path(path)).format


def open_binary(path: Path) -> IO[bytes]:
    """The one place input files are opened (read-only); tests replace it to inject I/O errors."""
    return open(path, "rb")


def sniff(path: Path, header: bool | None = None) -> Sniffed:
    """``header``: True/False when the user said whether the first row is a header; None detects it."""
    try:
        size = _check_path(path)
        with open_binary(path) as fh:
            head = fh.read(_SAMPLE_BYTES)
    except PermissionError as exc:
        raise _permission_error(path) from exc
    except OSError as exc:
        raise InputFileError(f"{path.name} could not be read ({exc.strerror or exc}).",
                             hint="Check that the file is not on a disconnected drive, then try again.") from exc
    suffix = path.suffix.lower()
    binary = _binary_kind(path, head, suffix)
    if binary:
        return Sniffed(FileFormat(binary, None, None, True, None), size, header=header)
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
        return Sniffed(FileFormat("jsonl", encoding, None, True, None), size, head_is_ascii=head.isascii())
    fmt, names = _sniff_text(text, suffix, encoding, at_eof, header)
    return Sniffed(fmt, size, names, head.isascii(), header)


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
            with open_binary(path) as fh, zipfile.ZipFile(fh) as archive:
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
    utf16 = _bomless_utf16(head)
    if utf16:
        return utf16
    n_control = len(head) - len(head.translate(None, _CONTROL_BYTES))  # NUL included
    if n_control > len(head) / 100 and not (n_control < len(head) / 10 and _decodes_utf8(head, at_eof)):
        raise InputFileError(f"{path.name} is not a text file (it holds binary data).",
                             hint=f"{_SUPPORTED} Check that you chose the right file.")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=at_eof)
        return "utf-8"
    except UnicodeDecodeError:
        return _guess_legacy_encoding(head)


def _bomless_utf16(head: bytes) -> str | None:
    """UTF-16 without a BOM, told by its NUL pattern: spaces, digits and line ends put a NUL in
    every other byte, all on one side (the high byte), whatever the script of the letters;
    binary data has NULs on both sides. Then the text must decode and read as text."""
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if even + odd < 2:
        return None
    for encoding, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if other <= zeros / 50:
            data = head[: len(head) // 2 * 2]
            try:
                text = codecs.getincrementaldecoder(encoding)().decode(data, final=False)
            except UnicodeDecodeError:
                continue
            if text and (text.count("\n") or len(text) < 200) and _reads_as_text(text):
                return encoding
    return None


def _reads_as_text(text: str) -> bool:
    """Letters, digits, punctuation and spaces, with at most 1% control or unassigned characters."""
    odd = sum(1 for ch in text if (not ch.isprintable() and ch not in "\t\n\r") or unicodedata.category(ch) in ("Cn", "Co", "Cs"))
    return odd <= len(text) / 100


def _decodes_utf8(head: bytes, at_eof: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=at_eof)
        return True
    except UnicodeDecodeError:
        return False


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


def name_key(name: object) -> str:
    """Column-name key that ignores case, spaces, underscores and hyphens."""
    return re.sub(r"[\s_\-]+", "", str(name).casefold())


def _is_label_like(cell: str) -> bool:
    """A short identifier-ish name such as "question", "is_duplicate", "Question Text" or "same?"
    (a question mark only on a name of one or two words: "What is X?" is data)."""
    cell = cell.strip()
    if cell.endswith("?"):
        cell = cell[:-1]
        if len(cell.split()) > 2:
            return False
    return 0 < len(cell) <= 40 and len(cell.split()) <= 4 and _LABEL_LIKE.fullmatch(cell) is not None


def looks_like_header(first: list[str], rest: list[list[str]]) -> bool:
    """Is the first row a header? (csv.Sniffer.has_header guesses badly for all-text columns.)

    Yes if every named cell is a short label and either one is a well-known column name, or
    some column's values below are unlike labels (numbers, sentences, questions).
    """
    cells = [c.strip() for c in first]
    named = [c for c in cells if c]
    if not named or len(named) < len(cells) / 2 or not all(_is_label_like(c) for c in named):
        return False
    if any(name_key(c) in _KNOWN_NAMES for c in named):
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


def _sniff_text(text: str, suffix: str, encoding: str, at_eof: bool,
                header: bool | None = None) -> tuple[FileFormat, tuple[str, ...]]:
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
        has_header = looks_like_header(records[0], records[1:]) if header is None else header
        if suffix != ".txt" or has_header:
            data = records[1:] if has_header else records
            width = Counter(map(len, data)).most_common(1)[0][0] if data else len(records[0])
            raw = records[0] if has_header else []
            names = unique_names(raw + [""] * (width - len(raw)))
            kind = "tsv" if delimiter == "\t" else "csv"
            return FileFormat(kind, encoding, delimiter, has_header), tuple(names)
    # One value per line. A .txt has a header only if it is a well-known name like "question".
    first = lines[0].strip()
    if suffix == ".txt":
        has_header = name_key(first) in _KNOWN_NAMES if header is None else header
        return FileFormat("txt", encoding, None, has_header, None), (first if has_header else "question",)
    unquoted = [unquote(line, '"') for line in lines]
    has_header = looks_like_header(unquoted[:1], [[v] for v in unquoted[1:]]) if header is None else header
    kind = "tsv" if suffix in (".tsv", ".tab") else "csv"
    return FileFormat(kind, encoding, None, has_header), (unquoted[0].strip() if has_header else "question",)


def unquote(value: str, quotechar: str) -> str:
    if len(value) >= 2 and value[0] == quotechar and value[-1] == quotechar:
        return value[1:-1].replace(quotechar * 2, quotechar)
    return value


def unique_names(raw: list[Any]) -> list[str]:
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
