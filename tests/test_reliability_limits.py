"""Principle 7 of the reliability corpus: inputs that would exhaust the machine are refused
or streamed. Each ends in seconds with one line: a 10 MB single-line CSV, a table of more
columns than Excel allows, a 2 GB ids file (a sparse file: no disk needed), a FIFO or a
device passed as a file; an ids file under the limit is streamed into compact text, which a
subprocess measures (peak RSS), not a clock.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import P, cli_env, run_cli
from conftest import ROOT, Sandbox

from tagging.datasets import load_dataset
from tagging.errors import DatasetError

ONE_LINE = b"id," + b"x" * 10_000_000  # 10 MB, no newline
WIDE = b",".join(b"c%d" % i for i in range(20_000)) + b"\n" + b"1," * 19_999 + b"1\n"


def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "ids.csv"
    os.mkfifo(path)
    return path


def sparse(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    with path.open("wb") as fh:
        fh.truncate(2 * 1024**3)
    return path


def written(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        (tmp_path / name).write_bytes(data)
        return tmp_path / name

    return make


# (case, how to make the file, the words of the one error line)
IDS_FILES = [
    ("ten-mb-single-line-csv", written("one.csv", ONE_LINE), "its first line is over 1 MB"),
    ("twenty-thousand-columns", written("wide.csv", WIDE), "has 20,000 columns"),
    ("ten-mb-single-line-txt", written("one.txt", b"7" * 10_000_000),
     "line 1 of one.txt is over 4.0 MB"),
    ("fifo", fifo, "is not a regular file (a pipe or a device)"),
    ("device", lambda tmp_path: Path("/dev/zero"), "is not a regular file"),
    ("two-gb-txt", lambda tmp_path: sparse(tmp_path, "ids.txt"), "is 2.0 GB, over the 256.0 MB"),
    ("two-gb-csv", lambda tmp_path: sparse(tmp_path, "ids.csv"), "is 2.0 GB, over the 256.0 MB"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "words"), [c[1:] for c in IDS_FILES], ids=[c[0] for c in IDS_FILES]
)
def test_ids_files_that_would_exhaust_the_machine_end_in_one_line(
    make: Callable[[Path], Path], words: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = make(tmp_path)
    done = run_cli(sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "T",
                   "--ids-file", str(path), "--journal", str(tmp_path / "j.db"))  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert words in done.stderr
    assert sandbox.state()["atlas"].get(P, {}) == {}


def test_the_ids_file_limit_is_configurable(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "ids.txt").write_bytes(b"1\n" * 1_000_000)  # 2 MB
    env = cli_env(sandbox, TAGGING_MAX_IDS_FILE_MB="1")
    done = run_cli(sandbox, "push", "--provider", "atlas", "--projection-id", P, "--tag", "T",
                   "--ids-file", str(tmp_path / "ids.txt"), "--dry-run", env=env)  # fmt: skip
    assert done.returncode == 2
    assert "over the 1.0 MB limit" in done.stderr and "TAGGING_MAX_IDS_FILE_MB" in done.stderr


@pytest.mark.parametrize(
    ("data", "words"),
    [(ONE_LINE, "its first line is over 1 MB"), (WIDE, "has 20,000 columns")],
    ids=["ten-mb-single-line", "twenty-thousand-columns"],
)
def test_uploads_that_would_exhaust_the_machine_are_refused(data: bytes, words: str) -> None:
    with pytest.raises(DatasetError, match=words):
        load_dataset(io.BytesIO(data), name="upload.csv")


@pytest.mark.parametrize("make", [fifo, lambda tmp_path: Path("/dev/zero")], ids=["fifo", "device"])
def test_a_dataset_that_is_not_a_regular_file_is_refused(make, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="is not a regular file"):
        load_dataset(make(tmp_path))


def test_coverage_refuses_a_fifo_dataset(sandbox: Sandbox, tmp_path: Path) -> None:
    done = run_cli(sandbox, "coverage", "--provider", "atlas", "--dataset", str(fifo(tmp_path)),
                   "--id-column", "id", "--journal", str(tmp_path / "j.db"))  # fmt: skip
    assert done.returncode == 2 and "is not a regular file" in done.stderr


MEASURE = """
import resource, sys
from pathlib import Path
from tagging import providers
from tagging.cli_input import ids_and_kinds
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
read = ids_and_kinds(providers.get("atlas"), None, Path(sys.argv[1]), None, None, None)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(read.ids), read.ids[-1].as_py(), (after - before) * 1024)  # Arrow text
"""


def test_an_ids_file_is_streamed_into_compact_text(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    with path.open("w") as fh:
        fh.writelines(f"{i:07d}\n" for i in range(1_000_000))
    size = path.stat().st_size  # 8 MB
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    count, last, grown = done.stdout.split()
    assert (int(count), last) == (1_000_000, "0999999")
    # Python strings in a list took ~10x the file; arrow text ~3x (8-byte offsets per id).
    assert int(grown) < 5 * size, f"{int(grown) / size:.1f}x the file"
