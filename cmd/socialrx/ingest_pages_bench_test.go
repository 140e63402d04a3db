package main

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// BenchmarkIngestWALPages shows where SQLite's commits write: 8 clients post
// b.N encounter Bundles (as BenchmarkIngestConcurrent) while a reader holds
// a snapshot, so that no checkpoint can reset the WAL; then it reads the
// WAL's frame headers and names the B-tree (table or index, from dbstat)
// of every page written. Every frame is a page a commit wrote (two
// pwrites, and later a copy into the database file), so frames per
// encounter is what a commit costs beyond its CPU, and the B-trees at the
// top are where rows land on pages the commit's other transactions do not
// share (docs/performance.md, issue 12: random v4 ids put every new
// resource on random pages of every id-keyed index).
//
//	go test ./cmd/socialrx -run '^$' -bench IngestWALPages -benchtime 400x
func BenchmarkIngestWALPages(b *testing.B) {
	path := filepath.Join(b.TempDir(), "data", "socialrx.db")
	env := newDeliveryBenchEnv(b, "sqlite:"+path)
	defer env.close(b)
	post := func() error {
		n := ingestSeq.Add(1) + 5000000
		status, rb, err := env.call("POST", "/fhir", demoEncounter(fmt.Sprint(n)))
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("encounter: %d %s %v", status, truncate(rb), err)
		}
		return nil
	}
	run := func(n int) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for c := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := c; i < n; i += 8 {
					if err := post(); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	run(200) // the shared resources, and indexes of some size
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	hold, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	var n int
	if err := hold.QueryRow(`SELECT COUNT(*) FROM sqlite_schema`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	run(b.N)
	b.StopTimer()
	wal, err := os.ReadFile(path + "-wal")
	_ = hold.Rollback()
	if err != nil {
		b.Fatal(err)
	}
	var pageSize int
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		b.Fatal(err)
	}
	owner := map[uint32]string{}
	rows, err := db.Query(`SELECT name, pageno FROM dbstat`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var name string
		var p uint32
		if err := rows.Scan(&name, &p); err != nil {
			b.Fatal(err)
		}
		owner[p] = name
	}
	rows.Close()
	frames, commits := 0, 0
	byTree := map[string]int{}
	for off := 32; off+24+pageSize <= len(wal); off += 24 + pageSize {
		frames++
		byTree[owner[binary.BigEndian.Uint32(wal[off:])]]++
		if binary.BigEndian.Uint32(wal[off+4:]) != 0 {
			commits++
		}
	}
	b.ReportMetric(float64(frames)/float64(b.N), "frames/encounter")
	b.ReportMetric(float64(b.N)/float64(max(1, commits)), "encounters/commit")
	if b.N < 100 {
		return // too few encounters to say where the pages go
	}
	trees := make([]string, 0, len(byTree))
	for t := range byTree {
		trees = append(trees, t)
	}
	slices.SortFunc(trees, func(x, y string) int { return byTree[y] - byTree[x] })
	var sb strings.Builder
	for i, t := range trees {
		if i == 8 {
			break
		}
		fmt.Fprintf(&sb, "\n  %-40s %6.2f frames/encounter", t, float64(byTree[t])/float64(b.N))
	}
	b.Logf("WAL frames by B-tree:%s", sb.String())
}
