"""Commissioners' reports: figures folded from the replayed events of every service as of a
reporting date (`figures`), made safe to publish by small-cell suppression (`suppression`), and
written as JSON or CSV (`output`). Counts of cases and of events, never of a person: no id,
no date of a single case, leaves this package."""

# The smallest count a report shows (the agency's rule pack will carry it, issue #21).
MIN_CELL = 5
