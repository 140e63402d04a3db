package export

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
)

// Defaults of Options.
const (
	DefaultExpiry     = 24 * time.Hour
	DefaultSlice      = 30 * time.Second
	DefaultCheckEvery = 10000 // resources between checkpoints
)

// Options configure a Runner.
type Options struct {
	Store socialrx.Store
	// Dir holds one directory per export job, named by its id.
	Dir string
	// Expiry is how long a finished job and its files are kept
	// (DefaultExpiry if 0).
	Expiry time.Duration
	// Slice is how long one Run works before it yields (the job is
	// snoozed and run again), so that no attempt outlives the job
	// timeout (DefaultSlice if 0).
	Slice time.Duration
	// CheckEvery is how many resources are written between checkpoints
	// (DefaultCheckEvery if 0); a checkpoint is also taken every second.
	CheckEvery int
	Now        func() time.Time
	Logger     *slog.Logger
}

// Runner runs export jobs, one time slice per Run.
type Runner struct{ o Options }

// NewRunner returns a Runner; zero Options fields take their defaults.
func NewRunner(o Options) *Runner {
	if o.Expiry <= 0 {
		o.Expiry = DefaultExpiry
	}
	if o.Slice <= 0 {
		o.Slice = DefaultSlice
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = DefaultCheckEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{o: o}
}

// NewJobID returns a new export id: 32 random hex digits, unguessable (the
// status URL and file URLs carry it).
func NewJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IsJobID reports whether s has the form of an id NewJobID makes.
func IsJobID(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// JobDir returns the directory of export id's files under dir.
func JobDir(dir, id string) string { return filepath.Join(dir, id) }

// errYield ends a slice; errCancelled a job whose record is gone.
var (
	errYield     = errors.New("export: time slice over")
	errCancelled = errors.New("export: cancelled")
)

// Run works on export id for one time slice. done is true when there is
// nothing more to do: the job completed, or was failed for good (lastTry
// and an error: the job is marked failed, with the error's message, and
// expires like a completed one), or its record is gone (cancelled: its
// files are removed). done false with a nil error means the slice ended:
// run again (River: snooze). An error with done false is worth a retry; a
// retry resumes from the last checkpoint, cutting each file back to the
// length then recorded.
func (r *Runner) Run(ctx context.Context, id string, lastTry bool) (done bool, err error) {
	job, err := r.o.Store.Export(ctx, id)
	if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
		return true, r.removeFiles(id)
	}
	if err != nil {
		return false, err
	}
	if job.Finished() {
		return true, nil
	}
	done, err = r.run(ctx, job)
	switch {
	case errors.Is(err, errCancelled):
		return true, r.removeFiles(id)
	case errors.Is(err, errYield):
		return false, nil
	case err != nil && lastTry:
		r.o.Logger.Warn("export failed", "export", id, "error", err)
		job.Status = socialrx.ExportFailed
		job.Error = err.Error()
		now := r.o.Now().UTC()
		job.UpdatedAt, job.ExpiresAt = now, now.Add(r.o.Expiry)
		if _, serr := r.o.Store.SaveExport(ctx, job); serr != nil {
			return false, serr
		}
		return true, nil
	}
	return done, err
}

func (r *Runner) removeFiles(id string) error {
	if id == "" || filepath.Base(id) != id {
		return nil
	}
	return os.RemoveAll(JobDir(r.o.Dir, id))
}

// run works on job until it completes, the slice ends (errYield) or it is
// cancelled (errCancelled).
func (r *Runner) run(ctx context.Context, job *socialrx.ExportJob) (bool, error) {
	deadline := r.o.Now().Add(r.o.Slice)
	var members []string
	if job.Level == socialrx.ExportGroup {
		var err error
		if members, err = GroupMembers(ctx, r.o.Store, job.GroupID, job.TransactionTime); err != nil {
			return false, err
		}
	}
	if job.Status == socialrx.ExportAccepted {
		job.Total = 0
		for _, t := range job.Types {
			n, err := r.o.Store.CountResources(ctx, Request(job, t, members))
			if err != nil {
				return false, err
			}
			job.Total += n
		}
		job.Status = socialrx.ExportInProgress
		if err := r.save(ctx, job); err != nil {
			return false, err
		}
	}
	dir := JobDir(r.o.Dir, job.ID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return false, fmt.Errorf("export %s: %w", job.ID, err)
	}
	for job.Cursor.TypeIndex < len(job.Types) {
		typ := job.Types[job.Cursor.TypeIndex]
		if err := r.runType(ctx, job, dir, typ, members, deadline); err != nil {
			return false, err
		}
		job.Cursor = socialrx.ExportCursor{TypeIndex: job.Cursor.TypeIndex + 1}
		if err := r.save(ctx, job); err != nil {
			return false, err
		}
	}
	// Completed: empty files are not listed (nor kept).
	outs := job.Outputs[:0]
	for _, o := range job.Outputs {
		if o.Count == 0 {
			_ = os.Remove(filepath.Join(dir, o.File))
			continue
		}
		outs = append(outs, o)
	}
	job.Outputs = outs
	job.Status = socialrx.ExportCompleted
	job.ExpiresAt = r.o.Now().UTC().Add(r.o.Expiry)
	if err := r.save(ctx, job); err != nil {
		return false, err
	}
	r.o.Logger.Info("export completed", "export", job.ID, "resources", job.Done)
	return true, nil
}

// save checkpoints job; errCancelled when its record is gone.
func (r *Runner) save(ctx context.Context, job *socialrx.ExportJob) error {
	job.UpdatedAt = r.o.Now().UTC()
	ok, err := r.o.Store.SaveExport(ctx, job)
	if err != nil {
		return err
	}
	if !ok {
		return errCancelled
	}
	return nil
}

// output is one file being written, with its entry in job.Outputs.
type output struct {
	idx int // in job.Outputs
	f   *os.File
	w   *bufio.Writer
}

// open opens (creating it) the output of typ in job, cut back to the
// length of the last checkpoint. ok is false when the file is shorter than
// that (lost after a machine crash): the type must start again.
func (r *Runner) open(job *socialrx.ExportJob, dir, typ string) (o *output, ok bool, err error) {
	name := typ + ".ndjson"
	o = &output{idx: -1}
	for i, out := range job.Outputs {
		if out.File == name {
			o.idx = i
		}
	}
	if o.idx < 0 {
		job.Outputs = append(job.Outputs, socialrx.ExportOutput{Type: typ, File: name})
		o.idx = len(job.Outputs) - 1
	}
	if o.f, err = os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o640); err != nil {
		return nil, false, err
	}
	want := job.Outputs[o.idx].Bytes
	st, err := o.f.Stat()
	if err == nil && st.Size() < want {
		return o, false, nil
	}
	if err == nil {
		err = o.f.Truncate(want)
	}
	if err == nil {
		_, err = o.f.Seek(want, io.SeekStart)
	}
	if err != nil {
		_ = o.f.Close()
		return nil, false, err
	}
	o.w = bufio.NewWriterSize(o.f, 256<<10)
	return o, true, nil
}

