-- Issue 18: a share grant's terms (purpose, legal basis, categories, event types, validity),
-- as the ConsentGiven v2 event states them; NULL for every other grant and for share grants
-- given before version 2 (they share nothing).
ALTER TABLE {schema}.current_grants ADD COLUMN IF NOT EXISTS share_terms jsonb;
