-- What the application role mend_app may do; everything else is mend_owner's (the migrator's).
-- The application role reads events and appends only through append_batch (which takes the
-- table lock as the owner): no INSERT, UPDATE, DELETE or TRUNCATE on the table itself.
GRANT USAGE ON SCHEMA {schema} TO mend_app;
REVOKE ALL ON {schema}.events FROM mend_app;
GRANT SELECT ON {schema}.events TO mend_app;
REVOKE ALL ON FUNCTION {schema}.append_batch(text[], integer[], bytea[], integer[], integer[], uuid[], text[], smallint[], text[], text[], text[], timestamptz, bytea[], bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {schema}.append_batch(text[], integer[], bytea[], integer[], integer[], uuid[], text[], smallint[], text[], text[], text[], timestamptz, bytea[], bytea[]) TO mend_app;
GRANT SELECT, INSERT, UPDATE ON {schema}.relay_checkpoint TO mend_app;
GRANT SELECT, INSERT ON {schema}.inbox TO mend_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.projection_tracking TO mend_app;
GRANT SELECT, INSERT ON {schema}.data_keys TO mend_app;
GRANT UPDATE (wrapped_key, shredded_at) ON {schema}.data_keys TO mend_app;
GRANT SELECT, INSERT ON {schema}.case_directory, {schema}.case_members TO mend_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.practitioner_registry TO mend_app;
GRANT SELECT, INSERT ON {schema}.idempotency_keys TO mend_app;
GRANT SELECT, INSERT, UPDATE ON {schema}.trust_agencies, {schema}.trust_agency_keys,
    {schema}.trust_staff, {schema}.trust_case_allocations, {schema}.trust_version TO mend_app;
GRANT SELECT, INSERT ON {schema}.trust_rule_packs TO mend_app;
