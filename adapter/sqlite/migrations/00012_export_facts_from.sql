-- The derived facts of an export (socialrx.ExportJob.FactsFrom): which of
-- the types they come from beyond the ServiceRequest (Task: follow-ups and
-- referrals; QuestionnaireResponse: the outcome) the kick-off's client
-- may read, comma-separated. A job recorded before this column has ''
-- and so writes only the ServiceRequest's own facts: the scopes it was
-- kicked off with are not known.

-- +goose Up
ALTER TABLE exports ADD COLUMN facts_from TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE exports DROP COLUMN facts_from;
