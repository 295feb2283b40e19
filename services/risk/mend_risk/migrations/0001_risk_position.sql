-- The risk service's read model: each case's risk position, kept with its history so the
-- "permits" query answers for any moment (R9). Rebuilt from the events at any time
-- (projection `risk_position`); rows are only ever added or completed, never rewritten.

-- One row per assessment; the completion columns are set when it is completed.
CREATE TABLE {schema}.risk_assessments (
    case_id             text NOT NULL,
    assessment_id       uuid NOT NULL,
    stage               text NOT NULL,
    started_at          timestamptz NOT NULL,
    completed_at        timestamptz,
    -- The completion's global position: orders completions that share an instant.
    completed_position  bigint,
    decision            text,
    reasons             text[],
    signed_off_by       text,
    valid_until         timestamptz,
    PRIMARY KEY (case_id, assessment_id)
);
CREATE INDEX risk_assessments_completed ON {schema}.risk_assessments
    (case_id, completed_position) WHERE completed_at IS NOT NULL;

-- The forms each completed assessment permits.
CREATE TABLE {schema}.risk_permitted_forms (
    case_id                 text NOT NULL,
    assessment_id           uuid NOT NULL,
    form                    text NOT NULL,
    with_responsible_person boolean NOT NULL,
    PRIMARY KEY (case_id, assessment_id, form, with_responsible_person)
);

-- Every flag, with when it was raised and (once) resolved.
CREATE TABLE {schema}.risk_flags (
    case_id      text NOT NULL,
    flag_id      uuid NOT NULL,
    severity     text NOT NULL,
    category     text NOT NULL,
    affects      text,
    raised_by    text NOT NULL,
    raised_at    timestamptz NOT NULL,
    resolved_by  text,
    resolved_at  timestamptz,
    resolution   text,
    PRIMARY KEY (case_id, flag_id)
);

-- Every reassessment made due, and the completion that answered it.
CREATE TABLE {schema}.risk_reassessments (
    case_id           text NOT NULL,
    trigger_event_id  uuid NOT NULL,
    trigger           text NOT NULL,
    due_since         timestamptz NOT NULL,
    answered_at       timestamptz,
    answered_by       uuid,
    PRIMARY KEY (case_id, trigger_event_id)
);

-- The latest safety plan per (assessment, person it was agreed with). Never the code word.
CREATE TABLE {schema}.risk_safety_plans (
    case_id                    text NOT NULL,
    assessment_id              uuid NOT NULL,
    agreed_with                text NOT NULL,
    separate_arrival_departure boolean NOT NULL,
    support_person_present     boolean NOT NULL,
    breaks                     boolean NOT NULL,
    exit_plan                  boolean NOT NULL,
    code_word_set              boolean NOT NULL,
    agreed_at                  timestamptz NOT NULL,
    PRIMARY KEY (case_id, assessment_id, agreed_with)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.risk_assessments, {schema}.risk_permitted_forms,
    {schema}.risk_flags, {schema}.risk_reassessments, {schema}.risk_safety_plans TO mend_app;
