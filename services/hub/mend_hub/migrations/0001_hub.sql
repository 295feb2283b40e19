-- The hub's read models beside its event store, fed by the projection `hub_directory` over the
-- hub's own events (rows and position in one transaction; a rebuild resets and refills them).
-- Each case's agency comes from the shared case directory (mend_events store/sql 08, 09), fed
-- by the `sessions` subscription.

-- Every member of staff of every agency: role, status, a practitioner's qualifications.
CREATE TABLE {schema}.staff (
    person_id           text PRIMARY KEY,
    agency_id           text NOT NULL,
    role                text NOT NULL,
    active              boolean NOT NULL,
    rj_trained          boolean,
    sexual_harm_trained boolean,
    level               smallint,
    specialisms         text[] NOT NULL DEFAULT '{}',
    enrolled_at         timestamptz NOT NULL,
    changed_at          timestamptz NOT NULL
);
CREATE INDEX staff_agency ON {schema}.staff (agency_id, role);

-- The allocations in force (an ended one is deleted; the case's stream keeps the history).
CREATE TABLE {schema}.allocations (
    case_id         text NOT NULL,
    practitioner_id text NOT NULL,
    agency_id       text NOT NULL,
    allocated_at    timestamptz NOT NULL,
    allocated_by    text NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (case_id, practitioner_id)
);
CREATE INDEX allocations_practitioner ON {schema}.allocations (practitioner_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.staff TO mend_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.allocations TO mend_app;
