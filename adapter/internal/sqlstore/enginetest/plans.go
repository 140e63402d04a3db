package enginetest

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"

	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// PlanCase is a search clause and the partial index of search_index its
// subquery must use (migration 00004 of both stores).
type PlanCase struct {
	Type, Query, Index string
}

// PlanCases cover every index kind and the modifiers that read another
// column of the kind's rows.
var PlanCases = []PlanCase{
	{"Patient", "gender=female", "search_index_token"},
	{"Patient", "identifier=https://health.gov.on.ca/ohip|", "search_index_token"},
	{"Observation", "code:text=food", "search_index_token"},
	{"Patient", "name=tremb", "search_index_value"},
	{"Patient", "name:exact=Tremblay", "search_index_value"},
	// union parameters read param IN (address, address-city, ...)
	{"Patient", "address=toronto", "search_index_value"},
	{"Patient", "address:missing=true", "search_index_value"},
	{"Observation", "subject:Patient.address=toronto", "search_index_value"},
	{"Patient", "birthdate=ge1950-01-01", "search_index_date"},
	{"Patient", "birthdate:missing=true", "search_index_date"},
	{"Observation", "subject=Patient/p1", "search_index_ref"},
	{"Observation", "subject:Patient.name=tremb", "search_index_ref"},
	{"ValueSet", "url=http://socialrx.dev/fhir/ValueSet/need-domain", "search_index_ref"},
	{"Observation", "value-quantity=5", "search_index_number"},
	{"Location", "near=43.65|-79.38|5|km", "search_index_geo"},
	{"HealthcareService", "location.near=43.65|-79.38|5|km", "search_index_geo"},
	{"HealthcareService", "location.near=43.65|-79.38|5|km", "search_index_ref"},
}

// CheckPlans explains the subquery of each PlanCase with explain (which
// returns the plan as text) and fails unless the plan names the case's
// index.
func CheckPlans(t *testing.T, explain func(sql string, args []any) (string, error)) {
	t.Helper()
	for _, c := range PlanCases {
		subs, args, err := sqlstore.MatchSQL(c.Type, c.Query)
		if err != nil || len(subs) != 1 {
			t.Errorf("%s?%s: MatchSQL: %d subqueries, %v", c.Type, c.Query, len(subs), err)
			continue
		}
		plan, err := explain(subs[0], args[0])
		if err != nil {
			t.Errorf("%s?%s: explain: %v", c.Type, c.Query, err)
			continue
		}
		if !strings.Contains(plan, c.Index+" ") && !strings.HasSuffix(plan, c.Index) && !strings.Contains(plan, c.Index+"\n") {
			t.Errorf("%s?%s: the plan does not use %s:\n%s\n%s", c.Type, c.Query, c.Index, subs[0], plan)
		}
	}
}

// OldIndexRows are statements writing a resource and search_index rows of
// every type as the schema before migration 00004 held them (columns as
// fhir/search/index.go fills them); OldIndexKinds is the kind migration
// 00004 must give each parameter's rows (none for _id and _lastUpdated,
// which it drops).
var OldIndexRows = []string{
	`INSERT INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES ('Patient', 'p1', 1, 1700000000000000, false, '{}', 1)`,
	`INSERT INTO search_index (res_type, res_id, param, code) VALUES ('Patient', 'p1', '_id', 'p1')`,
	`INSERT INTO search_index (res_type, res_id, param, low, high) VALUES ('Patient', 'p1', '_lastUpdated', 1700000000000000, 1700000000000000)`,
	`INSERT INTO search_index (res_type, res_id, param, system, code) VALUES ('Patient', 'p1', 'identifier', 'https://health.gov.on.ca/ohip', '1234567890')`,
	`INSERT INTO search_index (res_type, res_id, param, text) VALUES ('Patient', 'p1', 'language', 'french')`,
	`INSERT INTO search_index (res_type, res_id, param, value, exact) VALUES ('Patient', 'p1', 'name', 'tremblay', 'Tremblay')`,
	`INSERT INTO search_index (res_type, res_id, param, low, high) VALUES ('Patient', 'p1', 'birthdate', 1, 2)`,
	`INSERT INTO search_index (res_type, res_id, param, exact, ref_type, ref_id) VALUES ('Patient', 'p1', 'organization', 'Organization/o1', 'Organization', 'o1')`,
	`INSERT INTO search_index (res_type, res_id, param, exact) VALUES ('Patient', 'p1', 'general-practitioner', 'https://elsewhere.example/Practitioner/x')`,
	`INSERT INTO search_index (res_type, res_id, param, number, system, code) VALUES ('Patient', 'p1', 'value-quantity', 5, 'http://unitsofmeasure.org', 'kg')`,
}

