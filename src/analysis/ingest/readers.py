"""Read one source table into a frame of raw cells, detecting how the file is written.

CSV (plain or gzip'd): encoding (BOM, UTF-8, else charset-normalizer among the usual Cyrillic and
Western code pages), delimiter (``,`` ``;`` tab ``|``, or — for ``.txt``/``.dat`` logs — runs of
spaces, or columns aligned at fixed positions), the header line (title lines above it are
skipped) and total rows («Итого», «Всего», "Total") below or between the data. Excel ``.xlsx``
(a named or the first sheet, same header and total detection), Parquet, and any SQL source Ibis
opens. Every detected setting can be fixed in the data config (:class:`TableSpec`).

The frame's index holds the source line (CSV) or sheet row (Excel) of each record, so every error
can name it; Parquet and SQL sources are numbered by record from 1.
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import SupportsInt

import pandas as pd
import yaml

from analysis.errors import InputError
from analysis.ingest.dataconfig import Source, TableSpec

SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt", ".dat", ".xlsx", ".parquet")
DELIMITERS = (";", ",", "\t", "|")
_SAMPLE_BYTES = 256 * 1024
_SAMPLE_LINES = 200
#: Code pages tried when a file is not UTF-8: a Russian 1C export is cp1251 almost always.
_CODEPAGES = ["cp1251", "cp1252", "koi8_r", "cp866", "mac_cyrillic", "latin_1"]


@lru_cache(maxsize=1)
def synonyms() -> dict:
    """The built-in synonym lists (``resources/synonyms.yaml``)."""
    path = Path(__file__).resolve().parent.parent / "resources" / "synonyms.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _total_re() -> str:
    """Total-row marker as a plain pattern string (runs in pyarrow's RE2, case-insensitive)."""
    words = sorted(synonyms()["totals"], key=len, reverse=True)
    return r"(?i)^[ \t]*(?:" + "|".join(re.escape(w) for w in words) + r")(?:$|[ \t:.;,])"


@dataclass
class RawTable:
    """Cells of one source table as read, before mapping and typing."""

    frame: pd.DataFrame
    path: Path
    line_word: str = "line"
    detected: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: a table joined from several files: its name in messages (``a.csv + b.csv``) and each row's
    #: source ``file`` and ``line`` (by position; the frame's index is then 0..n-1)
    name: str | None = None
    origin: pd.DataFrame | None = None

    @property
    def label(self) -> str:
        return self.name or self.path.name

    def where(self, index: SupportsInt) -> str:
        """Row ``index`` as ``line N``, or ``file line N`` in a table joined from several files."""
        if self.origin is None:
            return f"{self.line_word} {index}"
        i = int(index)
        return f"{self.origin['file'].iat[i]} {self.line_word} {int(self.origin['line'].iat[i])}"


def read_many(paths: list[Path], spec: TableSpec) -> RawTable:
    """Several files of one table (an export split by period), each read with ``spec``, joined in
    order.

    Every file must have the same columns (in any order); each row remembers its file and line
    (``RawTable.origin``). What was detected is the first file's; notes are kept per file.
    """
    if len(paths) == 1:
        return read_table(paths[0], spec)
    parts = [read_table(p, spec) for p in paths]
    first = parts[0]
    cols = list(first.frame.columns)
    for part in parts[1:]:
        if set(part.frame.columns) != set(cols):
            extra = [c for c in part.frame.columns if c not in cols]
            missing = [c for c in cols if c not in part.frame.columns]
            raise InputError(f"{part.path}: the files of one table must have the same columns; "
                             f"unlike {first.path.name}, it " + "; ".join(
                                 ([f"has {', '.join(map(repr, extra[:6]))}"] if extra else [])
                                 + ([f"lacks {', '.join(map(repr, missing[:6]))}"] if missing
                                    else []))
                             + "; export them alike, or name them as separate tables")
    origin = pd.DataFrame({"file": pd.Series([p.path.name for p in parts
                                              for _ in range(len(p.frame))], dtype="str"),
                           "line": [int(i) for p in parts for i in p.frame.index]})
    frame = pd.concat([p.frame.loc[:, cols] for p in parts], ignore_index=True)
    names = [p.path.name for p in parts]
    name = " + ".join(names) if len(names) <= 3 else f"{names[0]} + {len(names) - 1} more files"
    notes = [n for p in parts for n in p.notes]
    detected = dict(first.detected)
    detected["files"] = {p.path.name: len(p.frame) for p in parts}
    return RawTable(frame, first.path, first.line_word, detected, notes, name=name, origin=origin)


def find_file(folder: Path, table: str) -> Path | None:
    """The first of ``<table>.csv``, ``.csv.gz``, ``.tsv``, ``.txt``, ``.xlsx``, ``.parquet`` in
    ``folder``."""
    for suffix in SUFFIXES:
        path = folder / f"{table}{suffix}"
        if path.is_file():
            return path
    return None


def file_format(path: Path, spec: TableSpec) -> str:
    if spec.format:
        return spec.format
    name = path.name.lower()
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".xls"):
        raise InputError(f"{path}: old Excel .xls files are not read; save the sheet as .xlsx or "
                         "CSV")
    return "csv"


