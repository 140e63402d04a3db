-- String parameters that are unions of others (fhir/search/union.go):
-- address holds address-city, -state, -postalcode and -country's values,
-- name holds family and given's, Patient and Practitioner phonetic holds
-- name's, Organization name holds phonetic's. Index no longer writes those
-- values twice, and a search on the union parameter reads its parts' rows
-- too. Rows written before this version still hold the duplicates (the
-- searches match the same), so the schema does not change: applying this
-- migration makes Migrate rewrite the index rows of every Location,
-- Organization, Patient and Practitioner from its body, which drops them
-- (sqlstore reindexAfter[10]).

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
