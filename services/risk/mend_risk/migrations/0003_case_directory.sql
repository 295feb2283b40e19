-- Each case's agency now comes from the shared case directory (mend_events migration
-- 0006_case_directory.sql, fed by the same `triggers` subscription): this table is replaced.
DROP TABLE IF EXISTS {schema}.case_agencies;
