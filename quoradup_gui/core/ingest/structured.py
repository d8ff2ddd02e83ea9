"""Readers for files of records rather than lines: JSON Lines (or a JSON array) and Parquet, and
the one conversion of any cell value to text that every reader shares (cell_text)."""

from __future__ import annotations

import io
import json
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputFileError
from ..jobs import JobContext
from . import sniffing
from .sniffing import Sniffed, unique_names

CHUNK_ROWS = 25_000  # ~0.05 s of parsing per chunk: the cancel/progress granularity, and how long
# pandas holds the GIL converting one column of a chunk (50,000 rows held it 40-55 ms on 2 busy cores)
CHUNK_BYTES = 4 << 20  # the same for line-based readers


def read_jsonl(path: Path, sniffed: Sniffed, encoding: str, errors: str, ctx: JobContext):
    fmt = replace(sniffed.format, encoding=encoding)
    chunks, line_no = [], 0
    with sniffing.open_binary(path) as fh, io.TextIOWrapper(fh, encoding=encoding, errors=errors) as text:
        while lines := text.readlines(CHUNK_BYTES):
            if line_no == 0 and lines[0].lstrip().startswith("["):  # a JSON array saved as .jsonl
                chunks.append(_json_array_frame(path, "".join(lines) + text.read()))
                break
            records = _json_lines(path, lines, line_no)
            line_no += len(lines)
            chunks.append(as_text_frame(pd.DataFrame.from_records(records)))
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
    return as_text_frame(pd.DataFrame.from_records(records))


_JSONL_HINT = 'Each line must hold one JSON object, such as {"question": "How do I …?"}.'


def _json_record(path: Path, value: Any, where: str) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):  # a bare string per line: a question
        return {"question": value}
    raise InputFileError(f"{where} of {path.name} holds a JSON {type(value).__name__}, not an object.",
                         hint=_JSONL_HINT)


def read_parquet(path: Path, sniffed: Sniffed, ctx: JobContext):
    import pyarrow as pa
    import pyarrow.parquet as pq

    chunks = []
    with sniffing.open_binary(path) as fh:
        try:
            parquet = pq.ParquetFile(fh)
            total, done, names = parquet.metadata.num_rows, 0, parquet.schema_arrow.names
            for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
                chunks.append(as_text_frame(batch.to_pandas()))
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
        return pd.DataFrame({n: pd.Series(dtype="str") for n in unique_names(names)}), sniffed.format, []
    return pd.concat(chunks, ignore_index=True), sniffed.format, []


def cell_text(value: Any) -> str:
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


def as_text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as ``str`` dtype with "" for missing values, under unique stripped names."""
    names = unique_names(list(frame.columns))
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
    return pd.Series([cell_text(v) for v in s.tolist()], index=s.index, dtype="str")
