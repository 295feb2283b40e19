"""Small-cell suppression: no published figure lets a reader learn something about fewer than
`threshold` people, directly or by difference.

A table is a partition (every case or event counted in exactly one cell) with its total, or a
list of counts without one. The rules, in order:

1. A total under the threshold (but not zero) hides the whole table: the total and every
   non-zero cell.
2. Primary: every cell counting 1 to threshold-1 is hidden.
3. Secondary, where the total is shown: a reader knows the hidden cells' sum (the total minus
   the visible cells), and that a hidden cell is not zero (zeros are shown). While exactly one
   cell is hidden, or the hidden cells sum to less than the threshold, or to no more than
   one per hidden cell (five hidden cells summing to 5 are five ones), the smallest visible
   non-zero cell is hidden too; when no cell is left to hide, the total is hidden.

Zero is shown: it says that nothing of a kind happened, about nobody.

Tables of one report are not independent: the same number may appear in two of them (the
halts by stage and by cause share their total; the invitations not taken up are a cell of two
tables). Such figures are declared as links, and a figure hidden in one table is hidden in
every table it is linked to, with each table's rules applied again until nothing changes
(`suppress_report`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

HIDDEN = None  # a suppressed figure; output renders it as the threshold's words


@dataclass(frozen=True)
class Published:
    """A table as it may be published: each cell its count or HIDDEN, the total likewise."""

    cells: dict[str, int | None]
    total: int | None
    has_total: bool

    def hidden(self) -> list[str]:
        return [key for key, value in self.cells.items() if value is HIDDEN]


TOTAL = "__total__"  # names a table's total in a link


def suppress(
    cells: Mapping[str, int],
    threshold: int,
    *,
    with_total: bool,
    forced: Iterable[str] = (),
) -> Published:
    """`cells` (a partition when `with_total`) as they may be published; `forced` names cells
    (or TOTAL) hidden whatever their count, because a linked figure is hidden elsewhere."""
    if threshold < 1:
        raise ValueError("the threshold is at least 1")
    forced = set(forced)
    total = sum(cells.values())
    hidden = {key for key, n in cells.items() if 0 < n < threshold or key in forced}
    total_hidden = TOTAL in forced
    if with_total and 0 < total < threshold:
        hidden = {key for key, n in cells.items() if n > 0}
        total_hidden = True
    elif with_total and not total_hidden:
        while hidden and _guessable(cells, hidden, threshold):
            visible = sorted((n, key) for key, n in cells.items() if key not in hidden and n > 0)
            if not visible:
                total_hidden = True
                break
            hidden.add(visible[0][1])
    published = {key: (HIDDEN if key in hidden else n) for key, n in cells.items()}
    shown_total = (HIDDEN if total_hidden else total) if with_total else None
    return Published(published, shown_total, with_total)


def _guessable(cells: Mapping[str, int], hidden: set[str], threshold: int) -> bool:
    """Whether a reader who knows the hidden cells' sum could pin one of them down."""
    total = sum(cells[key] for key in hidden)
    non_zero = sum(1 for key in hidden if cells[key] > 0)
    return len(hidden) == 1 or total < threshold or total <= non_zero


def median_if_enough(values: list[int], threshold: int) -> int | None:
    """The median (the lower middle, an integer) of at least `threshold` values, else HIDDEN:
    a median of three says too much about each of them."""
    if len(values) < threshold or not values:
        return HIDDEN
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


Link = tuple[tuple[str, str], tuple[str, str]]  # (table, cell or TOTAL) twice: equal figures


def suppress_report(
    tables: Mapping[str, tuple[Mapping[str, int], bool]],
    threshold: int,
    links: Iterable[Link] = (),
) -> dict[str, Published]:
    """Every table of a report (name -> (cells, with_total)) as it may be published, hidden
    figures carried across `links` until a fixpoint."""
    links = list(links)
    forced: dict[str, set[str]] = {name: set() for name in tables}
    while True:
        out = {
            name: suppress(cells, threshold, with_total=total, forced=forced[name])
            for name, (cells, total) in tables.items()
        }
        changed = False
        for a, b in links:
            if _is_hidden(out, a) != _is_hidden(out, b):
                for table, key in (a, b):
                    if key not in forced[table]:
                        forced[table].add(key)
                        changed = True
        if not changed:
            return out


def _is_hidden(out: Mapping[str, Published], ref: tuple[str, str]) -> bool:
    table, key = ref
    published = out[table]
    if key == TOTAL:
        return published.has_total and published.total is HIDDEN
    return published.cells.get(key, 0) is HIDDEN