def read_table(path: Path, spec: TableSpec) -> RawTable:
    """Read ``path`` as ``spec`` says, detecting whatever it leaves out."""
    if not path.is_file():
        raise InputError(f"{path}: file not found; check the path in the config or the --data "
                         "folder")
    fmt = file_format(path, spec)
    if fmt == "xlsx":
        return _read_xlsx(path, spec)
    if fmt == "parquet":
        return _read_parquet(path)
    return _read_csv(path, spec)


# --- CSV
# -------------------------------------------------------------------------------------------

def _open_binary(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def detect_encoding(sample: bytes, path: Path) -> str:
    """``utf-8-sig``/``utf-16`` by BOM, ``utf-8`` when it decodes, else the best code page."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in sample:
        raise InputError(f"{path}: binary data, not a text CSV (NUL bytes in the first "
                         f"{len(sample):,} bytes); export the table as CSV or .xlsx")
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a character cut at the sample's end
        if exc.start >= len(sample) - 3 and len(sample) >= _SAMPLE_BYTES:
            return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=_CODEPAGES).best()
    if best is None:
        raise InputError(f"{path}: cannot tell the text encoding; save it as UTF-8 CSV or set "
                         "`encoding:` in the config")
    enc = best.encoding
    # charset-normalizer mixes up the Cyrillic pages on short samples; prefer 1C's own
    if enc != "cp1251":
        text = sample.decode("cp1251", errors="replace")
        letters = [ch for ch in text if ch.isalpha()]
        cyr = sum("\u0400" <= ch <= "\u04ff" for ch in letters)
        if (letters and cyr / len(letters) > 0.3 and "\ufffd" not in text
                and enc in ("mac_cyrillic", "koi8_r", "cp866")):
            lower = sum("а" <= ch <= "я" for ch in text)
            upper = sum("А" <= ch <= "Я" for ch in text)
            if lower >= upper:
                enc = "cp1251"
    return enc


#: Delimiter names for text whose columns are separated by runs of spaces, or aligned at fixed
#: positions.
WHITESPACE, FIXED = "whitespace", "fixed"


def _split(line: str, delimiter: str, spans: list[tuple[int, int]] | None = None) -> list[str]:
    if delimiter == WHITESPACE:
        return line.split() or [""]
    if delimiter == FIXED:
        return [line[a:b].strip() for a, b in spans or [(0, len(line))]]
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (StopIteration, csv.Error):
        return [line]


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter giving the most fields on the most lines (a title line above does not matter).

    Runs of spaces (``"whitespace"``) win only when they split nine lines in ten into the same
    number of fields, more than any delimiter character does; columns aligned at fixed positions
    (``"fixed"``, a report saved as text) are tried when neither works.
    """
    best, best_score = ",", 0.0
    rows = [ln for ln in lines if ln.strip()]
    if not rows:
        return ","
    clean = False  # a delimiter character splits nine lines in ten alike, under a header of text
    for d in (*DELIMITERS, WHITESPACE):
        split = [_split(ln, d) for ln in rows]
        counts = pd.Series([len(x) for x in split])
        mode = int(counts.mode().max())
        share = float((counts == mode).mean())
        if mode < 2 or (d == WHITESPACE and (share < 0.9 or clean)):
            continue
        score = mode * share
        header = next(x for x in split if len(x) == mode)
        data_first = any(_looks_like_value(c) for c in header if c.strip())
        if d == WHITESPACE:
            # a header of text words must split into as many fields as the data (a title line above
            # may not); else the values have spaces inside and are not separated by runs of spaces
            if not any(len(x) == mode and not any(_looks_like_value(c) for c in x)
                       for x in split[:10]):
                continue
        elif data_first:
            score *= 0.5  # the first line of that many fields is data: no header splits that way
        if share >= 0.9 and d != WHITESPACE and not data_first:
            clean = True
        if score > best_score:
            best, best_score = d, score
    if best_score < 1.2 or (best_score < 2 and "\t" not in "".join(rows)):
        spans = fixed_spans(rows)
        if len(spans) >= 2 and len(spans) > best_score:
            return FIXED
    return best


def fixed_spans(lines: list[str]) -> list[tuple[int, int]]:
    """Column spans of text aligned at fixed positions: the stretches between positions that are
    blank on every line (title lines above the header and total rows below are left out)."""
    rows = [ln.rstrip() for ln in lines if ln.strip() and not re.match(_total_re(), ln)]
    if len(rows) < 2:
        return []
    width = max(len(r) for r in rows)
    # a title line is much shorter or longer than the data: look at lines of the usual length
    lens = pd.Series([len(r) for r in rows])
    body = [r for r in rows if len(r) >= 0.6 * lens.median()] or rows
    blank = [all(i >= len(r) or r[i] == " " for r in body) for i in range(width)]
    spans, start = [], None
    for i, b in enumerate(blank + [True]):
        if not b and start is None:
            start = i
        elif b and start is not None:
            spans.append((start, i))
            start = None
    if not spans:
        return []
    # each column runs up to the next one's start, so a wider cell lower down is not cut
    return [(a, spans[k + 1][0] if k + 1 < len(spans) else 10_000) for k,
            (a, _) in enumerate(spans)]


def _looks_like_value(cell: str) -> bool:
    cell = cell.strip()
    return bool(re.fullmatch(r"[-+]?[\d\s\u00a0.,/:]+", cell))


def detect_header(rows: list[list[str]]) -> int:
    """0-based index of the header among ``rows``: the first that is mostly filled and all text.

    "Mostly filled" is at least 60 % of the fullest row's cells, so a title line (one cell) or a
    blank separator line above the header is skipped.
    """
    filled = [sum(1 for c in r if c.strip()) for r in rows]
    if not filled or max(filled) == 0:
        return 0
    needed = max(1, -(-6 * max(filled) // 10))
    for i, row in enumerate(rows):
        cells = [c for c in row if c.strip()]
        if len(cells) >= needed and not any(_looks_like_value(c) for c in cells):
            return i
    for i, n in enumerate(filled):
        if n >= needed:
            return i
    return 0


def _read_csv(path: Path, spec: TableSpec) -> RawTable:
    try:
        return _read_csv_unguarded(path, spec)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read the file ({exc.__class__.__name__}: {exc}); "
                         "a .gz file may be cut short: export it again") from None


def _read_csv_unguarded(path: Path, spec: TableSpec) -> RawTable:
    with _open_binary(path) as fh:
        sample = fh.read(_SAMPLE_BYTES)
    if not sample.strip():
        raise InputError(f"{path}: the file is empty; export the table with a header row and data")
    detected: dict[str, object] = {}
    enc = spec.encoding or detect_encoding(sample, path)
    detected["encoding"] = enc
    try:
        cut = 3 if len(sample) >= _SAMPLE_BYTES else 0
        text = sample[:len(sample) - cut].decode(enc, errors="strict" if spec.encoding
                                                 else "replace")
    except LookupError:
        raise InputError(f"{path}: unknown encoding {enc!r}; fix `encoding:` in the config (utf-8, "
                         "cp1251, ...)") from None
    except UnicodeDecodeError as exc:
        guess = detect_encoding(sample, path)
        raise InputError(f"{path}: byte {exc.start:,} is not {enc} text (the file looks like "
                         f"{guess}); fix `encoding:` in the config or remove it to "
                         "detect") from None
    if "\ufffd" in text[:-2] and enc.startswith("utf"):
        raise InputError(f"{path}: not valid {enc} text; set `encoding:` (e.g. cp1251) in the "
                         "config")
    lines = text.splitlines()[:_SAMPLE_LINES]
    if len(sample) >= _SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # possibly cut
    delimiter = spec.delimiter or detect_delimiter(lines)
    detected["delimiter"] = delimiter
    spans = fixed_spans(lines) if delimiter == FIXED else None
    if spans is not None and len(spans) < 2:
        raise InputError(f"{path}: no columns aligned at fixed positions found; set `delimiter:` "
                         "in the config")
    rows = [_split(ln, delimiter, spans) for ln in lines]
    header_idx = spec.header_row - 1 if spec.header_row else detect_header(rows)
    detected["header_row"] = header_idx + 1
    notes = []
    titles = [ln.strip().strip(delimiter).strip() for ln in lines[:header_idx]
              if ln.strip().strip(delimiter).strip()]
    if titles:
        notes.append(f"{path.name}: skipped {header_idx} line(s) above the header: "
                     f"{titles[0][:60]!r}")
    header = [h.strip() or f"Unnamed: {i}" for i,
              h in enumerate(rows[header_idx])] if header_idx < len(rows) else []
    if delimiter in (WHITESPACE, FIXED):
        frame = _read_spaced(path, enc, delimiter, header_idx, header, spans)
        frame.index = pd.RangeIndex(header_idx + 2, header_idx + 2 + len(frame))
        return _clean(RawTable(frame, path, "line", detected, notes), spec)
    frame = _read_csv_arrow(path, enc, delimiter, header_idx, header) if header else None
    if frame is not None:
        frame.index = pd.RangeIndex(header_idx + 2, header_idx + 2 + len(frame))
        return _clean(RawTable(frame, path, "line", detected, notes), spec)
    try:
        frame = pd.read_csv(path, sep=delimiter, encoding=enc, encoding_errors="strict",
                            skiprows=header_idx,
                            header=0, dtype=str, keep_default_na=False, na_filter=False,
                            skip_blank_lines=False,
                            compression="infer", quotechar='"', engine="c", low_memory=False)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: bytes at offset {exc.start:,} are not {enc}; set `encoding:` in "
                         "the config "
                         "or re-export the file in one encoding") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: no header row found; export the table with a header "
                         "row") from None
    except pd.errors.ParserError as exc:
        msg = str(exc).strip().splitlines()[-1]
        m = re.search(r"line (\d+), saw (\d+)", msg)
        if m:
            line = int(m.group(1)) + header_idx
            raise InputError(f"{path}: line {line} has {m.group(2)} fields but the header has "
                             f"fewer; quote values that contain the delimiter {delimiter!r} or fix "
                             "`delimiter:` in the config") from None
        raise InputError(f"{path}: not a readable CSV ({msg}); check `delimiter:` and "
                         "quoting") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(header_idx + 2, header_idx + 2 + len(frame))
    return _clean(RawTable(frame, path, "line", detected, notes), spec)