// runType writes (the rest of) typ's files from job.Cursor.
func (r *Runner) runType(ctx context.Context, job *socialrx.ExportJob, dir, typ string, members []string, deadline time.Time) (err error) {
	files := []string{typ}
	if job.Facts && typ == "ServiceRequest" {
		files = append(files, socialrx.ExportFactsType)
	}
	var outs []*output
	defer func() {
		for _, o := range outs {
			if cerr := o.f.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	restart := false
	for _, name := range files {
		o, ok, err := r.open(job, dir, name)
		if err != nil {
			return fmt.Errorf("export %s: %w", job.ID, err)
		}
		outs = append(outs, o)
		restart = restart || !ok
	}
	if restart {
		// A file lost lines it had at the checkpoint: write the type
		// again from its first resource.
		for _, o := range outs {
			out := &job.Outputs[o.idx]
			if o.idx == outs[0].idx {
				job.Done -= out.Count
			}
			out.Count, out.Bytes = 0, 0
			if err := o.f.Truncate(0); err != nil {
				return err
			}
			if _, err := o.f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			o.w = bufio.NewWriterSize(o.f, 256<<10)
		}
		job.Cursor.AfterID = ""
	}
	main := outs[0]
	var facts *Facts
	if len(outs) > 1 {
		facts = &Facts{W: outs[1].w, From: job.FactsFrom}
	}
	checkpoint := func(after string) error {
		for _, o := range outs {
			if err := o.w.Flush(); err != nil {
				return err
			}
			pos, err := o.f.Seek(0, io.SeekCurrent)
			if err != nil {
				return err
			}
			job.Outputs[o.idx].Bytes = pos
		}
		if after != "" {
			job.Cursor.AfterID = after
		}
		return r.save(ctx, job)
	}
	sinceCheck, lastCheck := 0, r.o.Now()
	req := Request(job, typ, members)
	req.AfterID = job.Cursor.AfterID
	err = Stream(ctx, r.o.Store, req, main.w, facts, func(l Line) error {
		job.Outputs[main.idx].Count++
		job.Done++
		if l.Facts {
			job.Outputs[outs[1].idx].Count++
		}
		sinceCheck++
		if sinceCheck < r.o.CheckEvery && r.o.Now().Sub(lastCheck) < time.Second {
			return nil
		}
		sinceCheck, lastCheck = 0, r.o.Now()
		if err := checkpoint(l.Resource.ID); err != nil {
			return err
		}
		if r.o.Now().After(deadline) {
			return errYield
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, o := range outs {
		if err := o.w.Flush(); err != nil {
			return err
		}
		pos, err := o.f.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		job.Outputs[o.idx].Bytes = pos
	}
	return nil
}