// OldIndexKinds: see OldIndexRows.
var OldIndexKinds = map[string]string{
	"identifier": "t", "language": "t", "name": "s", "birthdate": "d",
	"organization": "r", "general-practitioner": "r", "value-quantity": "n",
}

// PreDirectoryRows store, without index rows, a Location with a position
// and a HealthcareService there, as a database before migration 00007
// holds them (their index rows lack near and the directory's parameters;
// none are needed to prove the reindex).
var PreDirectoryRows = []string{
	`INSERT INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES ('Location', 'l1', 1, 1700000000000000, false,
		'{"resourceType":"Location","id":"l1","position":{"latitude":43.65,"longitude":-79.38}}', 1)`,
	`INSERT INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES ('HealthcareService', 'h1', 1, 1700000000000000, false,
		'{"resourceType":"HealthcareService","id":"h1","category":[{"coding":[{"system":"http://socialrx.dev/fhir/CodeSystem/need-domain","code":"food"}]}],"location":[{"reference":"Location/l1"}]}', 2)`,
}

// CheckDirectoryReindexed fails unless the PreDirectoryRows are found by
// near (chained) and need-domain.
func CheckDirectoryReindexed(t *testing.T, s socialrx.Store) {
	t.Helper()
	// Match: the rows were written around the store's version counter,
	// which a page's snapshot reads.
	res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "HealthcareService", Match: true,
		Params: url.Values{"location.near": {"43.651|-79.381|1"}, "need-domain": {"food"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 1 || res.Matches[0].ID != "h1" {
		t.Errorf("after the migration: %d matches, want HealthcareService/h1", len(res.Matches))
	}
}

// PreAvailableRows store, without index rows, a HealthcareService with
// weekly hours (Saturday 09:00-13:00), as a database before migration
// 00009 holds it.
var PreAvailableRows = []string{
	`INSERT INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES ('HealthcareService', 'h9', 1, 1700000000000000, false,
		'{"resourceType":"HealthcareService","id":"h9","availableTime":[{"daysOfWeek":["sat"],"availableStartTime":"09:00:00","availableEndTime":"13:00:00"}]}', 1)`,
}

// CheckAvailableReindexed fails unless the PreAvailableRows service is
// found open on a Saturday at 10:30 and not at 14:00.
func CheckAvailableReindexed(t *testing.T, s socialrx.Store) {
	t.Helper()
	for at, want := range map[string]int{"2026-12-05T10:30": 1, "2026-12-05T14:00": 0} {
		res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: "HealthcareService", Match: true,
			Params: url.Values{"available-at": {at}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Matches) != want {
			t.Errorf("after the migration, available-at=%s: %d matches, want %d", at, len(res.Matches), want)
		}
	}
}

// PreUnionRows store a Location, an Organization, a Patient and a
// Practitioner as a database before migration 00010 holds them, each with
// a stale address row (value "stale") that its body does not hold: only a
// rewrite of its rows from the body removes it.
var PreUnionRows = []string{
	`INSERT INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES ('Location', 'lu', 1, 1700000000000000, false,
		'{"resourceType":"Location","id":"lu","address":{"line":["1 Queen St"],"city":"Toronto"}}', 1)`,
	`INSERT INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES ('Organization', 'ou', 1, 1700000000000000, false,
		'{"resourceType":"Organization","id":"ou","name":"Valley","address":[{"city":"Toronto"}]}', 2)`,
	`INSERT INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES ('Patient', 'pu', 1, 1700000000000000, false,
		'{"resourceType":"Patient","id":"pu","name":[{"family":"Tremblay","given":["Ève"]}],"address":[{"city":"Toronto"}]}', 3)`,
	`INSERT INTO resources (type, id, version, last_updated, deleted, body, seq) VALUES ('Practitioner', 'xu', 1, 1700000000000000, false,
		'{"resourceType":"Practitioner","id":"xu","name":[{"family":"Okafor"}],"address":[{"city":"Toronto"}]}', 4)`,
	`INSERT INTO search_index (res_type, res_id, param, value, exact, kind) VALUES ('Location', 'lu', 'address', 'stale', 'Stale', 's')`,
	`INSERT INTO search_index (res_type, res_id, param, value, exact, kind) VALUES ('Organization', 'ou', 'address', 'stale', 'Stale', 's')`,
	`INSERT INTO search_index (res_type, res_id, param, value, exact, kind) VALUES ('Patient', 'pu', 'address', 'stale', 'Stale', 's')`,
	`INSERT INTO search_index (res_type, res_id, param, value, exact, kind) VALUES ('Practitioner', 'xu', 'address', 'stale', 'Stale', 's')`,
}

// CheckUnionReindexed fails unless the PreUnionRows are found by their
// address (city) and names, and no longer by the stale address row.
func CheckUnionReindexed(t *testing.T, s socialrx.Store) {
	t.Helper()
	for _, c := range []struct {
		typ, param, value string
		want              int
	}{
		{"Location", "address", "toronto", 1}, {"Location", "address", "1 queen", 1}, {"Location", "address", "stale", 0},
		{"Organization", "address", "toronto", 1}, {"Organization", "address", "stale", 0}, {"Organization", "name", "valley", 1},
		{"Patient", "address", "toronto", 1}, {"Patient", "address", "stale", 0}, {"Patient", "name", "eve", 1}, {"Patient", "phonetic", "tremblay", 1},
		{"Practitioner", "address", "toronto", 1}, {"Practitioner", "address", "stale", 0}, {"Practitioner", "name", "okafor", 1},
	} {
		res, err := s.Search(t.Context(), socialrx.SearchRequest{Type: c.typ, Match: true, Params: url.Values{c.param: {c.value}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Matches) != c.want {
			t.Errorf("after the migration, %s?%s=%s: %d matches, want %d", c.typ, c.param, c.value, len(res.Matches), c.want)
		}
	}
}

// ReindexCase is a database left at migration Before with Rows stored
// without index rows; after Migrate, Check fails unless they are found by
// the parameters the later migrations reindexed.
type ReindexCase struct {
	Name   string
	Before int64
	Rows   []string
	Check  func(*testing.T, socialrx.Store)
}

// ReindexCases are the migrations that reindex, for both stores' tests.
var ReindexCases = []ReindexCase{
	{"00007 directory", 6, PreDirectoryRows, CheckDirectoryReindexed},
	{"00009 available-at", 8, PreAvailableRows, CheckAvailableReindexed},
	{"00010 union parameters", 9, PreUnionRows, CheckUnionReindexed},
}

// MigrateWithProgress runs migrate with a socialrx.MigrateProgress in its
// context and checks what it was told: (0, total) first, (total, total)
// last, never backwards, and a total of at least one (every ReindexCase
// stores resources of a type its migration reindexes).
func MigrateWithProgress(t *testing.T, ctx context.Context, migrate func(context.Context) error) {
	t.Helper()
	type call struct{ done, total int }
	var calls []call
	ctx = socialrx.WithMigrateProgress(ctx, func(done, total int) { calls = append(calls, call{done, total}) })
	if err := migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 {
		t.Fatalf("migrate progress: %v, want (0, total) and (total, total) at least", calls)
	}
	total := calls[0].total
	if calls[0].done != 0 || total < 1 || calls[len(calls)-1] != (call{total, total}) {
		t.Errorf("migrate progress: %v, want (0, n) first and (n, n) last, n ≥ 1", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].done < calls[i-1].done || calls[i].total != total {
			t.Errorf("migrate progress went backwards or changed its total: %v", calls)
			break
		}
	}
}
