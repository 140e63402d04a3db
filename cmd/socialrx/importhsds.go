package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/hsds"
	"github.com/socialrx/socialrx/adapter/postgres"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// ImportCmd loads data from outside formats.
type ImportCmd struct {
	HSDS ImportHSDSCmd `cmd:"" name:"hsds" help:"Load an Open Referral HSDS 3.0 directory (JSON, list pages, NDJSON, or datapackage.json + CSVs; a file, a directory or a URL) as Organization, Location, HealthcareService and, for a service that takes eReferrals, Endpoint. Re-importing updates the same resources."`
}

// ImportHSDSCmd is `socialrx import hsds`.
type ImportHSDSCmd struct {
	Source string `arg:"" placeholder:"FILE|DIR|URL" help:"An HSDS JSON/NDJSON file, a directory of them or of a tabular package (datapackage.json), or an http(s) URL."`
	Batch  int    `default:"500" help:"Resources per database transaction."`
	Report string `placeholder:"FILE" help:"Write the rejected records (source, object, HSDS id, reason) to FILE as CSV."`
	Quiet  bool   `help:"No progress bar (there is none either when stderr is not a terminal)."`
	// StaleAfter is serve's --stale-after: an import that re-verified a
	// program closes its verify-program Task by the same rule.
	StaleAfter time.Duration `env:"SOCIALRX_STALE_AFTER" default:"${default_stale_after}" help:"As serve's --stale-after: the open verify-program Tasks of programs the import re-verified (a newer last-verified date, no longer stale) are completed at the end."`
	DatabaseFlag
}

// ImportSummary is what an import did.
type ImportSummary struct {
	Created, Updated, Unchanged map[string]int // by resource type
	Rejected                    []mapping.HSDSReject
	// Read is the time to read and map the dataset; Wrote the time to
	// check (fhir.Validate) and write it, the checks of a batch
	// overlapping the write of the one before.
	Read  time.Duration
	Wrote time.Duration
}

// Services is how many HealthcareServices were created, updated or found
// unchanged.
func (s *ImportSummary) Services() int {
	return s.Created["HealthcareService"] + s.Updated["HealthcareService"] + s.Unchanged["HealthcareService"]
}

// written is how many resources were created, updated or found unchanged.
func (s *ImportSummary) written() int {
	n := 0
	for _, m := range []map[string]int{s.Created, s.Updated, s.Unchanged} {
		for _, v := range m {
			n += v
		}
	}
	return n
}

// Run imports.
func (c *ImportHSDSCmd) Run(ctx context.Context) error {
	if c.Batch < 1 || c.Batch > 10000 {
		return fmt.Errorf("%w: --batch must be 1 to 10000", errUsage)
	}
	s, err := OpenStore(ctx, c.Database)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := prepareSchema(ctx, s, false, newLogger("warn", "text")); err != nil {
		return err
	}
	var bar io.Writer = io.Discard
	if !c.Quiet && term.IsTerminal(int(os.Stderr.Fd())) {
		bar = os.Stderr
	}
	sum, err := ImportHSDS(ctx, s, c.Source, c.Batch, bar)
	if err != nil {
		return err
	}
	if c.Report != "" {
		if err := writeRejectReport(c.Report, sum.Rejected); err != nil {
			return err
		}
	}
	printImportSummary(os.Stdout, sum, c.Report)
	if n := len(sum.Rejected); n > 0 && sum.written() == 0 {
		// Nothing of the dataset could be used: a wrong file or a broken
		// export, which a script must not take for a successful import.
		return fmt.Errorf("every record was rejected (%d): nothing imported", n)
	}
	if a, ok := s.(analyzer); ok {
		// The work lists and program searches are planned from statistics
		// autovacuum would gather only a minute or more from now.
		if _, err := a.Analyze(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "warning: %v (run ANALYZE, or wait for autovacuum)\n", err)
		}
	}
	if sum.Updated["HealthcareService"] > 0 {
		// A program the import verified again leaves the stale work list
		// now, not at the next daily check.
		w := workflow.New(s, workflow.Options{ProgramStaleAfter: c.StaleAfter})
		closed, err := w.CloseVerifiedPrograms(ctx)
		if err != nil {
			return fmt.Errorf("close the verify-program Tasks of re-verified programs: %w", err)
		}
		if closed > 0 {
			fmt.Printf("%d verify-program Tasks closed (programs verified again or gone)\n", closed)
		}
	}
	return nil
}

