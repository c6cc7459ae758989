"""Where the ids live (a provider's target fields, e.g. Atlas's projection id), as inputs.

The fields come from the provider's description; their values persist in the session, so the
Tag page's inputs, the Coverage page and the sidebar's connection test agree.
"""

from __future__ import annotations

import streamlit as st

from tagging import providers
from tagging.demo import demo_target
from tagging.providers import TargetField
from ui import session


def _key(field: TargetField) -> str:
    # "projection_id" -> "tag_projection": the widget keys the Tag page has always used.
    return "tag_" + field.name.removesuffix("_id")


def _default(ws: session.Workset | None, provider: str, field: TargetField) -> str:
    own = ws.target.get(field.name) if ws else None
    return str(own or demo_target(provider).get(field.name, ""))


def target_inputs(ws: session.Workset, provider: str) -> dict[str, str]:
    """Draw the provider's target fields side by side; returns the target they describe."""
    fields = providers.get(provider).target_fields
    if not fields:
        return {}
    for field, column in zip(fields, st.columns(len(fields)), strict=True):
        key = _key(field)
        if key not in st.session_state:
            st.session_state[key] = _default(ws, provider, field)
        column.text_input(field.label, key=key, persist_state="session", help=field.help)
    return current_target(ws, provider)


def current_target(ws: session.Workset | None, provider: str) -> dict[str, str]:
    """The target as typed on the Tag page, else the dataset's, else the demo's."""
    api = providers.get(provider)
    typed = {f.name: st.session_state.get(_key(f)) for f in api.target_fields}
    values = {
        f.name: typed[f.name] if typed[f.name] is not None else _default(ws, provider, f)
        for f in api.target_fields
    }
    return api.target(values)
