-- The aftercare service's tables beside its event store.
--
-- 1. Facts from other services, written by the inbox consumers in the same transaction as the
--    inbox row (exactly-once effect): who each case's harmed person is (sessions), and which
--    progress_updates / outcome_research grants are in force (consent).
-- 2. The progress-update outbox, fed by the projection `progress_outbox` over aftercare's own
--    events: share requests (one per commitment status change) and deliveries (one per
--    ProgressUpdateShared). Deliveries are a record of what reached the harmed person or was
--    withheld: never deleted, never reset by a rebuild.

-- The harmed person of each case, from CaseOpened (or InvitationRecorded) in sessions.
CREATE TABLE {schema}.case_people (
    case_id          text PRIMARY KEY,
    harmed_person_id text NOT NULL,
    agency           text NOT NULL,
    source_event_id  uuid NOT NULL
);

-- One row per (case, participant) seen in consent events. Its row lock is the serialisation
-- point between a consent change and a progress-update delivery: the consent consumer locks it
-- (upsert) before changing that participant's grants; a delivery locks it FOR SHARE before
-- reading them, in the same transaction that marks the delivery sent or withheld.
CREATE TABLE {schema}.consent_subjects (
    case_id          text NOT NULL,
    participant_id   text NOT NULL,
    participant_role text,
    last_event_id    uuid NOT NULL,
    changed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, participant_id)
);

-- Grants in force of the two scopes aftercare acts on; other scopes are not aftercare's to know.
CREATE TABLE {schema}.consent_grants (
    case_id        text NOT NULL,
    grant_id       uuid NOT NULL,
    participant_id text NOT NULL,
    scope          text NOT NULL CHECK (scope IN ('progress_updates', 'outcome_research')),
    given_at       timestamptz NOT NULL,
    expires_at     timestamptz,
    PRIMARY KEY (case_id, grant_id)
);
CREATE INDEX consent_grants_subject ON {schema}.consent_grants (case_id, participant_id, scope);

-- A commitment's status change, waiting to be decided as a progress update (or not).
CREATE TABLE {schema}.share_requests (
    cause_event_id  uuid PRIMARY KEY,  -- the CommitmentProgressed/Completed/NotCompleted event
    global_position bigint NOT NULL,
    case_id        text NOT NULL,
    commitment_id  uuid NOT NULL,
    status         text NOT NULL,
    correlation_id uuid NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    done_at        timestamptz
);
CREATE INDEX share_requests_pending ON {schema}.share_requests (global_position)
    WHERE done_at IS NULL;

-- A progress update released by the domain, and what became of it at the moment of delivery.
CREATE TABLE {schema}.deliveries (
    delivery_id         uuid PRIMARY KEY,  -- the ProgressUpdateShared event id
    case_id             text NOT NULL,
    harmed_person_id    text NOT NULL,
    commitment_id       uuid NOT NULL,
    status              text NOT NULL,
    commitment_revision integer NOT NULL,
    shared_at           timestamptz NOT NULL,
    state               text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sent', 'withheld')),
    withheld_because    text,
    decided_at          timestamptz
);
CREATE INDEX deliveries_pending ON {schema}.deliveries (shared_at) WHERE state = 'pending';
CREATE INDEX deliveries_recipient ON {schema}.deliveries (case_id, harmed_person_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.case_people TO mend_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.consent_subjects TO mend_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.consent_grants TO mend_app;
-- The outbox is history: no DELETE for the application.
GRANT SELECT, INSERT, UPDATE ON {schema}.share_requests TO mend_app;
GRANT SELECT, INSERT, UPDATE ON {schema}.deliveries TO mend_app;