// ImportHSDS reads the HSDS dataset at src, maps it to FHIR, checks every
// resource as a create would (fhir.Validate, in parallel), and writes
// them through the workflow in transactions of batch resources (the
// store's bulk write, Tx.UpsertMany), skipping those whose stored version
// has the same content. The check of a batch runs while the batch before
// it is written. A record that fails anywhere is reported in the summary
// and the rest goes on; a batch whose transaction fails is written again
// one resource at a time, so that one refused resource loses nothing else.
// A Location or Organization the dataset rejects keeps its stored version,
// and the services and locations referring to it keep their reference
// (mapping.HSDSDirectory.Stored).
// bar shows progress (nil: none).
func ImportHSDS(ctx context.Context, s socialrx.Store, src string, batch int, bar io.Writer) (*ImportSummary, error) {
	defer setImportGC()()
	start := time.Now()
	// The R4 schema the checks use is compiled once per process (about a
	// second of CPU): that runs beside the reading.
	go fhir.ValidateSchema(nil)
	var dir mapping.HSDSDirectory
	if err := hsds.Read(ctx, src, &dir, nil); err != nil {
		return nil, fmt.Errorf("read %s: %w", hsds.RedactSource(src), err)
	}
	// A location or organization the dataset rejects (or leaves out) that
	// an earlier import stored stays referenced: its stored version is
	// kept, and so is what refers to it.
	var lookupErr error
	dir.Stored = func(ref string) bool {
		if lookupErr != nil {
			return false
		}
		rs, err := s.ReadMany(ctx, []string{ref})
		if err != nil {
			lookupErr = err
			return false
		}
		return len(rs) > 0
	}
	resources, rejects := dir.Resources()
	if lookupErr != nil {
		return nil, fmt.Errorf("read the stored directory: %w", lookupErr)
	}
	sum := &ImportSummary{Created: map[string]int{}, Updated: map[string]int{}, Unchanged: map[string]int{}}
	sum.Read = time.Since(start)

	start = time.Now()
	if bar == nil {
		bar = io.Discard
	}
	pb := newProgressBar(bar, int64(len(resources)), "import")
	// The check of the next batch runs beside the write of this one.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		errOnce sync.Once
		failed  error
		wg      sync.WaitGroup // the check stage and the writers
	)
	fail := func(err error) {
		errOnce.Do(func() { failed = err; cancel() })
	}
	type checked struct {
		n   int // resources of the batch, valid or not
		ok  []mapping.HSDSResource
		bad []mapping.HSDSReject
		// unchanged counts the resources of ok left out because their
		// stored version has the same content, when the check stage
		// found them (early); nil when the writer has to.
		unchanged map[string]int
	}
	// The unchanged check (a read of the batch's stored versions and a
	// comparison) runs in the check stage too, off the writer, when no
	// resource is in two batches: then no write of an earlier batch can
	// change what it reads (a concurrent writer outside the import could,
	// as it could between the check and the write before).
	early := distinctRefs(resources)
	// The checks leave a core to the writer: more goroutines than cores
	// share them, and the single writer (SQLite's, or PostgreSQL's client
	// side) is what the import waits for.
	checkers := max(1, runtime.GOMAXPROCS(0)-1)
	batches := make(chan checked, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		for i := 0; i < len(resources); i += batch {
			part := resources[i:min(i+batch, len(resources))]
			ok, bad := validateAll(part, checkers)
			c := checked{n: len(part), ok: ok, bad: bad}
			if early {
				psum := &ImportSummary{Unchanged: map[string]int{}}
				changed, err := changedOnly(ctx, s, ok, psum)
				if err != nil {
					fail(err)
					return
				}
				c.ok, c.unchanged = changed, psum.Unchanged
			}
			select {
			case batches <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	// SQLite has one writer: concurrent transactions would share its group
	// commit as savepoints, each write copying pages to a sub-journal.
	// PostgreSQL writes two batches at once, on two server processes.
	writers := 1
	if _, ok := s.(*postgres.Store); ok {
		writers = 2
	}
	type written struct {
		bad, refused []mapping.HSDSReject
		sum          *ImportSummary
	}
	var (
		mu, recv sync.Mutex
		done     = map[int]written{} // by batch number
		nb       atomic.Int64
	)
	w := workflow.New(s, workflow.Options{})
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				recv.Lock() // batch numbers in the order received
				b, ok := <-batches
				k := int(nb.Add(1))
				recv.Unlock()
				if !ok {
					return
				}
				part := &ImportSummary{Created: map[string]int{}, Updated: map[string]int{}, Unchanged: map[string]int{}}
				var refused []mapping.HSDSReject
				var err error
				if b.unchanged != nil {
					part.Unchanged = b.unchanged
					refused, err = writeChecked(ctx, w, b.ok, part)
				} else {
					refused, err = importBatch(ctx, w, s, b.ok, part)
				}
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				done[k] = written{b.bad, refused, part}
				mu.Unlock()
				_ = pb.Add(b.n)
			}
		}()
	}
	wg.Wait()
	if failed != nil {
		return nil, failed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The checks' rejects, then the store's refusals, in batch order.
	var refused []mapping.HSDSReject
	for k := 1; k <= len(done); k++ {
		d := done[k]
		rejects = append(rejects, d.bad...)
		refused = append(refused, d.refused...)
		for _, m := range []struct{ to, from map[string]int }{{sum.Created, d.sum.Created}, {sum.Updated, d.sum.Updated}, {sum.Unchanged, d.sum.Unchanged}} {
			for t, n := range m.from {
				m.to[t] += n
			}
		}
	}
	_ = pb.Finish()
	sum.Wrote = time.Since(start)
	rejects = append(rejects, refused...)
	sort.SliceStable(rejects, func(i, j int) bool { return rejects[i].Source < rejects[j].Source })
	sum.Rejected = rejects
	return sum, nil
}

