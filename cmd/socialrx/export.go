package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/export"
	"github.com/socialrx/socialrx/fhir"
)

// ExportCmd writes resources from the database as NDJSON files, one per
// type: what a system-level $export writes, read from the store directly
// (no server needed).
type ExportCmd struct {
	Type  []string `sep:"," placeholder:"TYPE,..." help:"Resource types to export (comma-separated); every type a system $export writes when empty (all held types but AuditEvent)."`
	Since string   `placeholder:"DATE" help:"Only resources changed after this date (2026-01-01) or instant (2026-01-01T08:00:00Z)."`
	Out   string   `required:"" placeholder:"DIR" help:"Directory to write TYPE.ndjson files into (created if missing; existing files of the exported types are replaced)."`
	Facts bool     `help:"Also write Parameters.ndjson: the derived facts of each social prescription exported with ServiceRequest (what ServiceRequest/[id]/$prescription answers)."`
	Quiet bool     `help:"No progress bar (there is none either when stderr is not a terminal)."`
	DatabaseFlag
}

// exportSummary is what one export wrote, per type.
type exportSummary struct {
	Type  string
	File  string
	Count int64
	Bytes int64
}

// Run exports.
func (c *ExportCmd) Run(ctx context.Context) error {
	types, since, err := c.parse()
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	s, err := OpenExistingStore(ctx, c.Database)
	if err != nil {
		return err
	}
	defer s.Close()
	var bar io.Writer = io.Discard
	if !c.Quiet && term.IsTerminal(int(os.Stderr.Fd())) {
		bar = os.Stderr
	}
	start := time.Now()
	sums, err := Export(ctx, s, types, since, c.Out, c.Facts, bar)
	if err != nil {
		return err
	}
	printSummary(os.Stdout, sums, time.Since(start))
	return nil
}

func (c *ExportCmd) parse() (types []string, since time.Time, err error) {
	for _, t := range c.Type {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !fhir.Supported(t) {
			return nil, since, fmt.Errorf("--type %s: not a resource type socialrx holds", t)
		}
		if !slices.Contains(export.Types(socialrx.ExportSystem), t) {
			return nil, since, fmt.Errorf("--type %s: not exported (the audit trail is read with an AuditEvent search)", t)
		}
		types = append(types, t)
	}
	if len(types) == 0 {
		types = export.Types(socialrx.ExportSystem) // what a system $export writes
	}
	if c.Since != "" {
		if since, err = time.Parse(time.RFC3339Nano, c.Since); err != nil {
			if since, err = time.Parse(time.DateOnly, c.Since); err != nil {
				return nil, since, fmt.Errorf("--since %q: want a date (2026-01-01) or an instant with a time zone (2026-01-01T08:00:00Z)", c.Since)
			}
		}
	}
	if c.Facts && !strings.Contains(","+strings.Join(types, ",")+",", ",ServiceRequest,") {
		return nil, since, fmt.Errorf("--facts needs ServiceRequest among the types")
	}
	return types, since.UTC(), nil
}

// Export writes the live resources of each type changed after since (all
// when zero) and up to now to dir/TYPE.ndjson, in id order, with a
// progress bar on bar (io.Discard for none). Types with no resources get
// no file. With facts, the derived facts of social prescriptions go to
// dir/Parameters.ndjson.
func Export(ctx context.Context, s socialrx.Store, types []string, since time.Time, dir string, facts bool, bar io.Writer) ([]exportSummary, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	job := &socialrx.ExportJob{Level: socialrx.ExportSystem, Since: since, TransactionTime: time.Now().UTC()}
	var total int64
	for _, t := range types {
		n, err := s.CountResources(ctx, export.Request(job, t, nil))
		if err != nil {
			return nil, err
		}
		total += n
	}
	pb := newProgressBar(bar, total, "")
	var sums []exportSummary
	var factsFile *exportFile
	if facts {
		f, err := createExportFile(dir, socialrx.ExportFactsType)
		if err != nil {
			return nil, err
		}
		factsFile = f
		defer f.f.Close()
	}
	for _, t := range types {
		pb.Describe(t)
		f, err := createExportFile(dir, t)
		if err != nil {
			return nil, err
		}
		var fw *export.Facts
		if facts && t == "ServiceRequest" {
			// The command reads the database directly: every fact.
			fw = &export.Facts{W: factsFile.w, From: socialrx.FactSources()}
		}
		sum := exportSummary{Type: t, File: filepath.Base(f.f.Name())}
		err = export.Stream(ctx, s, export.Request(job, t, nil), f.w, fw, func(l export.Line) error {
			sum.Count++
			if l.Facts {
				factsFile.count++
			}
			return pb.Add64(1)
		})
		if err == nil {
			sum.Bytes, err = f.close()
		}
		if err != nil {
			_ = f.f.Close()
			return nil, fmt.Errorf("export %s: %w", t, err)
		}
		if sum.Count == 0 {
			_ = os.Remove(f.f.Name())
		}
		sums = append(sums, sum)
	}
	_ = pb.Finish()
	if factsFile != nil {
		n, err := factsFile.close()
		if err != nil {
			return nil, err
		}
		sums = append(sums, exportSummary{Type: socialrx.ExportFactsType, File: filepath.Base(factsFile.f.Name()), Count: factsFile.count, Bytes: n})
		if factsFile.count == 0 {
			_ = os.Remove(factsFile.f.Name())
		}
	}
	return sums, nil
}

// exportFile is one NDJSON file being written.
type exportFile struct {
	f     *os.File
	w     *bufio.Writer
	count int64
}

// exportFileMode is the mode of the files the command writes, as the
// server's export files (adapter/export): not readable by other users.
const exportFileMode = 0o640

// createExportFile creates dir/typ.ndjson, or empties the one there, with
// no permission beyond exportFileMode (one there with more is narrowed).
func createExportFile(dir, typ string) (*exportFile, error) {
	f, err := os.OpenFile(filepath.Join(dir, typ+".ndjson"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, exportFileMode)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && st.Mode().Perm()&^exportFileMode != 0 {
		err = f.Chmod(st.Mode().Perm() & exportFileMode)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &exportFile{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// close flushes and closes the file and returns its size.
func (e *exportFile) close() (int64, error) {
	if err := e.w.Flush(); err != nil {
		return 0, err
	}
	st, err := e.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), e.f.Close()
}

// printSummary prints one line per type and the totals: every line
// written counts, the Parameters of --facts too.
func printSummary(w io.Writer, sums []exportSummary, took time.Duration) {
	var n, b int64
	for _, s := range sums {
		file := s.File
		if s.Count == 0 {
			file = "(no file)"
		}
		fmt.Fprintf(w, "%-22s %10d  %s\n", s.Type, s.Count, file)
		n += s.Count
		b += s.Bytes
	}
	rate := float64(n) / max(took.Seconds(), 1e-9)
	fmt.Fprintf(w, "%d resources, %.1f MB in %s (%.0f resources/s)\n", n, float64(b)/1e6, took.Round(time.Millisecond), rate)
}
