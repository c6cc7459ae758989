"""Principle 3 of the reliability corpus: names and ids are validated after Unicode
normalisation. Tag names are NFC-normalised; a name with nothing visible left, or with
control characters, is refused; a name equal to an existing tag up to case, Unicode form or
invisible characters gets a warning naming that tag; numeric ids are ASCII digits only.
"""

from __future__ import annotations

import pytest
from cli_support import P, run_cli
from conftest import Sandbox

from tagging.demo import nekt_resource_id
from tagging.errors import InputError
from tagging.plan import plan
from tagging.values import TagOperation

TABLE = nekt_resource_id("tables", 1)


def atlas(tags: tuple[str, ...], projection: str = P) -> TagOperation:
    return TagOperation("atlas", "add", tags, ["1"], {"projection_id": projection})


def nekt(tags: tuple[str, ...]) -> TagOperation:
    return TagOperation("nekt", "add", tags, [TABLE], {}, kinds="tables")


def immuta(
    ids: list[str], kind: str = "datasource", tags: tuple[str, ...] = ("A.B",)
) -> TagOperation:
    return TagOperation("immuta", "add", tags, ids, {}, kinds=kind)


INVISIBLE = {
    "zero-width-space": "\u200b",
    "zero-width-mix": "\u200b\u200c\u200d\u2060\ufeff",
    "hangul-filler": "\u3164",
    "braille-blank": "\u2800",
    "combining-mark-alone": "\u0301",
    "word-joiner-and-space": " \u2060 ",
    "soft-hyphen": "\u00ad",
}
CONTROLS = {
    "line-break": "Needs\nreview",
    "nul": "Needs\x00review",
    "escape": "\x1b[31mred",
    "right-to-left-override": "review\u202edeen",
    "tab": "a\tb",
}


@pytest.mark.parametrize("make", [atlas, nekt], ids=["atlas", "nekt"])
@pytest.mark.parametrize("name", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_names_are_refused(make, name: str) -> None:
    with pytest.raises(InputError, match="invisible once normalised|must not be empty"):
        plan(make((name,)))


@pytest.mark.parametrize("name", CONTROLS.values(), ids=CONTROLS.keys())
def test_names_with_control_characters_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="contains the control character U\\+"):
        plan(atlas((name,)))


def test_names_are_nfc_normalised_and_forms_of_one_name_are_one_tag() -> None:
    decomposed, composed = "Cafe\u0301", "Caf\u00e9"
    p = plan(atlas((decomposed, composed)))
    assert p.operation.tags == (composed,)


# (tag typed, catalog, the existing name a warning must name, or None for no warning)
SIMILAR = [
    ("needs review", ["Needs review"], "Needs review"),
    ("NEEDS REVIEW", ["Needs review"], "Needs review"),
    ("Caf\u00e9", ["Cafe\u0301"], "Cafe\u0301"),
    ("\uff2e\uff45\uff45\uff44\uff53 review", ["Needs review"], "Needs review"),  # fullwidth
    ("Needs\u200breview", ["Needsreview"], "Needsreview"),
    ("Needs review ", ["Needs review"], "Needs review"),
    ("Needs review", ["Needs review"], None),
    ("Cafe\u0301", ["Caf\u00e9"], None),  # the same name once normalised
    ("Other", ["Needs review"], None),
]


@pytest.mark.parametrize(("tag", "catalog", "existing"), SIMILAR)
def test_names_equal_to_an_existing_tag_up_to_case_or_form_warn(
    tag: str, catalog: list[str], existing: str | None
) -> None:
    warnings = [w for w in plan(nekt((tag,)), catalog=catalog).warnings if "differs" in w]
    if existing is None:
        assert warnings == []
    else:
        [warning] = warnings
        assert repr(existing) in warning or existing.replace("\u200b", "") in warning


def test_two_tags_of_one_operation_that_look_the_same_warn() -> None:
    [warning] = plan(nekt(("Review", "review")), catalog=[]).warnings
    assert "'review'" in warning and "'Review'" in warning


def test_immuta_names_the_near_existing_tag_it_lacks() -> None:
    with pytest.raises(InputError, match="did you mean 'A.B'"):
        plan(immuta(["6"], tags=("a.b",)), catalog=["A.B"])


NOT_ASCII_DIGITS = {
    "fullwidth": "\uff16",
    "arabic-indic": "\u0663",
    "devanagari": "\u096c",
    "superscript": "\u00b2",
    "mixed": "2\uff12",
    "trailing-zero-width": "6\u200b",
}


@pytest.mark.parametrize("kind", ["datasource", "project"])
@pytest.mark.parametrize("value", NOT_ASCII_DIGITS.values(), ids=NOT_ASCII_DIGITS.keys())
def test_immuta_numeric_ids_are_ascii_digits_only(kind: str, value: str) -> None:
    with pytest.raises(InputError, match=f"Immuta {kind} id .* is not valid"):
        plan(immuta([value], kind))


def test_immuta_column_ids_start_with_ascii_digits() -> None:
    with pytest.raises(InputError, match="Immuta column id"):
        plan(immuta(["\uff16_countrycode"], "column"))
    assert plan(immuta(["6_countrycode"], "column")).to_send == 1


@pytest.mark.parametrize(
    "projection",
    [P.replace("5", "\uff15"), "{" + P + "}", "urn:uuid:" + P, P.replace("0", "\u0660")],
)
def test_atlas_projection_ids_are_ascii_uuids(projection: str) -> None:
    with pytest.raises(InputError, match="is not a UUID"):
        plan(atlas(("T",), projection))


def test_cli_refuses_an_invisible_tag_in_one_line(sandbox: Sandbox, tmp_path) -> None:
    journal = str(tmp_path / "j.db")
    done = run_cli(sandbox, "push", "--provider", "atlas", "--projection-id", P,
                   "--tag", "\u200b", "--ids", "1", "--journal", journal)  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr == "error: tag name U+200B is invisible once normalised: type a visible name\n"
    )
    assert sandbox.state()["atlas"].get(P, {}) == {}
