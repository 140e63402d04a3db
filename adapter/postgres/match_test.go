package postgres

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/sqlstore"
)

// TestMatchTokenPlan: the query of function match_token (migration 00011),
// planned as the function plans it (a generic plan, sequential scans off),
// looks up the token partial index on all four columns and then each
// resource by its primary key (not every resource of the type), on an
// empty database (where a generic plan made at the first call of a new
// connection would be made) and on a filled and analyzed one. The query is
// read from the function as installed, its arguments made parameters.
func TestMatchTokenPlan(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	ctx := context.Background()
	var src string
	if err := s.pool.QueryRow(ctx, `SELECT prosrc FROM pg_proc WHERE proname = 'match_token'`).Scan(&src); err != nil {
		t.Fatalf("function match_token: %v", err)
	}
	m := regexp.MustCompile(`(?s)RETURN QUERY(.*?);`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("no RETURN QUERY in match_token: %s", src)
	}
	query := strings.NewReplacer("p_type", "$1", "p_param", "$2", "p_system", "$3", "p_code", "$4").Replace(m[1])
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, set := range []string{"SET plan_cache_mode = force_generic_plan", "SET enable_seqscan = off",
		"PREPARE mt(text, text, text, text) AS " + query} {
		if _, err := conn.Exec(ctx, set); err != nil {
			t.Fatalf("%s: %v", set, err)
		}
	}
	defer func() {
		_, _ = conn.Exec(ctx, "DEALLOCATE mt")
		_, _ = conn.Exec(ctx, "RESET ALL")
	}()
	check := func(when string) {
		t.Helper()
		rows, err := conn.Query(ctx, "EXPLAIN EXECUTE mt('Patient', 'identifier', 'https://x.example/p', '1')")
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		rows.Close()
		p := plan.String()
		if !strings.Contains(p, "$1") {
			t.Errorf("%s: the plan is not generic (no $1):\n%s", when, p)
		}
		// The ids from the token index on all four columns, then each
		// resource by its whole key; never the resources of a type.
		token := regexp.MustCompile(`search_index_token on search_index si[^\n]*\n\s*Index Cond: \(\(res_type = \$1\) AND \(param = \$2\) AND \(code = \$4\) AND \(system = \$3\)\)`)
		byKey := regexp.MustCompile(`resources_pkey on resources x[^\n]*\n\s*Index Cond: \(\(type = \$1\) AND \(id = si\.res_id\)\)`)
		p = strings.NewReplacer("($1)::text", "$1", "::text", "").Replace(p)
		if !token.MatchString(p) || !byKey.MatchString(p) || strings.Contains(p, "Seq Scan") || strings.Contains(p, "Bitmap") {
			t.Errorf("%s: want the token index on all its columns, then each resource by its key:\n%s", when, p)
		}
	}
	check("empty")
	for i := range 300 {
		err := s.Transact(ctx, func(tx socialrx.Tx) error {
			_, err := tx.Create(ctx, "Patient", fmt.Sprint("p", i),
				[]byte(fmt.Sprintf(`{"resourceType":"Patient","identifier":[{"system":"https://x.example/p","value":"%d"}],"gender":"female"}`, i)))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	check("300 patients")
}

// TestMatchTokenCalled: a conditional match of identifier=system|value
// runs function match_token, any other condition the general query: with
// the function dropped, the first fails and the others still answer.
func TestMatchTokenCalled(t *testing.T) {
	s := openTest(t, sqlstore.Options{})
	ctx := context.Background()
	if err := s.Transact(ctx, func(tx socialrx.Tx) error {
		_, err := tx.Create(ctx, "Patient", "p1", []byte(`{"resourceType":"Patient","identifier":[{"system":"https://x.example/p","value":"1"}]}`))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	match := func(cond string) (*socialrx.SearchResult, error) {
		return s.Search(ctx, socialrx.SearchRequest{Type: "Patient", Match: true, Strict: true, Params: url.Values{"identifier": {cond}}})
	}
	if res, err := match("https://x.example/p|1"); err != nil || len(res.Matches) != 1 {
		t.Fatalf("with the function: %v, %v; want one match", res, err)
	}
	if _, err := s.pool.Exec(ctx, "DROP FUNCTION match_token"); err != nil {
		t.Fatal(err)
	}
	if _, err := match("https://x.example/p|1"); err == nil || !strings.Contains(err.Error(), "match_token") {
		t.Errorf("system|value without the function: %v, want an error naming match_token", err)
	}
	for _, cond := range []string{"1", "https://x.example/p|", "https://x.example/p|1,https://x.example/p|2"} {
		if res, err := match(cond); err != nil || len(res.Matches) != 1 {
			t.Errorf("%s without the function: %v, %v; want one match by the general query", cond, res, err)
		}
	}
}