def _read_spaced(path: Path, enc: str, delimiter: str, header_idx: int, header: list[str],
                 spans: list[tuple[int, int]] | None) -> pd.DataFrame:
    """Text whose fields are separated by runs of spaces or sit at fixed positions, every cell as
    text.

    Read line by line (such logs are rarely large); a line with more fields than the header is an
    error naming it, one with fewer leaves the last cells empty.
    """
    if len(set(header)) != len(header):
        raise InputError(f"{path}: the header repeats a column name ({', '.join(header[:8])}); "
                         "rename the columns or set `delimiter:` in the config")
    with _open_binary(path) as fh:
        text = fh.read().decode(enc, errors="strict")
    lines = text.splitlines()[header_idx + 1:]
    n = len(header)
    cells = []
    for k, ln in enumerate(lines):
        parts = _split(ln, delimiter, spans) if ln.strip() else []
        if delimiter == WHITESPACE and len(parts) > n:
            raise InputError(f"{path}: line {header_idx + 2 + k} has {len(parts)} fields separated "
                             f"by spaces but the header has {n}; a value with a space inside needs "
                             "aligned columns or another "
                             "delimiter (set `delimiter:` in the config)")
        cells.append((parts + [""] * n)[:n])
    return pd.DataFrame(cells, columns=header,
                        dtype="str") if cells else pd.DataFrame(columns=header, dtype="str")


