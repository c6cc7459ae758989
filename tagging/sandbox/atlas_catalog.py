"""The Atlas user, organization and dataset the nomic client reads before it reaches a map.

One user, member (owner) of one organization `sandbox`, which holds one dataset
`research-paper-excerpts` with one index and one projection: the demo map. Field names are
the ones nomic 3.9 reads (`AtlasClass`, `AtlasDataset`, `AtlasProjection`); the rest of a
real answer is left out.
"""

from __future__ import annotations

from tagging.demo import (
    ATLAS_DATASET_ID,
    ATLAS_DATASET_SLUG,
    ATLAS_ORG_SLUG,
    ATLAS_PROJECTION_ID,
    ATLAS_PROJECTION_NAME,
    atlas_frame,
)
from tagging.sandbox.atlas_tiles import ID_COLUMN

ORG_ID = "3c5e7a91-2b4d-4f68-8a1c-6d9e0f2b4a73"
INDEX_ID = "a4b6c8d0-1e3f-4a5b-8c7d-9e0f1a2b3c4d"
USER_ID = "sandbox|user"
CREATED = "2024-06-24T15:08:53.119000+00:00"  # nomic parses it with "%Y-%m-%dT%H:%M:%S.%f%z"


def user() -> dict[str, object]:
    """`GET /v1/user`."""
    return {
        "sub": USER_ID,
        "nickname": "sandbox",
        "name": "Sandbox User",
        "email": "sandbox@example.com",
        "default_organization": ORG_ID,
        "organizations": [
            {
                "organization_id": ORG_ID,
                "slug": ATLAS_ORG_SLUG,
                "nickname": "Sandbox",
                "user_id": USER_ID,
                "access_role": "OWNER",
                "plan_type": "enterprise",
            }
        ],
    }


def organization() -> dict[str, object]:
    """`GET /v1/organization/sandbox`."""
    return {
        "id": ORG_ID,
        "slug": ATLAS_ORG_SLUG,
        "nickname": "Sandbox",
        "projects": [
            {
                "id": ATLAS_DATASET_ID,
                "project_name": ATLAS_PROJECTION_NAME,
                "slug": ATLAS_DATASET_SLUG,
            }
        ],
    }


def dataset(points: int) -> dict[str, object]:
    """`GET /v1/project/{id}` and `GET /v1/project/sandbox/research-paper-excerpts`."""
    return {
        "id": ATLAS_DATASET_ID,
        "project_name": ATLAS_PROJECTION_NAME,
        "slug": ATLAS_DATASET_SLUG,
        "organization_id": ORG_ID,
        "organization_slug": ATLAS_ORG_SLUG,
        "organization_name": "Sandbox",
        "description": "Excerpts of research papers (the tagging sandbox's demo map).",
        "unique_id_field": ID_COLUMN,
        "modality": "text",
        "is_public": False,
        "created_timestamp": CREATED,
        "total_datums_in_project": points,
        "insert_update_delete_lock": False,
        "project_fields": list(atlas_frame(1).columns),
        "schema": None,
        "atlas_indices": [
            {
                "id": INDEX_ID,
                "index_name": ATLAS_PROJECTION_NAME,
                "indexed_field": "title",
                "created_timestamp": CREATED,
                "projections": [
                    {
                        "id": ATLAS_PROJECTION_ID,
                        "projection_name": ATLAS_PROJECTION_NAME,
                        "ready": True,
                        "created_timestamp": CREATED,
                    }
                ],
            }
        ],
    }
