-- The web app's case index (mend_web.index): a projection of the five services' topics, so the
-- pages' lists and searches never fan out to every service. Pseudonymous ids, codes and times
-- only. `entry` is the fold's state (mend_web.index.model); the other tables are derived from
-- it on every change, for the queries. Rebuilt by replaying the topics (python -m
-- mend_web.index rebuild): the rows are deleted and the generation moves on, so the app's next
-- consumer is a new group (`web.index.g<generation>`) that reads every topic from the start.

CREATE TABLE IF NOT EXISTS {schema}.case_index (
    case_id        text        PRIMARY KEY,
    agency         text,
    opened         boolean     NOT NULL DEFAULT false,
    stage          text,
    harm_category  text,
    gates          text[]      NOT NULL DEFAULT '{}',
    next_due       timestamptz,
    last_activity  timestamptz,
    entry          jsonb       NOT NULL
);
-- The agency's cases latest first (a coordinator's search): read in index order, never sorted.
CREATE INDEX IF NOT EXISTS case_index_agency
    ON {schema}.case_index (agency, last_activity DESC NULLS LAST, case_id);

CREATE TABLE IF NOT EXISTS {schema}.case_index_staff (
    agency          text NOT NULL,
    practitioner_id text NOT NULL,
    case_id         text NOT NULL,
    PRIMARY KEY (agency, practitioner_id, case_id)
);
CREATE INDEX IF NOT EXISTS case_index_staff_case ON {schema}.case_index_staff (case_id);

CREATE TABLE IF NOT EXISTS {schema}.case_index_participants (
    agency    text NOT NULL,
    person_id text NOT NULL,
    case_id   text NOT NULL,
    role      text,
    PRIMARY KEY (agency, person_id, case_id)
);
CREATE INDEX IF NOT EXISTS case_index_participants_case
    ON {schema}.case_index_participants (case_id);

CREATE TABLE IF NOT EXISTS {schema}.case_index_due (
    case_id text        NOT NULL,
    kind    text        NOT NULL,
    ref     text        NOT NULL,
    due_at  timestamptz NOT NULL,
    PRIMARY KEY (case_id, kind, ref)
);
CREATE INDEX IF NOT EXISTS case_index_due_when ON {schema}.case_index_due (case_id, due_at);

CREATE TABLE IF NOT EXISTS {schema}.case_index_generation (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    generation integer NOT NULL
);
INSERT INTO {schema}.case_index_generation (generation) VALUES (1) ON CONFLICT DO NOTHING;
GRANT SELECT, UPDATE ON {schema}.case_index_generation TO mend_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.case_index, {schema}.case_index_staff,
    {schema}.case_index_participants, {schema}.case_index_due TO mend_app;
