"""Flatiron's fh-immuta-utils 0.5.2, unmodified, logs in, makes tags and tags data and columns.

It runs in its own venv (`make clients`: .venv-clients/immuta) as a subprocess, against the
sandbox's Immuta at the root of `--immuta-port` (it uses absolute paths).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import KEYS, ROOT, Sandbox, free_port, start_sandbox, stop_sandbox

CLIENT_PYTHON = ROOT / ".venv-clients" / "immuta" / "bin" / "python"

TAG_CONFIG = """
TAG_MAP:
  email: ["PII.Email", "Contact"]
  phone: ["PII.Phone"]
  countrycode: ["Geo.Country"]
"""

SCRIPT = """
import json, sys
from fh_immuta_utils.client import ImmutaClient
from fh_immuta_utils.paginator import Paginator
from fh_immuta_utils.tagging import Tagger

client = ImmutaClient(base_url=sys.argv[1], apiKey=sys.argv[2])
user = client.get_current_user_information()
tagger = Tagger(config_root=sys.argv[3])
tagger.make_tags(client)
tagger.make_tags(client)  # a second run finds every tag there already
with Paginator(client.get_data_source_list, search_text="finance.", size=20) as pages:
    listed = [ds["id"] for ds in pages]
source = client.get_data_source(6)
client.tag_data_source(id=6, tag_data=[{"name": "Contact", "source": "curated"}])
dictionary = client.get_data_source_dictionary(id=6)
dictionary.metadata = tagger.enrich_columns_with_tagging(dictionary.metadata)
client.update_data_source_dictionary(id=6, dictionary=dictionary)
again = client.get_data_source_dictionary(id=6)
print(json.dumps({
    "user": user["id"],
    "listed": listed,
    "source": [source["id"], source["name"]],
    "columns": {c.name: sorted(t["name"] for t in c.tags) for c in again.metadata},
}))
"""


@pytest.fixture(scope="module")
def immuta_sandbox() -> Iterator[tuple[Sandbox, str]]:
    port = free_port()
    sb = start_sandbox("--immuta-port", str(port))
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:  # the extra port starts beside the main one
        try:
            httpx.get(root + "/tag", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    yield sb, root
    stop_sandbox(sb)


def test_fh_immuta_utils_runs_unchanged(
    immuta_sandbox: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sandbox, root = immuta_sandbox
    sandbox.reset()
    if not CLIENT_PYTHON.exists():
        pytest.fail(f"{CLIENT_PYTHON} is missing: run `make clients` (make test builds it)")
    (tmp_path / "tags").mkdir()
    (tmp_path / "tags" / "columns.yml").write_text(TAG_CONFIG)
    (tmp_path / "tags" / "flat.yml").write_text('TAG_MAP:\n  status: ["Contact"]\n')
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = subprocess.run(
        [str(CLIENT_PYTHON), "-c", SCRIPT, root, KEYS["immuta"], str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])

    assert out["user"] == 2
    names = {d["id"]: d["name"] for d in sandbox.world()["immuta"]["datasources"]}
    finance = [i for i, name in sorted(names.items()) if name.startswith("finance.")]
    assert len(finance) > 20 and out["listed"] == finance  # every page, in id order
    assert out["source"] == [6, names[6]]
    state = sandbox.state()["immuta"]
    assert state["datasource:6"] == ["Contact"]
    columns = {k.split("_", 1)[1]: v for k, v in state.items() if k.startswith("column:6_")}
    assert columns == {"countrycode": ["Geo.Country"], "phone": ["PII.Phone"]}
    assert out["columns"] == {c: columns.get(c, []) for c in out["columns"]}

    # Flat and hierarchical tags, a new root with its children: user-made, so not protected.
    response = httpx.get(
        f"{root}/tag", params={"includeAllSystemTags": "false"}, headers=_auth(), timeout=10
    )
    made = {t["name"]: t["protected"] for t in response.json()}
    assert made == dict.fromkeys(
        ["Contact", "Geo", "Geo.Country", "PII", "PII.Email", "PII.Phone"], False
    )


def _auth() -> dict[str, str]:
    return {"Authorization": KEYS["immuta"]}
