"""Every request example in the API docs runs against the sandbox with only the host swapped.

The Atlas and Immuta examples are parsed from the doc files themselves; the Nekt page ships
without its code samples, so its examples are transcribed from the prose.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import httpx
from conftest import KEYS, Sandbox

DOCS = Path("/work/shared/api-docs")
if not DOCS.is_dir():  # the docs may also sit in the repository
    DOCS = Path(__file__).resolve().parent.parent / "docs" / "api-docs"
PROJECTION = "52fcac24-9ab0-4545-8065-0d2fe8350d09"


def test_atlas_doc_examples_run_verbatim(sandbox: Sandbox) -> None:
    text = (DOCS / "atlas-programmatic-tagging.txt").read_text()
    examples = re.findall(r'curl -L "([^"]+)" \\\n(.*?)-d \'(\{.*?\})\'', text, re.S)
    assert len(examples) == 3
    documented = ast.literal_eval(re.search(r"\{'success'.*?\}", text).group(0))  # type: ignore[union-attr]

    results = []
    for url, header_lines, body in examples:
        headers = dict(
            h.split(": ", 1) for h in re.findall(r'-H "([^"]+)"', header_lines.replace("\n", ""))
        )
        headers["Authorization"] = headers["Authorization"].replace("$NOMIC_API_KEY", KEYS["atlas"])
        url = url.replace("https://api-atlas.nomic.ai", sandbox.api("atlas"))
        response = httpx.post(url, headers=headers, content=body, follow_redirects=True)
        assert response.status_code == 200, response.text
        results.append(response.json())

    for result in results:
        assert set(result) == set(documented)
        assert result["success"] is True
        assert re.fullmatch(r"[0-9a-f-]{36}", result["tag_id"])
    assert [r["points_tagged"] for r in results] == [3, 3, 1]
    assert results[0]["tag_id"] == results[2]["tag_id"]  # one tag, added then removed
    assert sandbox.state()["atlas"] == {PROJECTION: {"New Tag": ["0", "89"]}}


def _immuta_blocks() -> list[tuple[str, str, str]]:
    """(kind, label, body) for each code block: kind shell/json, label the nearest heading."""
    text = (DOCS / "immuta-manage-tags.md").read_text()
    out = []
    for match in re.finditer(r"```(shell|json)\n(.*?)```", text, re.S):
        before = text[: match.start()]
        labels = re.findall(r"(?:\*\*([^*]+)\*\*|#+ ([^\n]+))", before)
        label = next(x for x in labels[-1] if x)
        out.append((match.group(1), label, match.group(2)))
    return out


def _immuta_call(sandbox: Sandbox, shell: str, payload: Any | None) -> httpx.Response:
    method = re.search(r"--request (\w+)", shell).group(1)  # type: ignore[union-attr]
    url = re.search(r"(https://your-immuta-url\.com\S*)", shell).group(1)  # type: ignore[union-attr]
    headers = dict(h.split(": ", 1) for h in re.findall(r'--header "([^"]+)"', shell))
    assert headers["Authorization"] == f"Bearer {KEYS['immuta']}"  # runs as written
    url = url.replace("https://your-immuta-url.com", sandbox.api("immuta"))
    content = None if payload is None else json.dumps(payload)
    return httpx.request(method, url, headers=headers, content=content)


def _has_documented_shape(actual: Any, documented: Any) -> None:
    """Same kind of value; every documented key present with the documented value type."""
    if isinstance(documented, list):
        assert isinstance(actual, list) and len(actual) == len(documented), actual
        for a, d in zip(actual, documented, strict=True):
            _has_documented_shape(a, d)
    elif isinstance(documented, dict):
        assert isinstance(actual, dict), actual
        for key, value in documented.items():
            assert key in actual, (key, actual)
            if value is not None:
                assert isinstance(actual[key], type(value)), (key, actual[key], value)
            if key in ("id", "name", "source", "deleted", "systemCreated", "addedBy"):
                assert actual[key] == value, (key, actual, documented)


def test_immuta_doc_examples_run_verbatim_in_order(sandbox: Sandbox) -> None:
    blocks = _immuta_blocks()
    shells = [(i, b) for i, b in enumerate(blocks) if b[0] == "shell"]
    assert len(shells) == 8

    # POST /tag: two payload examples (tabs), then two response examples in the same order.
    i, (_, _, shell) = shells[0]
    section = blocks[i + 1 : shells[1][0]]
    payloads = [json.loads(b) for _, label, b in section if "payload" in label.lower()]
    responses = [json.loads(b) for _, label, b in section if "payload" not in label.lower()]
    assert len(payloads) == len(responses) == 2
    for payload, documented in zip(payloads, responses, strict=True):
        response = _immuta_call(sandbox, shell, payload)
        assert response.status_code == 200, response.text
        _has_documented_shape(response.json(), documented)

    # GET /tag: the documented tags are all there, as documented.
    i, (_, _, shell) = shells[1]
    response = _immuta_call(sandbox, shell, None)
    assert response.status_code == 200
    by_name = {t["name"]: t for t in response.json()}
    for documented in json.loads(blocks[i + 1][2]):
        _has_documented_shape(by_name[documented["name"]], documented)

    # POST /tag/refresh: no documented body, just success.
    assert _immuta_call(sandbox, shells[2][1][2], None).status_code == 200

    # The three adds: payload then response, exactly as documented (plus `context`).
    for i, (_, _, shell) in shells[3:6]:
        payload, documented = json.loads(blocks[i + 1][2]), json.loads(blocks[i + 2][2])
        response = _immuta_call(sandbox, shell, payload)
        assert response.status_code == 200, response.text
        _has_documented_shape(response.json(), documented)
        assert [{k: v for k, v in t.items() if k in documented[0]} for t in response.json()] == (
            documented
        )

    # DELETE /tag/DataProperties.Cross-Sectional
    i, (_, _, shell) = shells[6]
    response = _immuta_call(sandbox, shell, None)
    assert response.status_code == 200, response.text
    _has_documented_shape(response.json(), json.loads(blocks[i + 1][2]))

    # DELETE /tag/datasource/523/Discovered.Country.Canada
    response = _immuta_call(sandbox, shells[7][1][2], None)
    assert response.status_code == 200, response.text

    assert sandbox.state()["immuta"] == {
        "column:6_countrycode": ["Discovered.Passport"],
        "datasource:22": ["Discovered.Passport"],
        "project:2": ["Confidential"],
    }
    names = {t["name"]: t for t in _immuta_call(sandbox, shells[1][1][2], None).json()}
    assert "DataProperties.Cross-Sectional" not in names
    assert {"Address.state", "Address.city", "Address.zip"} <= set(names)
    assert not {"Address.email", "Address.work", "Address.home"} & set(names)


def _nekt(sandbox: Sandbox, path: str, body: Any) -> httpx.Response:
    return httpx.post(
        f"{sandbox.api('nekt')}{path}",
        headers={"x-api-key": KEYS["nekt"], "Content-Type": "application/json"},
        json=body,
    )


def test_nekt_doc_examples(sandbox: Sandbox) -> None:
    world = sandbox.world()["nekt"]
    facebook = next(s for s in world["sources"] if s["name"] == "Facebook Ads")["id"]
    transformation = world["transformations"][0]["id"]
    destination = world["destinations"][0]["id"]

    # Attach one tag to a single (Facebook Ads) source.
    one = _nekt(sandbox, "/api/v1/tags/attach/", {"names": ["marketing"], "sources": [facebook]})
    assert one.status_code == 200, one.text
    [tag] = one.json()
    assert set(tag) == {"id", "name", "created_at", "updated_at"} and tag["name"] == "marketing"

    # Attach multiple tags to one transformation: the existing tag is reused.
    many = _nekt(
        sandbox,
        "/api/v1/tags/attach/",
        {"names": ["marketing", "daily", "finance"], "transformations": [transformation]},
    )
    assert many.status_code == 200
    assert [t["name"] for t in many.json()] == ["marketing", "daily", "finance"]
    assert many.json()[0]["id"] == tag["id"]

    # Batch across sources, transformations and destinations.
    batch = _nekt(
        sandbox,
        "/api/v1/tags/attach/",
        {
            "names": ["q3-review"],
            "sources": [facebook],
            "transformations": [transformation],
            "destinations": [destination],
        },
    )
    assert batch.status_code == 200
    assert sandbox.state()["nekt"] == {
        facebook: ["marketing", "q3-review"],
        transformation: ["daily", "finance", "marketing", "q3-review"],
        destination: ["q3-review"],
    }

    # Detach (the related page): same body shape.
    gone = _nekt(sandbox, "/api/v1/tags/detach/", {"names": ["q3-review"], "sources": [facebook]})
    assert gone.status_code == 200
    assert [t["name"] for t in gone.json()] == ["q3-review"]
    assert sandbox.state()["nekt"][facebook] == ["marketing"]

    # List tags: the organisation's tags, paged.
    listed = httpx.get(f"{sandbox.api('nekt')}/api/v1/tags/", headers={"x-api-key": KEYS["nekt"]})
    assert listed.status_code == 200
    assert listed.json() == {
        "count": 4,
        "next": None,
        "previous": None,
        "results": sorted([*many.json(), *batch.json()], key=lambda t: t["name"]),
    }
