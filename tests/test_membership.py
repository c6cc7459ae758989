"""`tagging.membership.isin` answers exactly as `Series.isin`, whatever the input's type."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tagging import membership
from tagging.membership import first_occurrences, isin, join_codes, positions


def _random_text(rng: np.random.Generator, n: int, missing: float) -> list[object]:
    values: list[object] = [f"id-{v}" for v in rng.integers(0, n, size=n)]
    for i in np.flatnonzero(rng.random(n) < missing):
        values[i] = None if i % 2 else np.nan
    return values


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dtype", ["str", object])
def test_isin_matches_series_isin_on_random_text_with_missing_values(seed: int, dtype: Any):
    rng = np.random.default_rng(seed)
    values = pd.Series(_random_text(rng, 2_000, missing=0.05), dtype=dtype)
    lookup_list = _random_text(rng, 1_500, missing=0.02 if seed % 2 else 0.0)
    lookup = pd.Series(lookup_list, dtype=dtype)
    for given in (lookup, pd.Index(lookup), lookup.to_numpy(), lookup.dropna().tolist()):
        want = values.isin(given).to_numpy()
        got = isin(values, given)
        assert got.dtype == bool
        np.testing.assert_array_equal(got, want)


def test_isin_takes_sets_lists_and_indexes():
    ids = pd.Series(["a", "b", None, "d"], dtype="str")
    assert isin(ids, frozenset({"a", "d"})).tolist() == [True, False, False, True]
    assert isin(pd.Index(["x", "b"]), {"b"}).tolist() == [False, True]
    assert isin(["a", "b"], []).tolist() == [False, False]
    assert isin([], ["a"]).tolist() == []


def test_isin_of_non_text_falls_back_to_pandas():
    numbers = pd.Series([1, 2, 3])
    assert isin(numbers, [2, 3]).tolist() == numbers.isin([2, 3]).tolist()
    mixed = pd.Series(["1", 2, None], dtype=object)
    assert isin(mixed, ["1", 2]).tolist() == mixed.isin(["1", 2]).tolist()
    assert isin(pd.Series(["1", "2"]), [1, "2"]).tolist() == [False, True]


@pytest.mark.parametrize("seed", range(4))
def test_positions_are_first_occurrences_in_the_lookup(seed: int):
    rng = np.random.default_rng(seed)
    values = pd.Series(_random_text(rng, 1_000, missing=0.05), dtype="str")
    lookup = pd.Series(_random_text(rng, 800, missing=0.05), dtype="str")
    first: dict[object, int] = {}
    for i, v in enumerate(lookup.tolist()):
        if isinstance(v, str):
            first.setdefault(v, i)
    expected = [first.get(v, -1) if isinstance(v, str) else -1 for v in values.tolist()]
    assert positions(values, lookup).tolist() == expected
    assert positions(values.tolist(), lookup.to_numpy()).tolist() == expected


def test_positions_of_non_text_fall_back_to_pandas_values():
    assert positions(pd.Series([2, 1, 5]), [1, 1, 2]).tolist() == [2, 0, -1]
    assert positions([], ["a"]).tolist() == []


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dtype", ["str", object])
def test_first_occurrences_match_duplicated(seed: int, dtype: Any):
    rng = np.random.default_rng(seed)
    values = pd.Series(_random_text(rng, 3_000, missing=0.02 * (seed % 2)), dtype=dtype)
    expected = ~values.duplicated(keep="first").to_numpy()
    np.testing.assert_array_equal(first_occurrences(values), expected)
    as_list = values.tolist()
    want = ~pd.Series(as_list).duplicated(keep="first").to_numpy()
    np.testing.assert_array_equal(first_occurrences(as_list), want)


@pytest.mark.parametrize("weak_hash", [False, True])
def test_first_occurrences_by_hash_match_duplicated(weak_hash: bool, monkeypatch):
    """The hashed path (large inputs) gives pandas' answer, also when different ids share a
    hash (a hash of the length only makes every same-length pair collide)."""
    monkeypatch.setattr(membership, "_HASHED_ABOVE", 0)
    if weak_hash:
        monkeypatch.setattr(membership, "_hash64", _length_hash)
    rng = np.random.default_rng(5)
    values = pd.Series(_random_text(rng, 5_000, missing=0.0), dtype="str")
    expected = ~values.duplicated(keep="first").to_numpy()
    assert not expected.all()  # there are repeats to find
    np.testing.assert_array_equal(first_occurrences(values), expected)
    distinct = pd.Series([str(i) for i in range(3_000)], dtype="str")
    assert first_occurrences(distinct).all()


def _length_hash(text: pa.Array) -> np.ndarray:
    return np.asarray(pc.utf8_length(text).to_numpy(zero_copy_only=False), dtype=np.uint64)


def test_first_occurrences_of_empty_and_non_text():
    assert first_occurrences([]).tolist() == []
    assert first_occurrences(pd.Series([3, 1, 3])).tolist() == [True, True, False]


@pytest.mark.parametrize("dtype", ["str", object])
def test_join_codes_in_parts_numbers_like_one_hash_table(dtype: Any) -> None:
    """Split by a hash of their last bytes, both sides get the numbers one table gives."""
    rng = np.random.default_rng(11)
    lookup = pd.Series(_random_text(rng, 3_000, missing=0.02), dtype=dtype)
    values = pd.Series(_random_text(rng, 5_000, missing=0.05), dtype=dtype)
    whole = join_codes(lookup, values, partition_size=10**9)
    parted = join_codes(lookup, values, partition_size=200)
    assert whole[2] == parted[2] == lookup.dropna().nunique()
    # Numbers differ between the two (parts number their values in turn); the pairing may not.
    for codes, value_codes, _ in (whole, parted):
        known = lookup.to_numpy(dtype=object)
        by_code = {int(c): known[i] for i, c in enumerate(codes) if c >= 0}
        assert len(by_code) == whole[2]
        assert ((codes < 0) == lookup.isna().to_numpy()).all()
        found = [by_code.get(int(c)) for c in value_codes]
        want = [v if isinstance(v, str) and v in set(lookup.dropna()) else None for v in values]
        assert found == want
