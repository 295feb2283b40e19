-- The rule packs each agency adopted (mend_events.rules), as the hub's RulePackAdopted events
-- made them known here: the pack in force at a moment is the latest adopted by then. Keyed by
-- the adopting event, so a redelivery writes the same row.
CREATE TABLE IF NOT EXISTS {schema}.trust_rule_packs (
    source_event_id uuid        PRIMARY KEY,
    agency          text        NOT NULL,
    pack_ref        text        NOT NULL,
    since           timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS trust_rule_packs_agency ON {schema}.trust_rule_packs (agency, since);
