"""Tag names compared as people see them: NFC-normalised before any check, refused when
nothing visible is left, and warned about when they equal an existing tag up to case,
Unicode form or invisible characters (so "needs review" does not quietly become a second
"Needs review").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable

from tagging.errors import InputError

# Characters that draw nothing: format controls (U+200B zero width space, U+2060, U+FEFF),
# separators, combining marks on their own, and letters that are blank by design (fillers).
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cn", "Co", "Cs", "Mn", "Me", "Zs", "Zl", "Zp"}
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e", "\u034f"}
# Bidirectional overrides reorder what a name looks like; other controls break lines/logs.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def clean_tag(tag: str) -> str:
    """The NFC form of a tag name; InputError when it is empty, invisible or has controls."""
    name = unicodedata.normalize("NFC", tag)
    if not name.strip():
        return name  # empty: each provider refuses it in its own words (plan checks after)
    if all(invisible(ch) for ch in name):
        raise InputError(
            f"tag name {code_points(name)} is invisible once normalised: type a visible name"
        )
    bad = next((ch for ch in name if _control(ch)), None)
    if bad is not None:
        raise InputError(
            f"tag name {visible(name)!r} contains the control character {code_points(bad)}: "
            "remove it"
        )
    return name


def twin(tag: str, catalog: Collection[str] | None) -> str | None:
    """The catalog's name that looks the same as `tag` (not `tag` itself), or None."""
    key = fold(tag)
    return next((n for n in catalog or () if n != tag and fold(n) == key), None)


def similar_existing(tags: Iterable[str], catalog: Collection[str] | None) -> list[str]:
    """One warning per tag that is not in the catalog (or among the other tags) as written,
    but equals one there up to case, Unicode form or invisible characters."""
    seen: dict[str, str] = {}
    for name in catalog or ():
        seen.setdefault(fold(name), name)
    known = set(catalog or ())
    out = []
    for tag in tags:
        twin = seen.get(fold(tag))
        if tag not in known and twin is not None and twin != tag:
            out.append(
                f"tag {visible(tag)!r} is not {visible(twin)!r} but differs from it only in "
                f"case, accents' encoding or invisible characters: use {visible(twin)!r} to "
                "tag with the existing one"
            )
        seen.setdefault(fold(tag), tag)
    return out


def fold(name: str) -> str:
    """What two names look like to a person: compatibility form, case folded, invisible
    characters and surrounding spaces dropped."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if not invisible(ch) or ch == " ").strip()


def _control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS


def invisible(ch: str) -> bool:
    return ch in _BLANK_LETTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def code_points(text: str) -> str:
    return " ".join(f"U+{ord(ch):04X}" for ch in text[:8]) + (" ..." if len(text) > 8 else "")


def visible(name: str) -> str:
    """A name for messages: invisible characters shown as <U+200B>."""
    return "".join(f"<{code_points(ch)}>" if _hidden(ch) else ch for ch in name[:80])


def _hidden(ch: str) -> bool:
    """Drawn as nothing even beside other letters (a combining mark is seen on its base)."""
    return ch != " " and invisible(ch) and unicodedata.category(ch) not in ("Mn", "Me")
