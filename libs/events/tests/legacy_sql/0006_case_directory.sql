-- The case directory (mend_events/cases.py): each case's agency, harmed person and members,
-- as the sessions service's case stream says (CaseOpened, ParticipantEnrolled). Every service
-- keeps one, fed by its `sessions` subscription inside the inbox transaction (the sessions
-- service by a projection over its own stream); access to a case is decided on it, never on
-- whoever wrote to the case first. Pseudonymous ids and roles only.
CREATE TABLE IF NOT EXISTS {schema}.case_directory (
    case_id           text PRIMARY KEY,
    agency            text NOT NULL,
    harmed_person_id  text NOT NULL,
    opened_event_id   uuid NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.case_members (
    case_id          text NOT NULL,
    person_id        text NOT NULL,
    role             text NOT NULL,
    source_event_id  uuid NOT NULL,
    PRIMARY KEY (case_id, person_id)
);
GRANT SELECT, INSERT ON {schema}.case_directory, {schema}.case_members TO mend_app;
