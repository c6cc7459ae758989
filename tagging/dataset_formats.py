"""Which format a file holds: extensions, magic bytes, and the text encodings tried."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from tagging.errors import DatasetError

Format = Literal["csv", "tsv", "parquet", "json", "jsonl", "excel"]

FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "excel",
    ".xlsm": "excel",
}
# Extensions whose content is sniffed instead of trusted.
_SNIFFED = {"", ".txt", ".dat", ".data", ".gz"}
_SUPPORTED = "CSV, TSV, Parquet, JSON, JSONL or Excel (.xlsx)"
FORMAT_LABEL: dict[Format, str] = {
    "csv": "CSV",
    "tsv": "TSV",
    "parquet": "Parquet",
    "json": "JSON",
    "jsonl": "JSON Lines",
    "excel": "Excel",
}
PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
HEAD_BYTES = 64 * 1024


def read_head(path: Path | None, data: bytes | None) -> bytes:
    if path is not None:
        with path.open("rb") as fh:
            return fh.read(HEAD_BYTES)
    return (data or b"")[:HEAD_BYTES]


def _sniff(head: bytes) -> Format | None:
    """The format the first bytes show, when cheap to tell; None for text we cannot place."""
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_ZIP_MAGIC):
        return "excel"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        lines = [ln.strip() for ln in stripped.splitlines() if ln.strip()]
        if len(lines) > 1 and lines[0].endswith(b"}") and lines[1].startswith(b"{"):
            return "jsonl"
        return "json"
    first = stripped.split(b"\n", 1)[0]
    if b"\t" in first and first.count(b"\t") >= first.count(b","):
        return "tsv"
    if first:
        return "csv"
    return None


def detect_format(label: str, head: bytes) -> Format:
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise DatasetError(
            f"{label} is empty: choose a file with a header row and at least one data row"
        )
    suffix = Path(label).suffix.lower()
    sniffed = _sniff(head)
    if head.startswith(_OLE_MAGIC) or suffix == ".xls":
        raise DatasetError(
            f"{label} is a legacy Excel .xls workbook: save it as .xlsx or CSV and load that"
        )
    if suffix in FORMATS:
        fmt = FORMATS[suffix]
        binary = {"parquet", "excel"}
        if sniffed in binary and sniffed != fmt:
            raise DatasetError(
                f"{label} looks like a {FORMAT_LABEL[sniffed]} file, not {FORMAT_LABEL[fmt]}: "
                f"rename it with the right extension"
            )
        if fmt in binary and sniffed not in binary:
            if _looks_binary(head):
                what = "Parquet" if fmt == "parquet" else "Excel .xlsx"
                raise DatasetError(
                    f"{label} is not a valid {what} file (corrupt or truncated): export it again"
                )
            raise DatasetError(
                f"{label} contains text, not {FORMAT_LABEL[fmt]}: "
                f"rename it to .csv, .tsv or .json to match its content"
            )
        if fmt == "json" and sniffed == "jsonl":
            return "jsonl"
        if fmt in ("csv", "tsv", "json", "jsonl") and _looks_binary(head):
            raise DatasetError(
                f"{label} has binary content, not {FORMAT_LABEL[fmt]} text: "
                f"choose a {_SUPPORTED} file"
            )
        return fmt
    if (
        suffix in _SNIFFED
        and sniffed is not None
        and not (sniffed in ("csv", "tsv") and _looks_binary(head))
    ):
        return sniffed
    raise DatasetError(
        f"{label}: unsupported file type '{suffix or 'no extension'}': choose a {_SUPPORTED} file"
    )


def _looks_binary(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text has NULs but is text
    return b"\x00" in head[:4096]


def decode_text(raw: bytes, label: str, notes: list[str]) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        notes.append(f"{label} is not UTF-8; decoded as Windows-1252 (check accented letters)")
        return raw.decode("cp1252", errors="replace")


def encoding_for(head: bytes) -> str:
    return "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
