"""The deterministic demo world: what the sandbox serves and the demo datasets describe.

Pure data: no FastAPI here, so the app and notebooks build demo datasets without the server.
Real provider facts (Nekt's resource types, Immuta's model types) live in the provider modules.
The same sizes always give the same items, ids and names.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tagging.errors import InputError
from tagging.providers.nekt import RESOURCE_TYPES as NEKT_TYPES

if TYPE_CHECKING:
    import pandas as pd

# The keys the sandbox accepts unless told otherwise, and the ones clients use to reach it.
SANDBOX_KEYS = {
    "atlas": "sandbox-atlas-key",
    "nekt": "sandbox-nekt-key",
    "immuta": "dea464c07bd07300095caa8",  # the docs' example token, so examples run as written
}
ATLAS_PROJECTION_ID = "52fcac24-9ab0-4545-8065-0d2fe8350d09"
ATLAS_PROJECTION_NAME = "research paper excerpts"
# The dataset (project) that holds the map, as the nomic client addresses it:
# `AtlasDataset("sandbox/research-paper-excerpts")` or `AtlasDataset(dataset_id=...)`.
ATLAS_ORG_SLUG = "sandbox"
ATLAS_DATASET_SLUG = "research-paper-excerpts"
ATLAS_DATASET_ID = "8d1f4c52-3a6b-4e0f-9c27-5b8e1d3f6a94"
# Id fields a point can be addressed by (`id_field`); all hold the same values as `id`
# except `paper_id`. `my_unique_id_field` is the one the Atlas docs' example uses.
ATLAS_ID_FIELDS = ("id", "my_unique_id_field")


# Immuta tags from the docs, with the ids the docs show (the rest chosen here).
# New tags get ids from 129 on, so the docs' "update a parent tag" example (ids 129-131)
# works right after its "new parent tag" example.
IMMUTA_SEED_TAGS: dict[str, int] = {
    "DataProperties.Cross-Sectional": 114,
    "Discovered.Country.Argentina": 2,
    "Discovered.Country.Australia": 9,
    "Discovered.Country.Canada": 12,
    "Discovered.Passport": 40,
    "Confidential": 57,
}
IMMUTA_FIRST_NEW_TAG_ID = 129
# modelType:modelId -> tag names already applied when the world starts
# (the docs' delete example removes Canada from data source 523).
IMMUTA_SEED_ASSIGNMENTS: dict[str, list[str]] = {
    "datasource:523": ["Discovered.Country.Canada"],
}

_NAMESPACE = uuid.UUID("6f1c1a52-6c1e-4c43-9f55-2d2b1f0a7e11")
_FIELDS = np.array(["cs.LG", "cs.CL", "cs.CV", "stat.ML", "q-bio.NC", "physics.comp-ph"])
_WORDS = np.array(
    "attention graph transformer sparse bayesian protein robust causal retrieval "
    "diffusion federated kernel language vision contrastive spectral".split()
)
_DOMAINS = ("finance", "marketing", "health", "sales", "hr", "ops")
_COLUMN_POOL = ("id", "email", "created_at", "amount", "status", "name", "phone", "zip")


@dataclass(frozen=True)
class WorldSize:
    atlas_points: int = 10_000
    nekt_resources: int = 96  # spread over the 8 resource types
    immuta_datasources: int = 600  # ids 1..N; the docs use 6, 22 and 523
    immuta_projects: int = 10


@dataclass(frozen=True)
class World:
    size: WorldSize = field(default_factory=WorldSize)

    # --- Atlas -------------------------------------------------------------
    @property
    def atlas_projections(self) -> list[dict[str, object]]:
        return [
            {
                "id": ATLAS_PROJECTION_ID,
                "name": ATLAS_PROJECTION_NAME,
                "points": self.size.atlas_points,
            }
        ]

    # --- Nekt --------------------------------------------------------------
    def nekt_resources(self) -> dict[str, list[dict[str, str]]]:
        """Resources by type: `{type: [{"id", "name"}]}`; source 0 is the Facebook Ads one."""
        out: dict[str, list[dict[str, str]]] = {t: [] for t in NEKT_TYPES}
        for i in range(self.size.nekt_resources):
            rtype = NEKT_TYPES[i % len(NEKT_TYPES)]
            n = i // len(NEKT_TYPES)
            name = "Facebook Ads" if (rtype == "sources" and n == 0) else f"{rtype[:-1]}-{n:05d}"
            out[rtype].append({"id": nekt_resource_id(rtype, n), "name": name})
        return out

    # --- Immuta ------------------------------------------------------------
    def immuta_datasources(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for ds in range(1, self.size.immuta_datasources + 1):
            cols = [_COLUMN_POOL[(ds + k) % len(_COLUMN_POOL)] for k in range(3 + ds % 3)]
            if ds == 6 and "countrycode" not in cols:
                cols.append("countrycode")
            domain = _DOMAINS[ds % len(_DOMAINS)]
            out.append({"id": ds, "name": f"{domain}.table_{ds:04d}", "columns": sorted(cols)})
        return out

    def immuta_projects(self) -> list[dict[str, object]]:
        return [{"id": p, "name": f"Project {p}"} for p in range(1, self.size.immuta_projects + 1)]

    def to_json(self) -> dict[str, object]:
        """The `GET /_sandbox/world` body."""
        return {
            "atlas": {"projections": self.atlas_projections},
            "nekt": self.nekt_resources(),
            "immuta": {
                "datasources": self.immuta_datasources(),
                "projects": self.immuta_projects(),
            },
        }


def nekt_resource_id(rtype: str, n: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"nekt:{rtype}:{n}"))


# --- Demo datasets: the same items as tables an analyst would load ----------


def atlas_frame(points: int = 10_000) -> pd.DataFrame:
    """One row per Atlas point: id, title, field, year, citations, published, and the map's
    coordinates x, y (a cluster per field). Vectorised."""
    import pandas as pd

    rng = np.random.default_rng(7)
    idx = np.arange(points)
    w1 = _WORDS[rng.integers(0, len(_WORDS), points)]
    w2 = _WORDS[rng.integers(0, len(_WORDS), points)]
    title = np.char.add(np.char.add(np.char.capitalize(w1.astype(str)), " "), w2.astype(str))
    title = np.char.add(title, " networks")
    fields = rng.integers(0, len(_FIELDS), points)
    frame = pd.DataFrame(
        {
            "id": idx.astype(str),
            "title": title,
            "field": _FIELDS[fields],
            "year": rng.integers(2015, 2026, points),
            "citations": rng.poisson(12, points),
            "published": pd.to_datetime("2015-01-01")
            + pd.to_timedelta(rng.integers(0, 3650, points), unit="D"),
        }
    )
    frame["x"], frame["y"] = _map_coordinates(fields)
    return frame


# Where each field's cluster sits on the demo map: a loose ring, neighbours in topic nearby.
_FIELD_CENTRES = np.array(
    [[0.0, 6.0], [5.5, 2.5], [4.0, -4.5], [-1.0, 0.5], [-4.5, -4.0], [-5.5, 3.0]]
)


def _map_coordinates(fields: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D embedding of the points, like an Atlas map: a Gaussian blob per field, each a
    little elongated, with a sub-cluster, so a lasso around a blob catches nearly its field.
    Its own random stream: the other columns stay as they were before the map existed."""
    rng = np.random.default_rng(1207)
    n = len(fields)
    centre = _FIELD_CENTRES[fields]
    sub = rng.random(n) < 0.3  # a smaller satellite cluster beside each main blob
    offset = np.where(sub[:, None], np.array([1.6, -1.2]), 0.0)
    spread = np.where(sub, 0.45, 1.0)[:, None] * np.array([1.0, 0.75])
    xy = centre + offset + rng.standard_normal((n, 2)) * spread
    return xy[:, 0], xy[:, 1]


