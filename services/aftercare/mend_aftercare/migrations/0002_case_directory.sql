-- Each case's agency and harmed person now come from the shared case directory (mend_events
-- migration 0006_case_directory.sql, fed by the same `sessions` subscription): replaced.
DROP TABLE IF EXISTS {schema}.case_people;
