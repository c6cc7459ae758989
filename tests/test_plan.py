"""plan(): de-duplication, validation, diff against known state, chunking, rendering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tagging.demo import ATLAS_PROJECTION_ID, nekt_resource_id
from tagging.errors import InputError
from tagging.plan import TagOperation, plan
from tagging.render import describe, plan_frame, plan_html, request_count, to_curl

P = {"projection_id": ATLAS_PROJECTION_ID}


def atlas(ids: object, action: str = "add", tags: tuple[str, ...] = ("New Tag",)) -> TagOperation:
    return TagOperation("atlas", action, tags, ids, P)  # type: ignore[arg-type]


def test_duplicates_are_dropped_keeping_first_order() -> None:
    p = plan(atlas(["5", "1", "5", "3", "1"]))
    assert p.batches[0].ids == ("5", "1", "3")
    assert (p.requested, p.skipped, p.to_send) == (3, 0, 3)


def test_default_chunk_sizes_per_provider() -> None:
    p = plan(atlas([str(i) for i in range(25_000)]))
    assert [len(b.ids) for b in p.batches] == [10_000, 10_000, 5_000]
    assert [b.index for b in p.batches] == [0, 1, 2]
    nekt_ids = [nekt_resource_id("tables", n) for n in range(2_500)]
    p = plan(TagOperation("nekt", "add", ("x",), nekt_ids, kinds="tables"))
    assert [len(b.ids) for b in p.batches] == [1_000, 1_000, 500]
    p = plan(TagOperation("immuta", "add", ("Confidential",), range(1, 251), kinds="datasource"))
    assert [len(b.ids) for b in p.batches] == [100, 100, 50]


def test_explicit_chunk_size() -> None:
    assert [len(b.ids) for b in plan(atlas(list("abcde")), chunk_size=2).batches] == [2, 2, 1]
    with pytest.raises(InputError, match="chunk size must be at least 1"):
        plan(atlas(["a"]), chunk_size=-3)


def test_integer_ids_become_text_and_missing_ids_are_refused() -> None:
    assert plan(atlas(pd.Series([3, 1, 2]))).batches[0].ids == ("3", "1", "2")
    assert plan(atlas(np.array([7.0, 8.0]))).batches[0].ids == ("7", "8")
    with pytest.raises(InputError, match="id at row 1 is missing"):
        plan(atlas(pd.Series(["a", None, "b"])))
    with pytest.raises(InputError, match="fractional"):
        plan(atlas([1.5, 2.0]))


def test_empty_ids_and_tags_are_refused() -> None:
    with pytest.raises(InputError, match="^no ids to tag: select at least one row$"):
        plan(atlas([]))
    with pytest.raises(InputError, match="^no tags chosen"):
        plan(atlas(["1"], tags=()))


def test_kinds_per_id_must_match_ids() -> None:
    op = TagOperation("immuta", "add", ("Confidential",), ["1", "2"], kinds=["datasource"])
    with pytest.raises(InputError, match="1 kinds given for 2 ids"):
        plan(op)


def test_kinds_ride_along_per_id_after_dedup_and_diff() -> None:
    op = TagOperation(
        "immuta",
        "add",
        ("Confidential",),
        ["1", "6_countrycode", "1", "2"],
        kinds=["datasource", "column", "datasource", "project"],
    )
    known = pd.DataFrame({"id": ["2"], "tag": ["Confidential"]})
    p = plan(op, known=known)
    assert p.batches[0].ids == ("1", "6_countrycode")
    assert p.batches[0].kinds == ("datasource", "column")
    single = plan(TagOperation("immuta", "add", ("Confidential",), ["1", "2"], kinds="Project"))
    assert single.operation.kinds == "project"
    assert single.batches[0].kinds == ("project", "project")


def test_add_skips_ids_carrying_all_the_tags() -> None:
    known = pd.DataFrame({"id": ["1", "1", "2", "3", "3"], "tag": ["a", "b", "a", "other", "a"]})
    p = plan(atlas(["1", "2", "3", "4"], tags=("a", "b")), known=known)
    # 2 and 3 already carry "a": their batch adds only "b", so an undo leaves "a" on them.
    assert [(b.index, b.ids, b.tags) for b in p.batches] == [
        (0, ("2", "3"), ("b",)),
        (1, ("4",), None),
    ]
    assert (p.requested, p.skipped, p.known_state) == (4, 1, True)
    assert [p.tags_for(b) for b in p.batches] == [("b",), ("a", "b")]


def test_remove_skips_ids_carrying_none_of_the_tags() -> None:
    known = pd.DataFrame({"id": ["1", "2", "3"], "tag": ["a", "b", "c"]})
    p = plan(atlas(["1", "2", "3", "4"], "remove", ("a", "b")), known=known)
    assert [(b.ids, b.tags) for b in p.batches] == [(("1",), ("a",)), (("2",), ("b",))]
    assert p.skipped == 2


def test_three_tags_group_ids_by_the_tags_that_change_for_them() -> None:
    known = pd.DataFrame(
        {
            "id": ["1", "2", "2", "4", "4", "4", "5", "6", "6", "7", "9"],
            "tag": ["a", "a", "c", "a", "b", "c", "b", "c", "a", "other", "a"],
        }
    )
    ids = [str(i) for i in range(1, 10)]  # 1..9
    add = plan(atlas(ids, tags=("a", "b", "c")), known=known, chunk_size=2)
    # Groups in order of their first id, ids in request order, indexes 0..n-1.
    assert [(b.index, b.ids, b.tags) for b in add.batches] == [
        (0, ("1", "9"), ("b", "c")),  # carry a
        (1, ("2", "6"), ("b",)),  # carry a and c
        (2, ("3", "7"), None),  # carry none of them: all three
        (3, ("8",), None),
        (4, ("5",), ("a", "c")),  # carries b
    ]
    assert (add.requested, add.skipped) == (9, 1)  # 4 carries all three
    # Atlas sends one request per tag of each batch.
    assert request_count(add) == 2 + 1 + 3 + 3 + 2

    remove = plan(atlas(ids, "remove", ("a", "b", "c")), known=known)
    assert [(b.index, b.ids, b.tags) for b in remove.batches] == [
        (0, ("1", "9"), ("a",)),
        (1, ("2", "6"), ("a", "c")),
        (2, ("4",), None),
        (3, ("5",), ("b",)),
    ]
    assert remove.skipped == 3  # 3, 7 and 8 carry none of them


def test_partial_tags_keep_kinds_aligned_and_show_in_renderings() -> None:
    op = TagOperation(
        "immuta",
        "add",
        ("A", "B"),
        ["1", "6_x", "2", "3"],
        kinds=["datasource", "column", "project", "datasource"],
    )
    known = pd.DataFrame({"id": ["6_x", "3", "3", "1"], "tag": ["A", "A", "B", "B"]})
    p = plan(op, known=known)
    assert [(b.ids, b.kinds, b.tags) for b in p.batches] == [
        (("1",), ("datasource",), ("A",)),
        (("6_x",), ("column",), ("B",)),
        (("2",), ("project",), None),
    ]
    assert describe(p)[1:4] == [
        "1 of 4 ids skipped: already tagged",
        "1 ids get only 'A' (the other tags are already on them)",
        "1 ids get only 'B' (the other tags are already on them)",
    ]
    assert describe(p)[4] == "1 ids get all of 'A', 'B'"
    assert list(plan_frame(p)["tags"]) == ["A", "B", "A, B"]
    commands = to_curl(p, base_url="https://immuta.example.com")
    assert [c.splitlines()[0] for c in commands] == [
        "curl -L https://immuta.example.com/tag/datasource/1 \\",
        "curl -L https://immuta.example.com/tag/column/6_x \\",
        "curl -L https://immuta.example.com/tag/project/2 \\",
    ]
    assert '"name": "B"' not in commands[0] and '"name": "A"' not in commands[1]
    assert '"name": "A"' in commands[2] and '"name": "B"' in commands[2]


def test_single_tag_and_no_known_state_plans_are_one_group() -> None:
    ids = [str(i) for i in range(30)]
    known = pd.DataFrame({"id": ids[::3], "tag": "a"})
    single = plan(atlas(ids, tags=("a",)), known=known, chunk_size=10)
    assert [b.tags for b in single.batches] == [None, None]
    assert request_count(single) == 2  # one request per batch, as before
    assert "tags" not in plan_frame(single).columns
    blind = plan(atlas(ids, tags=("a", "b")), chunk_size=10)
    assert [b.tags for b in blind.batches] == [None, None, None]
    assert request_count(blind) == 6


def test_nothing_left_to_send_is_an_empty_plan() -> None:
    known = pd.DataFrame({"id": ["1"], "tag": ["New Tag"]})
    p = plan(atlas(["1"]), known=known)
    assert p.batches == ()
    assert describe(p)[-1] == "nothing to send"
    assert describe(p)[0] == "nothing to add: all 1 selected ids already carry 'New Tag'"


def test_known_state_needs_id_and_tag_columns() -> None:
    with pytest.raises(InputError, match="known state needs columns"):
        plan(atlas(["1"]), known=pd.DataFrame({"id": ["1"]}))


def test_a_million_ids_with_a_diff() -> None:
    ids = np.arange(1_000_000).astype(str)
    known = pd.DataFrame({"id": ids[::2], "tag": "New Tag"})
    p = plan(atlas(pd.Series(ids)), known=known)
    assert p.requested == 1_000_000
    assert p.skipped == 500_000
    assert len(p.batches) == 50
    assert p.batches[0].ids[:3] == ("1", "3", "5")
    assert p.batches[-1].ids[-1] == "999999"


def test_a_million_ids_with_two_tags_partly_known() -> None:
    ids = np.arange(1_000_000).astype(str)
    known = pd.DataFrame(
        {"id": np.concatenate([ids[::2], ids[::4]]), "tag": ["a"] * 500_000 + ["b"] * 250_000}
    )
    p = plan(atlas(pd.Series(ids), tags=("a", "b")), known=known)
    # Even ids carry a (multiples of 4 carry b too); odd ids carry nothing.
    assert p.skipped == 250_000
    assert len(p.batches) == 75
    assert [(len(b.ids), b.tags, b.ids[:2]) for b in p.batches[::25]] == [
        (10_000, None, ("1", "3")),  # odd ids first: "1" comes before "2"
        (10_000, None, ("500001", "500003")),
        (10_000, ("b",), ("2", "6")),
    ]
    assert sum(len(b.ids) for b in p.batches if b.tags == ("b",)) == 250_000
    assert sum(len(b.ids) for b in p.batches if b.tags is None) == 500_000
    assert [b.index for b in p.batches] == list(range(len(p.batches)))


def test_describe_and_frame() -> None:
    p = plan(atlas([str(i) for i in range(12)], tags=("a", "b")), chunk_size=5)
    assert describe(p) == [
        f"add 'a', 'b' to 12 points of Atlas projection {ATLAS_PROJECTION_ID}",
        "3 batches of up to 5 ids, 6 requests to atlas",
    ]
    frame = plan_frame(p)
    assert frame.to_dict("records")[2] == {
        "batch": 2,
        "ids": 2,
        "first id": "10",
        "last id": "11",
        "kinds": "",
        "requests": 2,
    }
    html = plan_html(p)
    assert "<li>3 batches of up to 5 ids, 6 requests to atlas</li>" in html
    assert "<table" in html


def test_curl_uses_the_key_placeholder_and_cuts_ids() -> None:
    p = plan(atlas([str(i) for i in range(100)], tags=("a", "b")))
    commands = to_curl(p, max_ids=3)
    assert len(commands) == 2  # one per tag: Atlas takes a single tag_name
    assert commands[0].startswith("curl -L https://api-atlas.nomic.ai/v1/query/update/tag/ids ")
    assert "-H 'Authorization: Bearer '\"$NOMIC_API_KEY\"" in commands[0]
    assert '"ids": [\n    "0",\n    "1",\n    "2"\n  ]' in commands[0]
    assert '"tag_name": "b"' in commands[1]


def test_curl_for_immuta_shows_one_model_and_escapes_quotes() -> None:
    op = TagOperation("immuta", "remove", ("A.b", "It's"), ["22", "523"], kinds="datasource")
    commands = to_curl(plan(op), base_url="https://immuta.example.com")
    assert commands == [
        "curl -L https://immuta.example.com/tag/datasource/22/A.b \\\n  -X DELETE \\\n"
        "  -H 'Content-Type: application/json' \\\n  -H 'Authorization: '\"$IMMUTA_API_KEY\"",
        "curl -L https://immuta.example.com/tag/datasource/22/It%27s \\\n  -X DELETE \\\n"
        "  -H 'Content-Type: application/json' \\\n  -H 'Authorization: '\"$IMMUTA_API_KEY\"",
    ]
    add = plan(TagOperation("immuta", "add", ("It's",), ["22"], kinds="datasource"))
    assert '-d \'[\n  {\n    "name": "It\'"\'"\'s",' in to_curl(add)[0]
    assert to_curl(add)[0].startswith('curl -L "$IMMUTA_API_URL"/tag/datasource/22 ')


def test_typed_known_state_keeps_immuta_ids_of_different_types_apart() -> None:
    # Immuta ids repeat across model types: project 6 carrying a tag says nothing about
    # data source 6.
    kinds = ["project", "DataSource", None]
    known = pd.DataFrame({"id": ["6", "7", "8"], "tag": ["Confidential"] * 3, "kind": kinds})
    op = TagOperation("immuta", "add", ("Confidential",), ["6", "7", "8", "9"], kinds="datasource")
    p = plan(op, known=known)
    # 6: only the project carries it; 7: the data source does (any spelling); 8: untyped row.
    assert p.batches[0].ids == ("6", "9")
    assert p.skipped == 2
    mixed = TagOperation(
        "immuta", "remove", ("Confidential",), ["6", "7"], kinds=["project", "project"]
    )
    assert plan(mixed, known=known).batches[0].ids == ("6",)  # 7 is a data source's tag
    # Without kinds in the known frame the id alone decides, as before.
    assert plan(op, known=known[["id", "tag"]]).batches[0].ids == ("9",)
    # Atlas has no kinds: a "kind" column is ignored.
    assert plan(atlas(["6", "9"]), known=known.assign(tag="New Tag")).batches[0].ids == ("9",)


def test_per_id_kinds_deduplicate_on_kind_and_id() -> None:
    # Data source 6, project 6 and column 6_countrycode are three models; the repeat of
    # data source 6 (spelled another way) is the only duplicate.
    op = TagOperation(
        "immuta",
        "add",
        ("Confidential",),
        ["6", "6", "6_countrycode", "6", "6"],
        kinds=["datasource", "project", "column", "Data Source", "project"],
    )
    p = plan(op)
    assert (p.batches[0].ids, p.batches[0].kinds) == (
        ("6", "6", "6_countrycode"),
        ("datasource", "project", "column"),
    )
    assert (p.requested, p.to_send) == (3, 3)
    # Known state on (kind, id): project 6 carries the tag, data source 6 is still sent.
    known = pd.DataFrame({"id": ["6"], "tag": ["Confidential"], "kind": ["project"]})
    p = plan(op, known=known)
    assert (p.batches[0].ids, p.batches[0].kinds) == (
        ("6", "6_countrycode"),
        ("datasource", "column"),
    )
    assert (p.requested, p.skipped) == (3, 1)


def test_one_kind_for_all_ids_and_atlas_still_deduplicate_on_id() -> None:
    a, b = nekt_resource_id("tables", 0), nekt_resource_id("tables", 1)
    p = plan(TagOperation("nekt", "add", ("x",), [a, b, a], kinds="tables"))
    assert (p.batches[0].ids, p.requested) == ((a, b), 2)
    assert plan(atlas(["6", "6"])).batches[0].ids == ("6",)


def test_a_million_ids_with_per_id_kinds_keep_repeats_of_other_kinds() -> None:
    ids = np.arange(500_000).astype(str)
    both = pd.Series(np.concatenate([ids, ids, ids[:1000]]))
    kinds = ["datasource"] * 500_000 + ["project"] * 500_000 + ["datasource"] * 1000
    p = plan(TagOperation("immuta", "add", ("Confidential",), both, kinds=kinds))  # type: ignore[arg-type]
    assert (p.requested, p.to_send) == (1_000_000, 1_000_000)
    assert p.batches[-1].kinds is not None and p.batches[-1].kinds[-1] == "project"