def nekt_frame(world: World | None = None) -> pd.DataFrame:
    """One row per Nekt resource: id, resource_type, name, owner."""
    import pandas as pd

    world = world or World()
    rows = [
        {"id": r["id"], "resource_type": rtype, "name": r["name"]}
        for rtype, items in world.nekt_resources().items()
        for r in items
    ]
    frame = pd.DataFrame(rows)
    frame["owner"] = np.array(["ana", "bruno", "chen", "dara"])[np.arange(len(frame)) % 4]
    return frame


def immuta_frame(world: World | None = None) -> pd.DataFrame:
    """Data sources, their columns and projects: model_id, model_type, name, domain."""
    import pandas as pd

    world = world or World()
    rows: list[dict[str, object]] = []
    for ds in world.immuta_datasources():
        name = str(ds["name"])
        domain = name.split(".")[0]
        rows.append(
            {"model_id": str(ds["id"]), "model_type": "datasource", "name": name, "domain": domain}
        )
        for col in ds["columns"]:  # type: ignore[attr-defined]
            rows.append(
                {
                    "model_id": f"{ds['id']}_{col}",
                    "model_type": "column",
                    "name": f"{name}.{col}",
                    "domain": domain,
                }
            )
    for p in world.immuta_projects():
        rows.append(
            {"model_id": str(p["id"]), "model_type": "project", "name": p["name"], "domain": "-"}
        )
    return pd.DataFrame(rows)


# --- demo datasets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDataset:
    """A demo table describing the sandbox's items, with what the Tag page needs to push."""

    key: str  # "atlas" | "nekt" | "immuta"
    name: str
    provider: str
    id_column: str
    kind_column: str | None  # Nekt resource type / Immuta model type, per row
    target: Mapping[str, str]
    facet: str  # a good default facet for coverage charts
    description: str
    build: Callable[[], pd.DataFrame]

    def frame(self) -> pd.DataFrame:
        """The table (ids as strings); built fresh each call, so cache it in the page."""
        return self.build()


def demo_target(provider: str) -> Mapping[str, str]:
    """The demo world's target for a provider (the demo Atlas map), {} when it has none."""
    demo = demo_datasets().get(provider)
    return demo.target if demo is not None else {}


