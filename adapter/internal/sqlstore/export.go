package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
)

// Bulk Data export (socialrx.Exports, ../../../export.go): table exports
// holds each job's request and checkpointed progress; StreamResources reads
// current resources by keyset (id order) in bounded batches.

var _ socialrx.Exports = (*Engine)(nil)

// Stream batches: a batch stops at streamBatchRows rows or once its bodies
// pass streamBatchBytes (one row at least), whichever comes first, so that
// memory stays bounded whatever the bodies' sizes.
const (
	streamBatchRows  = 5000
	streamBatchBytes = 8 << 20
)

const exportCols = `id, owner, level, group_id, types, since, transaction_time, request, facts, status, total, done, cursor, outputs, error, created_at, updated_at, expires_at, facts_from`

// CreateExport records job and enqueues its job in one transaction (see
// socialrx.Exports).
func (e *Engine) CreateExport(ctx context.Context, job *socialrx.ExportJob) error {
	if job.ID == "" || len(job.Types) == 0 {
		return socialrx.Errorf(socialrx.EINTERNAL, "create export: no id or no types")
	}
	job.Status = socialrx.ExportAccepted
	if job.UpdatedAt.IsZero() {
		job.UpdatedAt = job.CreatedAt
	}
	cursor, outputs, err := exportState(job)
	if err != nil {
		return err
	}
	return e.Transact(ctx, func(stx socialrx.Tx) error {
		tx := stx.(*Tx)
		n, err := tx.q.Exec(ctx, `INSERT INTO exports (`+exportCols+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT (id) DO NOTHING`,
			job.ID, job.Owner, job.Level, job.GroupID, strings.Join(job.Types, ","), micros(job.Since), micros(job.TransactionTime),
			job.Request, job.Facts, job.Status, job.Total, job.Done, cursor, outputs, job.Error,
			micros(job.CreatedAt), micros(job.UpdatedAt), micros(job.ExpiresAt), strings.Join(job.FactsFrom, ","))
		if err != nil {
			return fmt.Errorf("create export: %w", e.translate(err))
		}
		if n == 0 {
			return socialrx.Errorf(socialrx.ECONFLICT, "export %s exists", job.ID)
		}
		tx.jobs = append(tx.jobs, ExportJob(job.ID)) // inserted just before the commit
		return nil
	})
}

func exportState(job *socialrx.ExportJob) (cursor, outputs string, err error) {
	c, err := json.Marshal(job.Cursor)
	if err != nil {
		return "", "", err
	}
	outs := job.Outputs
	if outs == nil {
		outs = []socialrx.ExportOutput{}
	}
	o, err := json.Marshal(outs)
	if err != nil {
		return "", "", err
	}
	return string(c), string(o), nil
}

func scanExport(row Row) (*socialrx.ExportJob, error) {
	var (
		j                                    socialrx.ExportJob
		types, cursor, outputs, factsFrom    string
		since, tt, created, updated, expires int64
		facts                                any
	)
	if err := row.Scan(&j.ID, &j.Owner, &j.Level, &j.GroupID, &types, &since, &tt, &j.Request, &facts, &j.Status,
		&j.Total, &j.Done, &cursor, &outputs, &j.Error, &created, &updated, &expires, &factsFrom); err != nil {
		return nil, err
	}
	switch f := facts.(type) { // boolean on PostgreSQL, integer on SQLite
	case bool:
		j.Facts = f
	case int64:
		j.Facts = f != 0
	}
	if types != "" {
		j.Types = strings.Split(types, ",")
	}
	if factsFrom != "" {
		j.FactsFrom = strings.Split(factsFrom, ",")
	}
	j.Since, j.TransactionTime = timeOf(since), timeOf(tt)
	j.CreatedAt, j.UpdatedAt, j.ExpiresAt = timeOf(created), timeOf(updated), timeOf(expires)
	if err := json.Unmarshal([]byte(cursor), &j.Cursor); err != nil {
		return nil, socialrx.Errorf(socialrx.EINTERNAL, "export %s: unreadable cursor", j.ID)
	}
	if err := json.Unmarshal([]byte(outputs), &j.Outputs); err != nil {
		return nil, socialrx.Errorf(socialrx.EINTERNAL, "export %s: unreadable outputs", j.ID)
	}
	return &j, nil
}

// Export returns an export job (see socialrx.Exports).
func (e *Engine) Export(ctx context.Context, id string) (*socialrx.ExportJob, error) {
	j, err := scanExport(e.drv.Reader().QueryRow(ctx, KeyLookup+`SELECT `+exportCols+` FROM exports WHERE id = $1`, id))
	if err != nil {
		err = e.translate(err)
		if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
			return nil, socialrx.Errorf(socialrx.ENOTFOUND, "export %s not found", id)
		}
		return nil, fmt.Errorf("read export %s: %w", id, err)
	}
	return j, nil
}

// SaveExport writes the progress of an unfinished job (see
// socialrx.Exports): one conditional UPDATE, so a job deleted or finished
// meanwhile is left as it is.
func (e *Engine) SaveExport(ctx context.Context, job *socialrx.ExportJob) (bool, error) {
	cursor, outputs, err := exportState(job)
	if err != nil {
		return false, err
	}
	var n int64
	err = e.Transact(ctx, func(stx socialrx.Tx) error {
		tx := stx.(*Tx)
		var err error
		n, err = tx.q.Exec(ctx, `UPDATE exports SET status = $2, total = $3, done = $4, cursor = $5, outputs = $6, error = $7, updated_at = $8, expires_at = $9
WHERE id = $1 AND status IN ($10, $11)`,
			job.ID, job.Status, job.Total, job.Done, cursor, outputs, job.Error, micros(job.UpdatedAt), micros(job.ExpiresAt),
			socialrx.ExportAccepted, socialrx.ExportInProgress)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("save export %s: %w", job.ID, e.translate(err))
	}
	return n > 0, nil
}

// DeleteExport removes the record of a job (see socialrx.Exports).
func (e *Engine) DeleteExport(ctx context.Context, id string) (bool, error) {
	var n int64
	err := e.Transact(ctx, func(stx socialrx.Tx) error {
		var err error
		n, err = stx.(*Tx).q.Exec(ctx, `DELETE FROM exports WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("delete export %s: %w", id, e.translate(err))
	}
	return n > 0, nil
}

// ExpiredExports lists jobs past their expiry (see socialrx.Exports).
func (e *Engine) ExpiredExports(ctx context.Context, now time.Time, limit int) ([]socialrx.ExportJob, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := e.drv.Reader().Query(ctx, `SELECT `+exportCols+` FROM exports WHERE expires_at > 0 AND expires_at <= $1 ORDER BY expires_at, id LIMIT `+strconv.Itoa(limit), micros(now))
	if err != nil {
		return nil, fmt.Errorf("expired exports: %w", e.translate(err))
	}
	defer rows.Close()
	var out []socialrx.ExportJob
	for rows.Next() {
		j, err := scanExport(rows)
		if err != nil {
			return nil, fmt.Errorf("expired exports: %w", e.translate(err))
		}
		out = append(out, *j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("expired exports: %w", e.translate(err))
	}
	return out, nil
}

// ExportIDs lists the ids of every export job (see socialrx.Exports).
func (e *Engine) ExportIDs(ctx context.Context) ([]string, error) {
	rows, err := e.drv.Reader().Query(ctx, `SELECT id FROM exports ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("export ids: %w", e.translate(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("export ids: %w", e.translate(err))
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export ids: %w", e.translate(err))
	}
	return out, nil
}

// streamWhere returns the conditions and arguments of req after the type
// ($1) and the keyset position ($2).
func streamWhere(req socialrx.StreamRequest) (string, []any, error) {
	if len(req.RefIDs) > socialrx.MaxStreamIDs || len(req.IDs) > socialrx.MaxStreamIDs {
		return "", nil, socialrx.Errorf(socialrx.EINVALID, "stream: more than %d ids", socialrx.MaxStreamIDs)
	}
	var w strings.Builder
	args := []any{req.Type, req.AfterID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	in := func(vals []string) string {
		ps := make([]string, len(vals))
		for i, v := range vals {
			ps[i] = arg(v)
		}
		return strings.Join(ps, ", ")
	}
	w.WriteString("type = $1 AND NOT deleted")
	if !req.Since.IsZero() {
		w.WriteString(" AND last_updated > " + arg(toMicros(req.Since)))
	}
	if !req.Until.IsZero() {
		w.WriteString(" AND last_updated <= " + arg(toMicros(req.Until)))
	}
	if req.IDs != nil {
		if len(req.IDs) == 0 {
			w.WriteString(" AND 1 = 0")
		} else {
			w.WriteString(" AND id IN (" + in(req.IDs) + ")")
		}
	}
	if req.RefParams != nil {
		if len(req.RefParams) == 0 || req.RefIDs != nil && len(req.RefIDs) == 0 {
			w.WriteString(" AND 1 = 0")
		} else {
			// The kind as a literal: the reference rows' partial index.
			w.WriteString(" AND id IN (SELECT si.res_id FROM search_index si WHERE si.res_type = $1 AND si.kind = '" + KindReference +
				"' AND si.param IN (" + in(req.RefParams) + ") AND si.ref_type = " + arg(req.RefType))
			if req.RefIDs != nil {
				w.WriteString(" AND si.ref_id IN (" + in(req.RefIDs) + ")")
			}
			w.WriteString(")")
		}
	}
	return w.String(), args, nil
}

// StreamResources calls fn with each resource req selects, in id order,
// one bounded batch per query (see socialrx.Exports). A batch is read to
// the end before fn sees it, so no query is open while fn runs (fn may use
// the store). The next batch is read while fn works through the current
// one (at most two batches in memory), so that the database and the
// caller's writing overlap.
func (e *Engine) StreamResources(ctx context.Context, req socialrx.StreamRequest, fn func(r *socialrx.Resource) error) error {
	where, args, err := streamWhere(req)
	if err != nil {
		return err
	}
	q := `SELECT id, version, last_updated, body FROM resources WHERE ` + where + ` AND id > $2 ORDER BY id LIMIT ` + strconv.Itoa(streamBatchRows)
	type result struct {
		batch []socialrx.Resource
		full  bool
		err   error
	}
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan result, 1)
	defer func() {
		cancel()
		for range batches { // let the reader end
		}
	}()
	go func() {
		defer close(batches)
		for {
			var res result
			res.full, res.err = e.streamBatch(ctx, q, args, req.Type, &res.batch)
			select {
			case batches <- res:
			case <-ctx.Done():
				return
			}
			if res.err != nil || !res.full || len(res.batch) == 0 {
				return
			}
			args[1] = res.batch[len(res.batch)-1].ID
		}
	}()
	for res := range batches {
		if res.err != nil {
			return fmt.Errorf("stream %s: %w", req.Type, res.err)
		}
		for i := range res.batch {
			if err := fn(&res.batch[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// streamBatch reads one batch into *batch; full is true when the batch
// stopped at a limit (rows or bytes), so there may be more.
func (e *Engine) streamBatch(ctx context.Context, q string, args []any, typ string, batch *[]socialrx.Resource) (full bool, err error) {
	rows, err := e.drv.Reader().Query(ctx, q, args...)
	if err != nil {
		return false, e.translate(err)
	}
	defer rows.Close()
	bytes := 0
	for rows.Next() {
		r := socialrx.Resource{Type: typ}
		var lu int64
		if err := rows.Scan(&r.ID, &r.VersionID, &lu, &r.Body); err != nil {
			return false, e.translate(err)
		}
		r.LastUpdated = fromMicros(lu)
		*batch = append(*batch, r)
		bytes += len(r.Body)
		if bytes >= streamBatchBytes {
			return true, nil
		}
	}
	if err := rows.Err(); err != nil {
		return false, e.translate(err)
	}
	return len(*batch) == streamBatchRows, nil
}

// CountResources counts what StreamResources would give (see
// socialrx.Exports).
func (e *Engine) CountResources(ctx context.Context, req socialrx.StreamRequest) (int64, error) {
	req.AfterID = ""
	where, args, err := streamWhere(req)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := e.drv.Reader().QueryRow(ctx, `SELECT count(*) FROM resources WHERE `+where+` AND id > $2`, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", req.Type, e.translate(err))
	}
	return n, nil
}
