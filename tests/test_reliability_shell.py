"""Principle 6 of the reliability corpus: what we print for a shell is safe to paste.

Copy-as-curl quotes every part (URL, headers, body) for POSIX shells: each command is run by
a real `sh` with `curl` replaced by a function that prints its arguments, and must give back
exactly the intended arguments, with only the key placeholder expanded and nothing else run.
Base URLs with shell metacharacters are refused by config validation in the first place.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tagging.config import connect
from tagging.errors import ConfigError
from tagging.plan import plan
from tagging.render import to_curl
from tagging.values import TagOperation

P = "52fcac24-9ab0-4545-8065-0d2fe8350d09"
HOSTILE = [
    "$(touch {marker})",
    "`touch {marker}`",
    "'; touch {marker}; '",
    '"; touch {marker}; "',
    "a && touch {marker}",
    "x | touch {marker}",
    "$HOME ${PATH} $0",
    "back\\slash \\$(touch {marker})",
    "it's",
    "!! * ? [a] ~",
]


def run_in_sh(command: str, tmp_path: Path) -> list[str]:
    """The arguments `sh` passes to curl when the command is pasted."""
    script = 'curl() { for a in "$@"; do printf "%s\\0" "$a"; done; }\n' + command
    done = subprocess.run(
        ["sh", "-c", script],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "NOMIC_API_KEY": "KEY-VALUE", "IMMUTA_API_KEY": "IK",
             "IMMUTA_API_URL": "https://immuta.example.com"},
        capture_output=True,
        timeout=10,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().split("\0")[:-1]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("where", ["tag", "id"])
def test_atlas_curl_gives_back_exact_arguments(text: str, where: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = text.replace("{marker}", str(marker))
    tag, ids = (text, ["1"]) if where == "tag" else ("T", ["1", text])
    [command] = to_curl(plan(TagOperation("atlas", "add", (tag,), ids, {"projection_id": P})))
    args = run_in_sh(command, tmp_path)
    assert not marker.exists()
    assert args[:2] == ["-L", "https://api-atlas.nomic.ai/v1/query/update/tag/ids"]
    assert "Authorization: Bearer KEY-VALUE" in args
    body = json.loads(args[args.index("-d") + 1])
    assert (body["tag_name"], body["ids"]) == (tag, ids)


@pytest.mark.parametrize("text", HOSTILE[:6])
def test_immuta_curl_quotes_paths_and_the_url_placeholder(text: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    tag = "A." + text.replace("{marker}", str(marker))
    op = TagOperation("immuta", "remove", (tag,), ["22"], kinds="datasource")
    [command] = to_curl(plan(op))
    args = run_in_sh(command, tmp_path)
    assert not marker.exists()
    assert args[1].startswith("https://immuta.example.com/tag/datasource/22/A.")
    assert "Authorization: IK" in args


def test_a_hostile_base_url_given_directly_is_still_quoted(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    base = f"https://x.example.com/$(touch {marker})"
    op = TagOperation("atlas", "add", ("T",), ["1"], {"projection_id": P})
    [command] = to_curl(plan(op), base_url=base)
    args = run_in_sh(command, tmp_path)
    assert not marker.exists() and args[1].startswith(base)


SHELL_CHARS = ["$(touch x)", "`id`", ";id", "|id", "&id", "<x", ">x", "(x)", "'x'", '"x"',
               "\\x", "a b", "a\tb", "{a,b}", "*", "!x", "^x", "\u00e9"]  # fmt: skip


@pytest.mark.parametrize("chars", SHELL_CHARS)
def test_base_urls_with_shell_metacharacters_are_refused(chars: str) -> None:
    with pytest.raises(ConfigError, match="ATLAS_API_URL has characters a shell would run"):
        connect("atlas", url=f"https://api.example.com/p{chars}", key="k")


@pytest.mark.parametrize(
    "url", ["https://api.example.com", "http://127.0.0.1:8765/atlas", "https://[::1]:8/a-b_c.d~e"]
)
def test_plain_base_urls_still_pass(url: str) -> None:
    assert connect("atlas", url=url, key="k").base_url == url
