-- The case directory (mend_events/cases.py): each case's agency, harmed person and members
-- (09_case_members.sql), as the sessions service's case stream says (CaseOpened,
-- ParticipantEnrolled). Every service keeps one, fed by its `sessions` subscription inside the
-- inbox transaction (the sessions service by a projection over its own stream); access to a case
-- is decided on it, never on whoever wrote to the case first. Pseudonymous ids and roles only.
CREATE TABLE IF NOT EXISTS {schema}.case_directory (
    case_id           text PRIMARY KEY,
    agency            text NOT NULL,
    harmed_person_id  text NOT NULL,
    opened_event_id   uuid NOT NULL
);
