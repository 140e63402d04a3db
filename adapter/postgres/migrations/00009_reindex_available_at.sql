-- HealthcareService?available-at (fhir/search/available.go) reads the
-- programs' weekly hours from search_index date rows that HealthcareServices
-- written before this version lack. The schema does not change: applying
-- this migration makes Migrate rewrite the index rows of every
-- HealthcareService from its body (sqlstore reindexAfter[9]).

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
