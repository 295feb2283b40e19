-- The practitioner registry as every service knows it: the current entry per (agency,
-- practitioner). Entries belong to one agency; the same practitioner id in another agency is
-- another entry and never changes this one. Written by `mend_events.practitioners
-- .PractitionerDirectory`: in sessions as a projection of its own registry streams, elsewhere
-- from sessions' published PractitionerRegistered (qualifications and pseudonymous ids only).
CREATE TABLE IF NOT EXISTS {schema}.practitioner_registry (
    agency               text        NOT NULL,
    practitioner_id      text        NOT NULL,
    rj_trained           boolean     NOT NULL,
    sexual_harm_trained  boolean     NOT NULL,
    level                integer     NOT NULL,
    specialisms          text[]      NOT NULL,
    may_facilitate       boolean     NOT NULL,
    registered_at        timestamptz NOT NULL,  -- of the current record
    first_registered_at  timestamptz NOT NULL,  -- of this agency's first: who had the id first
    PRIMARY KEY (agency, practitioner_id)
);
-- Where the current record comes from: `registry` (sessions' PractitionerRegistered) or `hub`
-- (the hub's StaffQualificationsRecorded). The newer record wins whichever its source; a rebuild
-- of the sessions projection deletes only its own rows.
ALTER TABLE {schema}.practitioner_registry
    ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'registry';
CREATE INDEX IF NOT EXISTS practitioner_registry_practitioner_id_idx
    ON {schema}.practitioner_registry (practitioner_id);
