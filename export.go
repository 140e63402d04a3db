package socialrx

import (
	"context"
	"time"
)

// Bulk Data export (FHIR Bulk Data Access 2.0, $export): an analyst asks
// for resources by type, changed since a date, of the whole system or of a
// patient compartment; socialrx answers at once with a status URL and
// writes NDJSON files in the background (a durable job), which the same
// client then downloads until they expire.
//
// The states of an export job:
//
//	accepted ──job starts──> in-progress ──all types written──> completed
//	    │                        │  ^ │
//	    │                        │  └─┘ time slice over, or the process
//	    │                        │      died: resumed from the last
//	    │                        │      checkpoint (Cursor)
//	    │                        └──── attempts exhausted ──> failed
//	    └──── DELETE (any state): the record and its files are removed
//
// A completed, failed or cancelled job expires (ExpiresAt) and is removed
// with its files by a periodic cleanup job.

// Export job states (ExportJob.Status).
const (
	ExportAccepted   = "accepted"
	ExportInProgress = "in-progress"
	ExportCompleted  = "completed"
	ExportFailed     = "failed"
)

// Export levels (ExportJob.Level): what the kick-off URL named.
const (
	ExportSystem  = "system"  // [base]/$export
	ExportPatient = "patient" // [base]/Patient/$export
	ExportGroup   = "group"   // [base]/Group/[id]/$export
)

// ExportFactsType is the output type of the derived facts of social
// prescriptions (ExportJob.Facts): one Parameters resource per
// prescription, as ServiceRequest/[id]/$prescription answers it.
const ExportFactsType = "Parameters"

// ExportJob is one Bulk Data export: what was asked (fixed at kick-off)
// and how far it is (written by the job as it runs). It holds no PHI: ids,
// types, dates, counts and file names only.
type ExportJob struct {
	ID    string // random, unguessable; names the status URL and the file directory
	Owner string // Principal.ClientID of the kick-off: the only client served its status and files
	Level string // ExportSystem, ExportPatient or ExportGroup
	// GroupID is the Group of an ExportGroup export.
	GroupID string
	// Types are the resource types to export, in the order written.
	Types []string
	// Since (_since) exports only resources whose lastUpdated is after it;
	// zero exports all.
	Since time.Time
	// TransactionTime is the kick-off time: resources changed after it are
	// left out (they are in the next export _since this time).
	TransactionTime time.Time
	// Request is the kick-off URL as the client sent it (manifest request).
	Request string
	// Facts asks for the derived facts of exported social prescriptions
	// (ExportFactsType).
	Facts bool
	// FactsFrom are those of FactSources whose facts the export writes
	// (PrescriptionRecord.Readable): the ones the kick-off's principal
	// may read. The others are left out.
	FactsFrom []string

	Status string // ExportAccepted, ExportInProgress, ExportCompleted, ExportFailed
	// Total is the number of resources to export, counted when the job
	// starts (0 before); Done how many are written.
	Total, Done int64
	// Cursor is where the job resumes: the index in Types of the type
	// being written and the last id written of it.
	Cursor ExportCursor
	// Outputs are the files written so far, in order.
	Outputs []ExportOutput
	// Error says why a failed job failed (no PHI).
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
	// ExpiresAt is when a finished job and its files are removed; zero
	// while it runs.
	ExpiresAt time.Time
}

// ExportCursor is the resume point of an export job.
type ExportCursor struct {
	TypeIndex int    `json:"type"`  // index in ExportJob.Types
	AfterID   string `json:"after"` // last id written of that type; "" before the first
}

// ExportOutput is one NDJSON file of an export.
type ExportOutput struct {
	Type  string `json:"type"`  // resource type of every line
	File  string `json:"file"`  // file name in the job's directory
	Count int64  `json:"count"` // resources (lines) written
	// Bytes is the length of the file at the last checkpoint: a resumed
	// job cuts the file back to it, dropping lines written after.
	Bytes int64 `json:"bytes"`
}

// Finished reports whether the job ran to its end (completed or failed).
func (j *ExportJob) Finished() bool {
	return j.Status == ExportCompleted || j.Status == ExportFailed
}

// KindExport is the job kind of ExportArgs.
const KindExport = "bulk_export"

// ExportArgs are the arguments of the job that runs one export: its id
// only (the job's state is in the store).
type ExportArgs struct {
	ExportID string `json:"export_id"`
}

// Kind is KindExport.
func (ExportArgs) Kind() string { return KindExport }

// StreamRequest selects current (not deleted) resources of one type for
// Exports.StreamResources.
type StreamRequest struct {
	Type string
	// AfterID starts after this id (keyset position); "" from the first.
	AfterID string
	// Since and Until bound meta.lastUpdated: Since < lastUpdated <=
	// Until; a zero bound is open.
	Since, Until time.Time
	// RefParams, when set, keeps only resources with a reference search
	// parameter among RefParams pointing at a resource of type RefType
	// (the patient compartment: params subject, patient, ...; RefType
	// Patient); with RefIDs set, at one of those ids.
	RefParams []string
	RefType   string
	RefIDs    []string
	// IDs, when set, keeps only resources with one of these ids.
	IDs []string
}

// MaxStreamIDs is the most RefIDs or IDs one StreamRequest may name.
const MaxStreamIDs = 5000

// Exports keeps export jobs and reads resources for them.
type Exports interface {
	// CreateExport records job (ID, Owner, Level, Types, Facts, FactsFrom,
	// TransactionTime, CreatedAt set by the caller; Status is set to
	// accepted) and enqueues its job (ExportArgs) in one transaction.
	// ECONFLICT if the id is taken.
	CreateExport(ctx context.Context, job *ExportJob) error
	// Export returns an export job (ENOTFOUND if there is none).
	Export(ctx context.Context, id string) (*ExportJob, error)
	// SaveExport writes the progress of a job that is not finished:
	// Status, Total, Done, Cursor, Outputs, Error, UpdatedAt, ExpiresAt.
	// ok is false, and nothing is written, when the record is gone
	// (cancelled) or already finished.
	SaveExport(ctx context.Context, job *ExportJob) (ok bool, err error)
	// DeleteExport removes the record of a job (its files are the
	// caller's); deleted is false when there was none.
	DeleteExport(ctx context.Context, id string) (deleted bool, err error)
	// ExpiredExports lists up to limit jobs whose ExpiresAt is set and not
	// after now.
	ExpiredExports(ctx context.Context, now time.Time, limit int) ([]ExportJob, error)
	// ExportIDs lists the ids of every export job recorded (for the
	// cleanup of directories left without a record).
	ExportIDs(ctx context.Context) ([]string, error)

	// StreamResources calls fn with each resource req selects, in id
	// order, reading in bounded batches (memory does not grow with the
	// number of resources): each batch is one short query, so a long
	// export holds no transaction open. fn's error stops the stream and is
	// returned. EINVALID when RefIDs or IDs name more than MaxStreamIDs.
	StreamResources(ctx context.Context, req StreamRequest, fn func(r *Resource) error) error
	// CountResources returns how many resources StreamResources would
	// give for req (AfterID ignored).
	CountResources(ctx context.Context, req StreamRequest) (int64, error)
}
