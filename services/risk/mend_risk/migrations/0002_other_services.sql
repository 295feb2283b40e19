-- What the risk service learns from other services' events, written by the `triggers`
-- reaction inside its inbox transaction (not projections: the events are not ours).

-- The (case, participant, scope) whose consent was withdrawn or invalidated and not given
-- again: a ConsentGiven that finds its row here is a regrant after a withdrawal. Scopes and
-- pseudonymous ids only; never a reason.
CREATE TABLE {schema}.consent_lost (
    case_id         text NOT NULL,
    participant_id  text NOT NULL,
    scope           text NOT NULL,
    lost_by         text NOT NULL,  -- ConsentWithdrawn or ConsentInvalidated
    lost_event_id   uuid NOT NULL,
    lost_at         timestamptz NOT NULL,
    PRIMARY KEY (case_id, participant_id, scope)
);

-- The agency each case was opened under (sessions' CaseOpened): access decisions for a case
-- whose risk record does not exist yet use it, so no other agency can start that record.
CREATE TABLE {schema}.case_agencies (
    case_id  text PRIMARY KEY,
    agency   text NOT NULL
);

GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.consent_lost TO mend_app;
GRANT SELECT, INSERT ON {schema}.case_agencies TO mend_app;
