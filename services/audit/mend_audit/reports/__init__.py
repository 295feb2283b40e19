"""Commissioners' reports: figures folded from the replayed events of every service as of a
reporting date (`figures`), made safe to publish by small-cell suppression (`suppression`), and
written as JSON or CSV (`output`). The threshold is that of the rule pack the agency had adopted
by the reporting date (`mend_events.rules`: `reports.min_cell`). Counts of cases and of events,
never of a person: no id, no date of a single case, leaves this package."""
