package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// exported is what a bulk read moved.
type exported struct {
	resources, bytes int64
	took             time.Duration
}

func (e exported) mbps() float64 { return float64(e.bytes) / (1 << 20) / e.took.Seconds() }

// bulkExport runs a system-level $export on the server (kick-off, polling,
// every file downloaded) and counts what it got, from the kick-off to the
// last byte.
func bulkExport(ctx context.Context, base string) (exported, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/$export", nil)
	if err != nil {
		return exported{}, err
	}
	req.Header.Set("Prefer", "respond-async")
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return exported{}, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	status := resp.Header.Get("Content-Location")
	if resp.StatusCode != http.StatusAccepted || status == "" {
		return exported{}, fmt.Errorf("$export kick-off: status %d, Content-Location %q", resp.StatusCode, status)
	}
	deadline := time.Now().Add(10 * time.Minute)
	var manifest struct {
		Output []struct {
			URL   string `json:"url"`
			Count int64  `json:"count"`
		} `json:"output"`
		Error []any `json:"error"`
	}
	for {
		st, body, err := call(ctx, "GET", status, "")
		if err != nil {
			return exported{}, err
		}
		if st == http.StatusOK {
			if err := json.Unmarshal(body, &manifest); err != nil {
				return exported{}, fmt.Errorf("manifest: %w", err)
			}
			break
		}
		if st != http.StatusAccepted {
			return exported{}, fmt.Errorf("$export status: %d %.300s", st, body)
		}
		if time.Now().After(deadline) {
			return exported{}, errors.New("$export not done after ten minutes")
		}
		select {
		case <-ctx.Done():
			return exported{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if len(manifest.Error) > 0 {
		return exported{}, fmt.Errorf("$export reported %d errors", len(manifest.Error))
	}
	var out exported
	for _, o := range manifest.Output {
		req, err := http.NewRequestWithContext(ctx, "GET", o.URL, nil)
		if err != nil {
			return exported{}, err
		}
		req.Header.Set("Accept", "application/fhir+ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return exported{}, err
		}
		lines, n, err := countLines(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return exported{}, fmt.Errorf("download %s: status %d %v", o.URL, resp.StatusCode, err)
		}
		if lines != o.Count {
			return exported{}, fmt.Errorf("%s: %d lines, the manifest says %d", o.URL, lines, o.Count)
		}
		out.resources += lines
		out.bytes += n
	}
	out.took = time.Since(start)
	return out, nil
}

// countLines reads r to its end, counting lines and bytes.
func countLines(r io.Reader) (lines, n int64, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		b, err := br.ReadSlice('\n')
		n += int64(len(b))
		if len(b) > 0 && b[len(b)-1] == '\n' {
			lines++
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return lines, n, nil
		}
		if err != nil {
			return lines, n, err
		}
	}
}

// rawBulkRead is the baseline: the store's own bulk read of every current
// resource body, one per line, straight from socialrx's table `resources`
// (PostgreSQL: COPY (SELECT body ...) TO STDOUT; SQLite: one SELECT on a
// read-only connection). It knows socialrx's schema, as a DBA would.
func rawBulkRead(ctx context.Context, database, dir string) (exported, error) {
	start := time.Now()
	if database == "" {
		u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "socialrx.db"))}).String()
		db, err := sql.Open("sqlite", u+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			return exported{}, err
		}
		defer db.Close()
		rows, err := db.QueryContext(ctx, `SELECT body FROM resources WHERE deleted = 0`)
		if err != nil {
			return exported{}, err
		}
		defer rows.Close()
		var out exported
		var body sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&body); err != nil {
				return exported{}, err
			}
			out.resources++
			out.bytes += int64(len(body)) + 1
		}
		if err := rows.Err(); err != nil {
			return exported{}, err
		}
		out.took = time.Since(start)
		return out, nil
	}
	conn, err := pgx.Connect(ctx, database)
	if err != nil {
		return exported{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	cw := &countWriter{}
	if _, err := conn.PgConn().CopyTo(ctx, cw, `COPY (SELECT body FROM resources WHERE NOT deleted) TO STDOUT`); err != nil {
		return exported{}, err
	}
	return exported{resources: cw.lines, bytes: cw.n, took: time.Since(start)}, nil
}

// countWriter counts bytes and lines written to it.
type countWriter struct{ lines, n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.lines += int64(strings.Count(string(p), "\n"))
	return len(p), nil
}