def _read_csv_arrow(path: Path, enc: str, delimiter: str, header_idx: int,
                    header: list[str]) -> pd.DataFrame | None:
    """Every cell as text through pyarrow's multi-threaded reader (transcoding as it streams).

    ``None`` when pyarrow cannot read it the simple way (ragged or blank lines, line breaks inside
    values, repeated headers): the pandas reader then reads it and names the offending line.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if len(set(header)) != len(header):
        return None
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    try:
        with pa.input_stream(str(path), compression="gzip" if gz else None) as stream:
            table = pacsv.read_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=header, skip_rows=header_idx + 1,
                                               encoding=enc,
                                               block_size=8 << 20),
                parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"',
                                                 double_quote=True,
                                                 ignore_empty_lines=False,
                                                 newlines_in_values=False),
                convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                     strings_can_be_null=False,
                                                     quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, LookupError):
        return None
    frame = table.to_pandas()
    for c in frame.columns:
        if frame[c].dtype != "str":
            frame[c] = frame[c].astype("str")
    return frame


def _clean(raw: RawTable, spec: TableSpec) -> RawTable:
    """Drop blank records, unnamed empty columns and total rows (saying so)."""
    frame = raw.frame
    unnamed = [c for c in frame.columns if (not c or c.startswith("Unnamed:"))]
    drop_cols = [c for c in unnamed
                 if (frame[c].astype("str").str.strip().isin(["", "nan", "None"])).all()]
    if drop_cols:
        frame = frame.drop(columns=drop_cols)
    if frame.shape[1] == 0:
        raise InputError(f"{raw.path}: no named columns; export the table with a header row")
    empty = _blank(frame)
    if empty.any():
        frame = frame[~empty]
    if spec.skip_totals and len(frame):
        totals = _total_rows(frame)
        if totals.any():
            lines = frame.index[totals].tolist()
            raw.notes.append(f"{raw.path.name}: skipped {len(lines)} total row(s) ({raw.line_word} "
                             f"{', '.join(map(str, lines[:5]))})")
            raw.detected["total_rows"] = lines
            frame = frame[~totals]
    raw.frame = frame
    return raw


def _as_text(col: pd.Series) -> pd.Series:
    if col.dtype == "str":
        return col.fillna("") if col.hasnans else col
    if col.dtype == object:
        return col.map(lambda v: "" if v is None or (isinstance(v, float) and v != v)
                       else str(v)).astype("str")
    return col.astype("str").fillna("")


def _blank(frame: pd.DataFrame) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for c in frame.columns:
        mask &= _as_text(frame[c]).str.strip() == ""
        if not mask.any():
            break
    return mask


def _total_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows whose first filled cell starts with a total marker and that leave some cell empty."""
    pattern = _total_re()
    first = list(frame.columns[:6])
    # a marker sits in the row's first filled cell: either the first column matches or it is empty
    # (one RE2 pass over one column finds the few rows worth a closer look)
    c0 = _as_text(frame[first[0]])
    candidate = (c0.str.match(pattern).fillna(False).astype(bool)) | (c0.str.strip() == "")
    if not candidate.any():
        return candidate
    sub = frame.loc[candidate]
    hit = pd.Series(False, index=sub.index)
    seen_filled = pd.Series(False, index=sub.index)
    any_empty = pd.Series(False, index=sub.index)
    for c in sub.columns:
        t = _as_text(sub[c]).str.strip()
        filled = t != ""
        if c in first:
            hit |= ~seen_filled & filled & t.str.match(pattern).fillna(False).astype(bool)
            seen_filled |= filled
        any_empty |= ~filled
    return (hit & any_empty).reindex(frame.index, fill_value=False)


