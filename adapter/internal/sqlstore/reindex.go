package sqlstore

import (
	"context"
	"fmt"

	"github.com/socialrx/socialrx"
)

// reindexBatch is how many resources Reindex rewrites per transaction.
const reindexBatch = 500

// reindexAfter names, per migration, the resource types whose index rows
// it needs rewritten from their bodies: the migration adds search
// parameters (or an index kind) that rows written before it lack, or
// stops writing rows that those hold.
var reindexAfter = map[int64][]string{
	7: {"HealthcareService", "Location"}, // the program directory's parameters and near (issue 14)
	9: {"HealthcareService"},             // available-at (open at a moment, by the weekly hours)
	// union parameters (address, name, phonetic): drops the rows that
	// repeat address-*, family, given (fhir/search/union.go)
	10: {"Location", "Organization", "Patient", "Practitioner"},
}

// ReindexAfterMigrations rewrites the index rows of the types the applied
// migrations (their versions) need reindexed (reindexAfter). The stores'
// Migrate calls it after their migrations ran.
func (e *Engine) ReindexAfterMigrations(ctx context.Context, applied []int64) error {
	var types []string
	seen := map[string]bool{}
	for _, v := range applied {
		for _, t := range reindexAfter[v] {
			if !seen[t] {
				seen[t] = true
				types = append(types, t)
			}
		}
	}
	if len(types) == 0 {
		return nil
	}
	// How many: the migration's caller shows progress (a clinic's
	// database may hold a million Patients; each batch is a transaction).
	// A new database has nothing to reindex: no transaction at all.
	b := &builder{}
	var total int
	if err := e.drv.Reader().QueryRow(ctx, "SELECT COUNT(*) FROM resources WHERE type IN ("+b.argList(types)+") AND NOT deleted", b.args...).Scan(&total); err != nil {
		return e.translate(err)
	}
	if total == 0 {
		return nil
	}
	progress := socialrx.MigrateProgressFrom(ctx)
	progress(0, total)
	done := 0
	return e.reindex(ctx, func(n int) {
		done += n
		progress(min(done, total), total)
	}, types...)
}

// Reindex rewrites the search index rows of every current, live resource
// (of the given types; of all when none are given) from its stored body,
// for when the search-parameter table changed. It works in batches of one
// transaction each, in (type, id) order, so it can run beside normal
// traffic: a resource written meanwhile gets its rows from its own write,
// and rewriting it again gives the same rows.
func (e *Engine) Reindex(ctx context.Context, types ...string) error {
	return e.reindex(ctx, func(int) {}, types...)
}

// reindex is Reindex telling batch how many resources each batch rewrote.
func (e *Engine) reindex(ctx context.Context, batch func(n int), types ...string) error {
	lastType, lastID := "", ""
	for {
		n := 0
		err := e.Transact(ctx, func(stx socialrx.Tx) error {
			tx := stx.(*Tx)
			n = 0
			q, args := `SELECT type, id, body FROM resources WHERE (type > $1 OR (type = $1 AND id > $2)) AND NOT deleted`, []any{lastType, lastID}
			if len(types) > 0 {
				b := &builder{args: args}
				q += " AND type IN (" + b.argList(types) + ")"
				args = b.args
			}
			rows, err := tx.q.Query(ctx, q+` ORDER BY type, id LIMIT `+fmt.Sprint(reindexBatch), args...)
			if err != nil {
				return e.translate(err)
			}
			type item struct {
				typ, id string
				body    []byte
			}
			var items []item
			for rows.Next() {
				var it item
				if err := rows.Scan(&it.typ, &it.id, &it.body); err != nil {
					rows.Close()
					return e.translate(err)
				}
				items = append(items, it)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return e.translate(err)
			}
			var all []IndexRow
			for _, it := range items {
				entries, err := e.opts.Index(it.typ, it.body)
				if err != nil {
					return fmt.Errorf("%s/%s: %w", it.typ, it.id, socialrx.Errorf(socialrx.EINTERNAL, "stored body cannot be indexed"))
				}
				// The derived parameters' rows are the workflow's facts
				// (PutFacts), not the body's: they are kept.
				q, args := `DELETE FROM search_index WHERE res_type = $1 AND res_id = $2`, []any{it.typ, it.id}
				for _, p := range derivedParams(it.typ) {
					args = append(args, p)
					q += fmt.Sprintf(" AND param <> $%d", len(args))
				}
				if _, err := tx.q.Exec(ctx, q, args...); err != nil {
					return e.translate(err)
				}
				all = appendPackedRows(all, it.typ, it.id, entries)
			}
			if len(all) > 0 {
				if err := tx.q.InsertIndex(ctx, all); err != nil {
					return e.translate(err)
				}
			}
			n = len(items)
			if n > 0 {
				lastType, lastID = items[n-1].typ, items[n-1].id
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		batch(n)
		if n < reindexBatch {
			return nil
		}
	}
}
