package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/riverqueue/river"

	"github.com/socialrx/socialrx"
)

// Jobs inserts the jobs the workflow schedules (socialrx.OutboxTx:
// Enqueue, ScheduleFollowUpReminder, ScheduleHandoffTask) in the writing
// transaction (the outbox). A Tx collects them and inserts them all with one
// Insert just before it commits: one statement per transaction instead of
// one per job (River's insert on SQLite compiles its statement each time,
// 11% of the writer's time at two jobs per encounter; docs/performance.md).
// Each store implements it over River's InsertManyTx with its own
// transaction type (*sql.Tx on SQLite, pgx.Tx on PostgreSQL), reached
// through the DriverTx it created. A nil Jobs (Options.Jobs) inserts
// nothing.
type Jobs interface {
	Insert(ctx context.Context, tx DriverTx, jobs []river.InsertManyParams) error
}

// uniqueJobs returns jobs without the repeats of a job unique by its
// arguments (every job here is: DeliverJob, FollowUpReminderJob, ...): the
// first of each kind and arguments stays. A transaction may schedule the
// same job twice (two entries of a Bundle about one prescription), and
// River's insert of both in one statement fails on PostgreSQL (ON CONFLICT
// DO UPDATE cannot affect a row twice) where two statements would have
// inserted one.
func uniqueJobs(jobs []river.InsertManyParams) []river.InsertManyParams {
	if len(jobs) < 2 {
		return jobs
	}
	seen := make(map[string]bool, len(jobs))
	out := jobs[:0:0]
	for _, j := range jobs {
		args, err := json.Marshal(j.Args)
		if err != nil {
			out = append(out, j) // River reports it
			continue
		}
		k := j.Args.Kind() + "\x00" + string(args)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, j)
	}
	return out
}

// FollowUpReminderJob is the follow-up reminder of a prescription,
// scheduled at due, unique by prescription: enqueuing it again while one
// exists inserts nothing.
func FollowUpReminderJob(prescriptionID string, due time.Time) river.InsertManyParams {
	return river.InsertManyParams{Args: FollowUpReminderArgs{PrescriptionID: prescriptionID}, InsertOpts: FollowUpReminderOpts(due)}
}

// EscalationJob is the check, at at, whether the follow-up of a
// prescription is still unanswered (socialrx.EscalationArgs), unique by
// prescription.
func EscalationJob(prescriptionID string, at time.Time) river.InsertManyParams {
	return river.InsertManyParams{Args: socialrx.EscalationArgs{PrescriptionID: prescriptionID},
		InsertOpts: &river.InsertOpts{ScheduledAt: at, UniqueOpts: river.UniqueOpts{ByArgs: true}}}
}

// DeliverJob is the delivery of outbox message messageID
// (socialrx.DeliverArgs), unique by message.
func DeliverJob(messageID string) river.InsertManyParams {
	return river.InsertManyParams{Args: socialrx.DeliverArgs{MessageID: messageID}, InsertOpts: DeliverOpts()}
}

// HandoffTaskJob is the job that gives a fax or phone hand-off its referral
// Task when the EMR sent none (socialrx.HandoffArgs), unique by
// prescription and program change (moved: its ServiceRequest version, 0
// for a new prescription).
func HandoffTaskJob(prescriptionID string, moved int64) river.InsertManyParams {
	return river.InsertManyParams{Args: socialrx.HandoffArgs{PrescriptionID: prescriptionID, Moved: moved},
		InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}}
}

// ExportJob is the job that runs Bulk Data export exportID
// (socialrx.ExportArgs), unique by export: tried ExportMaxAttempts times
// (an attempt that fails resumes from the last checkpoint; a time slice
// that ends snoozes, which is not an attempt).
func ExportJob(exportID string) river.InsertManyParams {
	return river.InsertManyParams{Args: socialrx.ExportArgs{ExportID: exportID},
		InsertOpts: &river.InsertOpts{MaxAttempts: ExportMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}}
}

// ExportMaxAttempts is how many failed attempts an export job gets before
// it is failed for good.
const ExportMaxAttempts = 5

// KindFollowUpReminder is the River job kind of FollowUpReminderArgs.
const KindFollowUpReminder = "followup_reminder"

// FollowUpReminderArgs are the arguments of the job that reminds the owner
// of a prescription's follow-up when it falls due. They hold the
// ServiceRequest id only: no PHI in the job table.
type FollowUpReminderArgs struct {
	PrescriptionID string `json:"prescription_id"`
}

// Kind is KindFollowUpReminder.
func (FollowUpReminderArgs) Kind() string { return KindFollowUpReminder }

// InsertOpts makes the job unique by its arguments (one per prescription)
// in every state River keeps.
func (FollowUpReminderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// FollowUpReminderOpts returns the insert options of a reminder due at due.
func FollowUpReminderOpts(due time.Time) *river.InsertOpts {
	return &river.InsertOpts{ScheduledAt: due, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// DeliverOpts returns the insert options of a delivery job: tried at most
// socialrx.DefaultRetryPolicy().MaxAttempts times before the message is
// dead-lettered.
func DeliverOpts() *river.InsertOpts {
	return &river.InsertOpts{MaxAttempts: socialrx.DefaultRetryPolicy().MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// JobCount returns the number of River jobs of kind, in any state. It is
// for tests and operations; it counts in table river_job, which the
// stores' Migrate creates.
func (e *Engine) JobCount(ctx context.Context, kind string) (int, error) {
	var n int64
	if err := e.drv.Reader().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1`, kind).Scan(&n); err != nil {
		return 0, e.translate(err)
	}
	return int(n), nil
}
