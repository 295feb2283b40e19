-- The registry became per agency: its listing and lookups moved to the shared
-- `practitioner_registry` table (mend_events 0006, projection `practitioner_registry`, rebuilt
-- from the store, legacy `registry` stream included). The old all-agency table goes.
DROP TABLE {schema}.practitioners;
DELETE FROM {schema}.projection_tracking WHERE projection = 'practitioners';
