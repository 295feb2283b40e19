-- Who is allocated to which case, with its history: one row per allocation, `ended_at` set by
-- the deallocation (or the practitioner's deactivation). The current allocation of a case is
-- its rows without `ended_at`. Keyed by the allocating event, so a redelivery adds nothing.
CREATE TABLE IF NOT EXISTS {schema}.trust_case_allocations (
    allocation_event_id uuid        PRIMARY KEY,
    agency              text        NOT NULL,
    case_id             text        NOT NULL,
    practitioner_id     text        NOT NULL,
    reason              text        NOT NULL,
    allocated_at        timestamptz NOT NULL,
    allocated_by        text        NOT NULL,
    ended_at            timestamptz,
    ended_by            text,
    end_reason          text,
    end_event_id        uuid
);
-- A community volunteer's allocation (issue 21; `practitioner_id` holds the volunteer's id): the
-- part they were allocated for, and the last day the vetting and training it stood on are
-- current (NULL for a practitioner's allocation).
ALTER TABLE {schema}.trust_case_allocations ADD COLUMN IF NOT EXISTS part text;
ALTER TABLE {schema}.trust_case_allocations ADD COLUMN IF NOT EXISTS valid_until date;
CREATE INDEX IF NOT EXISTS trust_case_allocations_current_idx
    ON {schema}.trust_case_allocations (practitioner_id, case_id) WHERE ended_at IS NULL;
CREATE INDEX IF NOT EXISTS trust_case_allocations_case_idx
    ON {schema}.trust_case_allocations (case_id, allocated_at);