# --- Excel, Parquet, SQL
# -----------------------------------------------------------------------------

def _read_xlsx(path: Path, spec: TableSpec) -> RawTable:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise InputError(f"{path}: not a readable .xlsx workbook ({exc.__class__.__name__}); "
                         "open and save it again in Excel, or export CSV") from None
    try:
        names = book.sheetnames
        if spec.sheet is None:
            sheet = names[0]
        elif isinstance(spec.sheet, int):
            if not 0 <= spec.sheet < len(names):
                raise InputError(f"{path}: no sheet number {spec.sheet} (it has {len(names)}: "
                                 f"{', '.join(map(repr, names))}); fix `sheet:` in the config")
            sheet = names[spec.sheet]
        elif spec.sheet in names:
            sheet = spec.sheet
        else:
            raise InputError(f"{path}: no sheet named {spec.sheet!r}; it has "
                             f"{', '.join(map(repr, names))}; "
                             "fix `sheet:` in the config")
        rows = [list(r) for r in book[sheet].iter_rows(values_only=True)]
    finally:
        book.close()
    if not any(any(v is not None and str(v).strip() for v in r) for r in rows):
        raise InputError(f"{path}: sheet {sheet!r} is empty; put the table with a header row on it")
    texts = [["" if v is None else str(v) for v in r] for r in rows[:_SAMPLE_LINES]]
    header_idx = spec.header_row - 1 if spec.header_row else detect_header(texts)
    header = ["" if v is None else str(v).strip() for v in rows[header_idx]]
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    header = [h or f"Unnamed: {i}" for i, h in enumerate(header[:width])]
    notes = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):  # a repeated header is read as "name.1", as the CSV reader does
        if h in seen:
            seen[h] += 1
            header[i] = f"{h}.{seen[h]}"
            notes.append(f"{path.name}: the header {h!r} is repeated; column {i + 1} is read as "
                         f"{header[i]!r}")
        else:
            seen[h] = 0
    data = [(r + [None] * width)[:width] for r in rows[header_idx + 1:]]
    frame = pd.DataFrame(data, columns=header, dtype=object)
    frame.index = pd.RangeIndex(header_idx + 2, header_idx + 2 + len(frame))
    if header_idx:
        notes.append(f"{path.name}: skipped {header_idx} row(s) above the header on sheet "
                     f"{sheet!r}")
    return _clean(RawTable(frame, path, "row", {"sheet": sheet, "header_row": header_idx + 1},
                           notes), spec)


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a broken file
        raise InputError(f"{path}: not a readable Parquet file ({exc.__class__.__name__}); write "
                         "it again") from None
    frame.columns = [str(c) for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return RawTable(frame, path, "record")


def read_sql(source: Source, label: str) -> RawTable:
    """Read a table or query from any backend Ibis connects to (``duckdb:///file.duckdb``,
    ``sqlite:///…``)."""
    import ibis

    try:
        con = ibis.connect(source.url)
    except Exception as exc:  # noqa: BLE001 - each backend raises its own kinds for a bad URL
        raise InputError(f"{label}: cannot open {source.url!r} ({exc.__class__.__name__}: {exc}); "
                         "fix `source.url` in the config") from None
    try:
        if not (source.query or source.table):
            raise InputError(f"{label}: `source` needs a `table` or a `query`")
        try:
            expr = con.sql(source.query) if source.query else con.table(source.table)
            frame = expr.to_pandas()
        except AttributeError as exc:
            # ibis 12 calls DuckDB's removed fetch_arrow_table() on some paths (DuckDB 2.0):
            # go direct
            if "fetch_arrow_table" not in str(exc) or not hasattr(con, "con"):
                raise
            sql = source.query or f'SELECT * FROM "{source.table}"'
            frame = con.con.execute(sql).df()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any backend error becomes one line naming the source
        what = f"table {source.table!r}" if source.table and not source.query else "query"
        raise InputError(f"{label}: cannot read the {what} ({exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0][:200]}); fix `source` in the config") from None
    finally:
        try:
            con.disconnect()
        except Exception:  # noqa: BLE001 - a failed disconnect must not hide the read's own result
            pass
    frame.columns = [str(c) for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return RawTable(frame, Path(label), "record")
