-- The members of each case in the case directory (08_case_directory.sql), with their role.
CREATE TABLE IF NOT EXISTS {schema}.case_members (
    case_id          text NOT NULL,
    person_id        text NOT NULL,
    role             text NOT NULL,
    source_event_id  uuid NOT NULL,
    PRIMARY KEY (case_id, person_id)
);
