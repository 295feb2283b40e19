-- Safety plans the risk service recorded as agreed (SafetyPlanAgreed), learnt through the
-- `risk` subscription: the latest per person (by the risk stream's version). Direct contact
-- waits for the harmed person's (the `safety` gate); a contact meeting's arrangements honour
-- what it asks. Booleans only: the plan's words, and its code word, are never stored.
--
-- Filled from the messages consumed after this migration: a schema that consumed risk events
-- before it learns older plans only by replaying the risk topic.
CREATE TABLE IF NOT EXISTS {schema}.risk_safety_plans (
    case_id                     text    NOT NULL,
    person_id                   text    NOT NULL,
    assessment_id               uuid    NOT NULL,
    separate_arrival_departure  boolean NOT NULL,
    support_person_present      boolean NOT NULL,
    breaks                      boolean NOT NULL,
    stream_version              integer NOT NULL,
    PRIMARY KEY (case_id, person_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.risk_safety_plans TO mend_app;
