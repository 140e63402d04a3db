package sqlstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/socialrx/socialrx"
)

// History returns versions newest first (see socialrx.Store): by
// lastUpdated, then seq. The cursor is that pair for the last version of the
// previous page, so pages stay stable while writes continue: new versions
// sort before the first page. Since keeps versions with lastUpdated at or after
// it. A page holds at most Count versions and ends early, one version at
// least, before its bodies pass Options.MaxPageBytes, with Next
// set. History of a single resource that never existed is ENOTFOUND.
func (e *Engine) History(ctx context.Context, req socialrx.HistoryRequest) (*socialrx.HistoryPage, error) {
	count := req.Count
	if count <= 0 {
		count = e.opts.DefaultCount
	}
	count = min(count, e.opts.MaxCount)
	b := &builder{}
	conds := []string{"1 = 1"}
	if req.Type != "" {
		conds = append(conds, "v.type = "+b.arg(req.Type))
		if req.ID != "" {
			conds = append(conds, "v.id = "+b.arg(req.ID))
		}
	}
	if !req.Since.IsZero() {
		conds = append(conds, "v.last_updated >= "+b.arg(toMicros(req.Since)))
	}
	where := strings.Join(conds, " AND ")
	q := e.drv.Reader()
	page := &socialrx.HistoryPage{}
	if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM resource_versions v WHERE "+where, b.args...).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("history: %w", e.translate(err))
	}
	if req.ID != "" && page.Total == 0 && req.Since.IsZero() {
		return nil, socialrx.Errorf(socialrx.ENOTFOUND, "%s/%s not found", req.Type, req.ID)
	}
	if req.Cursor != "" {
		lu, seq, err := decodeHistoryCursor(req.Cursor)
		if err != nil {
			return nil, err
		}
		where += " AND (v.last_updated < " + b.arg(lu) + " OR (v.last_updated = " + b.arg(lu) + " AND v.seq < " + b.arg(seq) + "))"
	}
	rows, err := q.Query(ctx, "SELECT v.type, v.id, v.version, v.last_updated, v.deleted, v.body, v.seq FROM resource_versions v WHERE "+
		where+" ORDER BY v.last_updated DESC, v.seq DESC LIMIT "+strconv.Itoa(count+1), b.args...)
	if err != nil {
		return nil, fmt.Errorf("history: %w", e.translate(err))
	}
	defer rows.Close()
	var lastSeq, lastLU int64
	pageBytes := 0
	for rows.Next() {
		if len(page.Versions) == count {
			page.Next = encodeHistoryCursor(lastLU, lastSeq)
			break
		}
		var r socialrx.Resource
		var lu, seq int64
		if err := rows.Scan(&r.Type, &r.ID, &r.VersionID, &lu, &r.Deleted, &r.Body, &seq); err != nil {
			return nil, fmt.Errorf("history: %w", e.translate(err))
		}
		if r.Deleted {
			r.Body = nil
		}
		// As a search page: a page of large versions ends before their
		// bodies pass MaxPageBytes (one version at least); the next page
		// starts at this version.
		if len(page.Versions) > 0 && pageBytes+len(r.Body) > e.opts.MaxPageBytes {
			page.Next = encodeHistoryCursor(lastLU, lastSeq)
			break
		}
		pageBytes += len(r.Body)
		r.LastUpdated, lastLU, lastSeq = fromMicros(lu), lu, seq
		page.Versions = append(page.Versions, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: %w", e.translate(err))
	}
	return page, nil
}

func encodeHistoryCursor(lu, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("h" + strconv.FormatInt(lu, 10) + "." + strconv.FormatInt(seq, 10)))
}

func decodeHistoryCursor(s string) (lu, seq int64, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && len(raw) > 1 && raw[0] == 'h' {
		a, b, ok := strings.Cut(string(raw[1:]), ".")
		lu, err1 := strconv.ParseInt(a, 10, 64)
		seq, err2 := strconv.ParseInt(b, 10, 64)
		if ok && err1 == nil && err2 == nil {
			return lu, seq, nil
		}
	}
	return 0, 0, socialrx.Errorf(socialrx.EINVALID, "invalid history cursor")
}