// importBatch writes the changed resources of rs (changedOnly) in one
// transaction, or, when the store refuses the batch's data, one at a time:
// it returns the refused ones. Another error ends the import.
func importBatch(ctx context.Context, w *workflow.Workflow, s socialrx.Store, rs []mapping.HSDSResource, sum *ImportSummary) ([]mapping.HSDSReject, error) {
	changed, err := changedOnly(ctx, s, rs, sum)
	if err != nil {
		return nil, err
	}
	return writeChecked(ctx, w, changed, sum)
}

// writeChecked writes changed, the resources of a batch that differ from
// their stored versions, as importBatch does.
func writeChecked(ctx context.Context, w *workflow.Workflow, changed []mapping.HSDSResource, sum *ImportSummary) ([]mapping.HSDSReject, error) {
	err := writeBatch(ctx, w, changed, sum)
	if err == nil {
		return nil, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// Only a refusal of the data is worth finding record by record; a
	// broken database or a timeout ends the import.
	switch socialrx.ErrorCode(err) {
	case socialrx.EINVALID, socialrx.EUNPROCESSABLE, socialrx.ECONFLICT, socialrx.EPRECONDITION:
	default:
		return nil, err
	}
	var refused []mapping.HSDSReject
	for _, r := range changed {
		if err := writeBatch(ctx, w, []mapping.HSDSResource{r}, sum); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			refused = append(refused, mapping.HSDSReject{Source: r.Source, Object: r.Type, ID: r.HSDSID, Reason: "refused by the store: " + errText(err)})
		}
	}
	return refused, nil
}

