"""Small-cell suppression (mend_audit.reports.suppression): no visible figure counts fewer than
the threshold, and no hidden figure can be worked out from the visible ones, by difference
with the total or through a figure linked to another table. The oracle is a reader who knows
the rules: the visible cells, the total, that zeros are shown (so a hidden cell is at least 1)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from mend_audit.reports.figures import LINKS
from mend_audit.reports.suppression import (
    HIDDEN,
    TOTAL,
    median_if_enough,
    suppress,
    suppress_report,
)

K = 5
counts = st.dictionaries(
    st.sampled_from([f"c{i}" for i in range(7)]), st.integers(0, 40), min_size=1, max_size=7
)


def pinned_down(cells: dict[str, int], published) -> list[str]:
    """The hidden cells a reader can compute: with the total shown, the hidden cells' sum is
    known; each hidden non-zero cell is at least 1, so a cell is fixed when it is the only one
    hidden or when the sum leaves no slack above one per cell."""
    hidden = published.hidden()
    if not hidden or not published.has_total or published.total is HIDDEN:
        return []
    rest = published.total - sum(v for v in published.cells.values() if v is not HIDDEN)
    assert rest == sum(cells[h] for h in hidden)  # what the reader knows is true
    lows = sum(1 for h in hidden if cells[h] > 0)
    if len(hidden) == 1 or rest <= lows:
        return hidden
    return []


@settings(max_examples=400, deadline=None)
@given(counts, st.booleans())
def test_no_visible_small_cell_and_nothing_recoverable_by_difference(cells, with_total):
    published = suppress(cells, K, with_total=with_total)
    for key, value in published.cells.items():
        assert value is HIDDEN or value == cells[key]  # a shown figure is the true count
        assert value is HIDDEN or value == 0 or value >= K, (key, value)
    total = sum(cells.values())
    if with_total:
        assert published.total is HIDDEN or published.total == total
        assert published.total is HIDDEN or published.total == 0 or published.total >= K
        assert pinned_down(cells, published) == []
        hidden = published.hidden()
        if hidden and published.total is not HIDDEN:
            assert sum(cells[h] for h in hidden) >= K
    else:
        assert published.total is None


def test_the_worked_examples():
    # One small cell: the next smallest is hidden with it, so the total cannot give it away.
    p = suppress({"a": 2, "b": 7, "c": 30}, K, with_total=True)
    assert (p.cells, p.total) == ({"a": HIDDEN, "b": HIDDEN, "c": 30}, 39)
    # Two small cells summing to 2 (each must be 1): a third is hidden.
    p = suppress({"a": 1, "b": 1, "c": 6, "d": 9}, K, with_total=True)
    assert p.hidden() == ["a", "b", "c"] and p.total == 17
    # Five cells of 1: their sum, 5, would say each is 1.
    p = suppress({"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 8}, K, with_total=True)
    assert (p.hidden(), p.total) == (["a", "b", "c", "d", "e", "f"], 13)
    # A small total hides everything not zero; zeros stay (they are about nobody).
    p = suppress({"a": 3, "b": 0}, K, with_total=True)
    assert (p.cells, p.total) == ({"a": HIDDEN, "b": 0}, HIDDEN)
    # Without a total only the small cells go.
    assert suppress({"a": 3, "b": 6}, K, with_total=False).cells == {"a": HIDDEN, "b": 6}
    # Nothing small: everything shown.
    assert suppress({"a": 5, "b": 0, "c": 12}, K, with_total=True).hidden() == []


@settings(max_examples=200, deadline=None)
@given(counts, counts)
def test_a_figure_hidden_in_one_table_is_hidden_where_it_is_linked(left, right):
    left, right = dict(left), dict(right)
    right["c0"] = left.setdefault("c0", 0)  # the same number in both tables
    tables = {"l": (left, True), "r": (right, True)}
    links = [(("l", "c0"), ("r", "c0")), (("l", TOTAL), ("r", TOTAL))]
    if sum(left.values()) != sum(right.values()):
        links = links[:1]
    out = suppress_report(tables, K, links)
    for (ta, ka), (tb, kb) in links:
        a = out[ta].total if ka == TOTAL else out[ta].cells[ka]
        b = out[tb].total if kb == TOTAL else out[tb].cells[kb]
        assert (a is HIDDEN) == (b is HIDDEN)
    for name, (cells, _) in tables.items():
        assert pinned_down(cells, out[name]) == []


def test_the_reports_links_name_real_tables_and_cells():
    from mend_audit.reports.figures import fold

    tables = {t.name: t.cells for t in fold([], "agency-a").tables}
    for ref in (ref for link in LINKS for ref in link):
        table, key = ref
        assert table in tables, ref
        assert key == TOTAL or key in tables[table], ref


def test_a_median_of_fewer_than_the_threshold_is_hidden():
    assert median_if_enough([3, 1, 2, 9], K) is HIDDEN
    assert median_if_enough([3, 1, 2, 9, 4], K) == 3
    assert median_if_enough([4, 1, 2, 9, 3, 8], K) == 3
