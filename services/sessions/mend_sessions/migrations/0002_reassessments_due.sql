-- Reassessments the risk service recorded as due (RiskReassessmentDue), learnt through the
-- `risk` subscription. One row per trigger, as the risk domain folds them (a trigger is due
-- once). A row whose `due_version` is above the case's latest `risk_assessments.
-- completed_version` is not answered yet: the assessment before it is not current (R4), so the
-- risk gate refuses scheduling and starting until an assessment is completed again.
--
-- Filled from the messages consumed after this migration: a schema that consumed risk events
-- before it learns older due reassessments only by replaying the risk topic.
CREATE TABLE {schema}.risk_reassessments_due (
    case_id           text        NOT NULL,
    trigger_event_id  uuid        NOT NULL,
    trigger           text        NOT NULL,
    due_version       integer     NOT NULL,  -- the risk stream's version of the due event
    due_since         timestamptz NOT NULL,  -- its occurred_at
    due_event_id      uuid        NOT NULL,
    PRIMARY KEY (case_id, trigger_event_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.risk_reassessments_due TO mend_app;