// errText is err's message, with the issues of a socialrx.Error (paths and
// codes, never values).
func errText(err error) string {
	var parts []string
	var se *socialrx.Error
	if errors.As(err, &se) && len(se.Issues) > 0 {
		for _, is := range se.Issues {
			parts = append(parts, strings.TrimSpace(is.Path+" "+is.Message))
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

// writeBatch writes rs in one workflow transaction (create or update by
// id, with the store's bulk write: Tx.UpsertMany) and counts them.
func writeBatch(ctx context.Context, w *workflow.Workflow, rs []mapping.HSDSResource, sum *ImportSummary) error {
	if len(rs) == 0 {
		return nil
	}
	ws := make([]socialrx.Write, len(rs))
	for i, r := range rs {
		ws[i] = socialrx.Write{Type: r.Type, ID: r.ID, Body: r.Body}
	}
	var created []bool
	err := w.Transact(ctx, func(tx *workflow.Tx) error {
		var err error
		_, created, err = tx.UpsertMany(ctx, ws)
		return err
	})
	if err != nil {
		return err
	}
	for i, r := range rs {
		if created[i] {
			sum.Created[r.Type]++
		} else {
			sum.Updated[r.Type]++
		}
	}
	return nil
}

// importGCPercent is the garbage collector's GOGC during an import, unless
// the GOGC environment variable sets one: reading, mapping, checking and
// indexing allocate a lot of short-lived JSON trees, and at the default
// (100) the collector took about 280 of 900 µs of CPU a service
// (BenchmarkImportHSDS gc-µs/service); at 300 about 100, for a heap up to
// four times the live data instead of two.
const importGCPercent = 300

// distinctRefs reports whether no Type/ID is in rs twice.
func distinctRefs(rs []mapping.HSDSResource) bool {
	seen := make(map[string]struct{}, len(rs))
	for _, r := range rs {
		k := r.Type + "/" + r.ID
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
	}
	return true
}

// changedOnly drops the resources whose stored current version has the
// same content (id and meta aside), counting them as unchanged.
func changedOnly(ctx context.Context, s socialrx.Store, rs []mapping.HSDSResource, sum *ImportSummary) ([]mapping.HSDSResource, error) {
	refs := make([]string, len(rs))
	for i, r := range rs {
		refs[i] = r.Type + "/" + r.ID
	}
	cur, err := s.ReadMany(ctx, refs)
	if err != nil {
		return nil, err
	}
	if len(cur) == 0 {
		return rs, nil
	}
	stored := make(map[string][]byte, len(cur))
	for _, c := range cur {
		stored[c.Type+"/"+c.ID] = c.Body
	}
	out := rs[:0:0]
	for i, r := range rs {
		if b, ok := stored[refs[i]]; ok && sameResource(b, r.Body) {
			sum.Unchanged[r.Type]++
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func sameResource(stored, body []byte) bool {
	a, b := withoutIDMeta(stored), withoutIDMeta(body)
	return a != nil && b != nil && reflect.DeepEqual(a, b)
}

func withoutIDMeta(b []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	delete(m, "id")
	delete(m, "meta")
	return m
}

// validateAll checks each resource as the server checks a create, on
// workers goroutines; those with errors are rejected with the issues'
// paths.
func validateAll(rs []mapping.HSDSResource, workers int) ([]mapping.HSDSResource, []mapping.HSDSReject) {
	issues := make([][]fhir.Issue, len(rs))
	var wg sync.WaitGroup
	next := make(chan int, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if is := fhir.Validate(rs[i].Body, rs[i].Type); fhir.HasErrors(is) {
					issues[i] = is
				}
			}
		}()
	}
	for i := range rs {
		next <- i
	}
	close(next)
	wg.Wait()
	var ok []mapping.HSDSResource
	var rejects []mapping.HSDSReject
	for i, r := range rs {
		if issues[i] == nil {
			ok = append(ok, r)
			continue
		}
		var msgs []string
		for _, is := range issues[i] {
			if is.Severity == "error" || is.Severity == "fatal" {
				msgs = append(msgs, strings.TrimSpace(is.Path+": "+is.Message))
			}
		}
		rejects = append(rejects, mapping.HSDSReject{Source: r.Source, Object: r.Type, ID: r.HSDSID, Reason: "not valid FHIR R4: " + strings.Join(msgs, "; ")})
	}
	return ok, rejects
}

func writeRejectReport(path string, rejects []mapping.HSDSReject) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"source", "object", "hsds_id", "reason"})
	for _, r := range rejects {
		_ = w.Write([]string{csvText(r.Source), csvText(r.Object), csvText(r.ID), csvText(r.Reason)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o640)
}

func printImportSummary(w io.Writer, sum *ImportSummary, report string) {
	for _, t := range []string{"Organization", "Location", "HealthcareService", "Endpoint"} {
		fmt.Fprintf(w, "%-18s %7d created %7d updated %7d unchanged\n", t, sum.Created[t], sum.Updated[t], sum.Unchanged[t])
	}
	rate := float64(sum.Services()) / max((sum.Read+sum.Wrote).Seconds(), 1e-9)
	fmt.Fprintf(w, "%d services in %s (%.0f services/s); %d records rejected", sum.Services(),
		(sum.Read + sum.Wrote).Round(time.Millisecond), rate, len(sum.Rejected))
	switch {
	case len(sum.Rejected) > 0 && report != "":
		fmt.Fprintf(w, " (see %s)\n", report)
	case len(sum.Rejected) > 0:
		fmt.Fprintln(w, " (--report FILE lists them)")
	default:
		fmt.Fprintln(w)
	}
}
