-- The sessions service's read models. `{schema}` is the service's schema.
--
-- Learnt from other services through Kafka (reactions `consent` and `risk`, written in the
-- inbox transaction of the message that taught them) and rebuilt only by replaying those topics:
--   consent_grants, acknowledgements, risk_assessments, risk_flags, consumer_positions.
-- Projected from this service's own events (projection runner, rebuilt from the store):
--   practitioners, case_states.

-- Every grant this service has heard of; `ended_by` is the event that ended it (withdrawal,
-- lapse, invalidation). Ended grants stay as tombstones, so a late or repeated message can never
-- bring a grant back.
CREATE TABLE {schema}.consent_grants (
    case_id         text        NOT NULL,
    grant_id        uuid        NOT NULL,
    participant_id  text        NOT NULL,
    scope           text        NOT NULL,
    expires_at      timestamptz,
    ended_by        uuid,
    PRIMARY KEY (case_id, grant_id)
);
CREATE INDEX consent_grants_in_force ON {schema}.consent_grants (case_id, participant_id)
    WHERE ended_by IS NULL;

-- The responsible person's acknowledgement of the harm, as of the latest event about it.
CREATE TABLE {schema}.acknowledgements (
    case_id                text    NOT NULL,
    responsible_person_id  text    NOT NULL,
    standing               boolean NOT NULL,
    stream_version         integer NOT NULL,
    PRIMARY KEY (case_id, responsible_person_id)
);

-- Risk assessments: stage from RiskAssessmentStarted, decision from RiskAssessmentCompleted.
-- The latest completed one (by stream version) governs, if it is a full one and not stale.
CREATE TABLE {schema}.risk_assessments (
    case_id            text    NOT NULL,
    assessment_id      uuid    NOT NULL,
    stage              text,
    completed_version  integer,
    permitted          jsonb,  -- [{"form": ..., "with_responsible_person": bool}, ...]
    valid_until        timestamptz,
    PRIMARY KEY (case_id, assessment_id)
);

-- Risk flags; a severe one unresolved blocks contact (R5).
CREATE TABLE {schema}.risk_flags (
    case_id          text    NOT NULL,
    flag_id          uuid    NOT NULL,
    severity         text,
    raised_event_id  uuid,
    resolved         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (case_id, flag_id)
);

-- How far each subscription has applied each partition (written in the inbox transaction):
-- what the consistency guard compares with the broker's end offsets.
CREATE TABLE {schema}.consumer_positions (
    consumer          text    NOT NULL,
    topic             text    NOT NULL,
    kafka_partition   integer NOT NULL,
    processed_offset  bigint  NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, kafka_partition)
);

-- The practitioner registry, current record per practitioner (projection `practitioners`).
CREATE TABLE {schema}.practitioners (
    practitioner_id      text        PRIMARY KEY,
    rj_trained           boolean     NOT NULL,
    sexual_harm_trained  boolean     NOT NULL,
    level                integer     NOT NULL,
    specialisms          text[]      NOT NULL,
    may_facilitate       boolean     NOT NULL,
    registered_at        timestamptz NOT NULL
);

-- Each case's state as the API shows it (projection `case_states`).
CREATE TABLE {schema}.case_states (
    case_id     text        PRIMARY KEY,
    version     integer     NOT NULL,
    state       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON
    {schema}.consent_grants, {schema}.acknowledgements, {schema}.risk_assessments,
    {schema}.risk_flags, {schema}.consumer_positions, {schema}.practitioners,
    {schema}.case_states
TO mend_app;
