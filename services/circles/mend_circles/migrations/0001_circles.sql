-- The circles service's tables beside its event store.
--
-- 1. Facts from the consent service, written by the inbox consumer in the same transaction as
--    the inbox row (exactly-once effect): circle grants (scope circle:<id>) and whether each
--    responsible person's acknowledgement stands. A grant row's lock is the serialisation point
--    between a join and the withdrawal of the grant it joins under (read_models.CircleConsent).
-- 2. The circle index: a projection over circles' own events (lists; who is in which circle).

CREATE TABLE {schema}.circle_grants (
    grant_id       uuid PRIMARY KEY,
    case_id        text NOT NULL,
    participant_id text NOT NULL,
    circle_id      text NOT NULL,
    given_at       timestamptz NOT NULL,
    expires_at     timestamptz,
    ended_by       uuid  -- the consent event that ended it
);
CREATE INDEX circle_grants_of ON {schema}.circle_grants (circle_id, case_id, participant_id);

CREATE TABLE {schema}.acknowledgements (
    case_id               text NOT NULL,
    responsible_person_id text NOT NULL,
    standing              boolean NOT NULL,
    last_event_id         uuid NOT NULL,
    PRIMARY KEY (case_id, responsible_person_id)
);

CREATE TABLE {schema}.circles (
    circle_id      text PRIMARY KEY,
    agency         text NOT NULL,
    kind           text NOT NULL,
    facilitator_id text NOT NULL,
    closed         boolean NOT NULL DEFAULT false,
    formed_at      timestamptz NOT NULL
);
CREATE INDEX circles_agency ON {schema}.circles (agency);

CREATE TABLE {schema}.circle_members (
    circle_id text NOT NULL,
    person_id text NOT NULL,
    case_id   text NOT NULL,
    seat      integer NOT NULL,
    standing  text NOT NULL,
    PRIMARY KEY (circle_id, person_id)
);
CREATE INDEX circle_members_person ON {schema}.circle_members (person_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.circle_grants TO mend_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.acknowledgements TO mend_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.circles TO mend_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.circle_members TO mend_app;
