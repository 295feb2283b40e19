-- Community team conferences (issue 21) need the harmed person's participation consent: grants
-- of take_part are kept beside the two scopes aftercare already acted on. Grants given before
-- this migration were not kept; they become known when the consent topic is consumed again
-- from its start (a rebuild of the consent facts), or when given again.
ALTER TABLE {schema}.consent_grants DROP CONSTRAINT IF EXISTS consent_grants_scope_check;
ALTER TABLE {schema}.consent_grants ADD CONSTRAINT consent_grants_scope_check
    CHECK (scope IN ('progress_updates', 'outcome_research', 'take_part'));
