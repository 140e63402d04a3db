package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the baseline's SQLite: the driver socialrx uses

	"github.com/socialrx/socialrx/cmd/internal/fake"
)

// baselineRows writes what ingest posted, without socialrx: each
// encounter Bundle's resources as JSON rows (type, id, body) in one
// transaction, from the same number of clients, into a table of their own
// on the same kind of store (a second SQLite file with socialrx's
// durability settings, or a table in the same PostgreSQL database,
// dropped after). It returns Bundles per second.
func baselineRows(ctx context.Context, cli CLI, dir string, progress io.Writer) (float64, error) {
	var exec func(ctx context.Context, rows [][3]string) error
	var closeAll func()
	if cli.Database == "" {
		u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "baseline.db"))}).String()
		db, err := sql.Open("sqlite", u+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_txlock=immediate")
		if err != nil {
			return 0, err
		}
		db.SetMaxOpenConns(1) // SQLite's single writer, as socialrx's
		closeAll = func() { _ = db.Close() }
		if _, err := db.ExecContext(ctx, `CREATE TABLE rows (type TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (type, id))`); err != nil {
			closeAll()
			return 0, err
		}
		exec = func(ctx context.Context, rows [][3]string) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback() }()
			for _, r := range rows {
				if _, err := tx.ExecContext(ctx, `INSERT INTO rows (type, id, body) VALUES (?, ?, ?)`, r[0], r[1], r[2]); err != nil {
					return err
				}
			}
			return tx.Commit()
		}
	} else {
		pool, err := pgxpool.New(ctx, cli.Database)
		if err != nil {
			return 0, err
		}
		table := fmt.Sprintf("socialrx_bench_rows_%d", time.Now().UnixNano())
		closeAll = func() {
			_, _ = pool.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+table)
			pool.Close()
		}
		if _, err := pool.Exec(ctx, `CREATE TABLE `+table+` (type text NOT NULL, id text NOT NULL, body jsonb NOT NULL, PRIMARY KEY (type, id))`); err != nil {
			closeAll()
			return 0, err
		}
		exec = func(ctx context.Context, rows [][3]string) error {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback(ctx) }()
			for _, r := range rows {
				if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (type, id, body) VALUES ($1, $2, $3)`, r[0], r[1], r[2]); err != nil {
					return err
				}
			}
			return tx.Commit(ctx)
		}
	}
	defer closeAll()

	n := cli.Encounters
	_, took, err := runClients(ctx, n, cli.Clients, newBar(progress, n, "baseline"), func(i int) error {
		rows, err := bundleRows(fake.Encounter(fmt.Sprint(i+1)), i+1)
		if err != nil {
			return err
		}
		return exec(ctx, rows)
	})
	if err != nil {
		return 0, err
	}
	return float64(n) / took.Seconds(), nil
}

// bundleRows are the (type, id, body) rows of a Bundle's resources, the
// ids made from the entry and k.
func bundleRows(bundle string, k int) ([][3]string, error) {
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(bundle), &b); err != nil {
		return nil, err
	}
	out := make([][3]string, 0, len(b.Entry))
	for j, e := range b.Entry {
		var r struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			return nil, err
		}
		out = append(out, [3]string{r.ResourceType, fmt.Sprintf("b%d-%d", k, j), string(e.Resource)})
	}
	return out, nil
}

// baselinePosts posts the messages socialrx delivered, as they were, to a
// platform of their own without faults (one token, from the same number
// of clients) and returns messages per second.
func baselinePosts(ctx context.Context, messages []fake.Message, clients int, progress io.Writer) (float64, error) {
	var bodies [][]byte
	for _, m := range messages {
		if m.Event == addEvent {
			bodies = append(bodies, m.Body)
		}
	}
	if len(bodies) == 0 {
		return 0, errors.New("no delivered message to post")
	}
	p := fake.NewPlatform(benchClient, benchSecret)
	ps := httptest.NewServer(p)
	defer ps.Close()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {benchClient}, "client_secret": {benchSecret}}
	resp, err := http.PostForm(ps.URL+"/oauth2/token", form)
	if err != nil {
		return 0, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	_ = resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		return 0, fmt.Errorf("token: %v", err)
	}
	_, took, err := runClients(ctx, len(bodies), clients, newBar(progress, len(bodies), "baseline"), func(i int) error {
		req, err := http.NewRequestWithContext(ctx, "POST", ps.URL+"/fhir/$process-messages", strings.NewReader(string(bodies[i])))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if got := len(p.Messages()); got != len(bodies) {
		return 0, fmt.Errorf("the baseline platform holds %d of %d messages", got, len(bodies))
	}
	return float64(len(bodies)) / took.Seconds(), nil
}