# How many points the demo Atlas dataset has when not given: set it to the sandbox's
# `--atlas-points` (e.g. 1000000 to try the map at a million rows).
ATLAS_POINTS_VAR = "TAGGING_DEMO_ATLAS_POINTS"


def demo_atlas_points() -> int:
    """``TAGGING_DEMO_ATLAS_POINTS`` as a positive int, 10,000 when unset or empty."""
    raw = os.environ.get(ATLAS_POINTS_VAR, "").strip().replace("_", "").replace(",", "")
    if not raw:
        return WorldSize().atlas_points
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{ATLAS_POINTS_VAR} must be a positive whole number, not {raw!r}")
    return int(raw)


def demo_datasets(atlas_points: int | None = None) -> dict[str, DemoDataset]:
    """The three demo tables matching the sandbox's world, keyed by provider.

    ``atlas_points`` must match the sandbox's ``--atlas-points`` for every id to exist; when
    omitted it is ``TAGGING_DEMO_ATLAS_POINTS`` if set, else 10,000 (the sandbox's default).
    """
    if atlas_points is None:
        atlas_points = demo_atlas_points()
    points = atlas_points
    return {
        "atlas": DemoDataset(
            key="atlas",
            name=f"Atlas: {ATLAS_PROJECTION_NAME}",
            provider="atlas",
            id_column="id",
            kind_column=None,
            target={"projection_id": ATLAS_PROJECTION_ID},
            facet="field",
            description=f"{points:,} points of the demo Atlas map (ids '0'..'{points - 1}')",
            build=lambda: atlas_frame(points),
        ),
        "nekt": DemoDataset(
            key="nekt",
            name="Nekt: catalog resources",
            provider="nekt",
            id_column="id",
            kind_column="resource_type",
            target={},
            facet="resource_type",
            description="Catalog resources of all 8 Nekt types (UUIDs), with owners",
            build=nekt_frame,
        ),
        "immuta": DemoDataset(
            key="immuta",
            name="Immuta: data sources, columns and projects",
            provider="immuta",
            id_column="model_id",
            kind_column="model_type",
            target={},
            facet="model_type",
            description="Immuta data sources, their columns (<id>_<column>) and projects",
            build=immuta_frame,
        ),
    }


# --- the sandbox's `GET /_sandbox/state`, as known state ----------------------------


def state_from_sandbox(
    state_json: Mapping[str, Any],
    provider: str,
    target: Mapping[str, Any] | None = None,
    *,
    model_types: str | Sequence[str] | None = None,
    typed_ids: bool = False,
    kinds: bool = False,
) -> pd.DataFrame:
    """The sandbox's ``GET /_sandbox/state`` body -> long ["id", "tag"] for one provider.

    state_json: the whole body, or just its ``[provider]`` part.
    atlas:  ``{projection_id: {tag: [ids]}}``; ``target={"projection_id": P}`` picks the
            projection (all projections when omitted).
    nekt:   ``{resource_id: [tags]}``.
    immuta: ``{"modelType:modelId": [tags]}``; ids are the model ids (what the demo dataset
            holds), optionally only of ``model_types`` (e.g. "datasource" or
            ("datasource", "column")). Model ids repeat across types (data source 2 and
            project 2): pick one type, or pass ``kinds=True`` for a "kind" column (the model
            type) that ``plan(known=...)`` and ``coverage(..., kind_column=...)`` match on;
            ``typed_ids=True`` keeps "type:id" ids instead.
    """
    import pandas as pd

    body = state_json.get(provider, state_json) if provider in state_json else state_json
    if provider == "atlas":
        projections: Mapping[str, Any] = body
        wanted = (target or {}).get("projection_id")
        if wanted is not None:
            projections = {wanted: body.get(wanted, {})}
        rows = [
            (str(i), str(tag))
            for by_tag in projections.values()
            for tag, ids in by_tag.items()
            for i in ids
        ]
        return _long(rows)
    if provider == "nekt":
        return _long([(str(rid), str(tag)) for rid, tags in body.items() for tag in tags])
    if provider == "immuta":
        types = {model_types} if isinstance(model_types, str) else set(model_types or ())
        found: list[tuple[str, str, str]] = []  # (id, tag, model type)
        for key, tags in body.items():
            mtype, _, mid = str(key).partition(":")
            if types and mtype not in types:
                continue
            found.extend((str(key) if typed_ids else mid, str(tag), mtype) for tag in tags)
        if not kinds:
            return _long([(i, tag) for i, tag, _ in found])
        if not found:
            return _empty_state().assign(kind=pd.Series(dtype="str"))
        return pd.DataFrame(found, columns=["id", "tag", "kind"]).astype("str")
    raise InputError(f"the sandbox has no provider '{provider}': use atlas, nekt or immuta")


def _long(rows: list[tuple[str, str]]) -> pd.DataFrame:
    import pandas as pd

    if not rows:
        return _empty_state()
    out = pd.DataFrame(rows, columns=["id", "tag"]).drop_duplicates(ignore_index=True)
    return out.astype({"id": "str", "tag": "str"})


def _empty_state() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"id": pd.Series(dtype="str"), "tag": pd.Series(dtype="str")})
