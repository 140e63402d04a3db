package enginetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// reportAt is when the prescription of PreReportRows was authored.
var reportAt = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)

// PreReportRows are projection rows as the report's migration (SQLite
// 00011, PostgreSQL 00015) finds them: a prescription now with nav-2,
// whose referral nav-1 rejected on day 2, a referral to nav-2 and an
// entered-in-error one with a first contact on day 1, and the
// prescription_report row the old refresh wrote (all three counted, the
// erroneous contact first).
var PreReportRows = func() []string {
	day := func(n int) int64 { return reportAt.AddDate(0, 0, n).UnixMicro() }
	return []string{
		fmt.Sprintf(`INSERT INTO prescriptions (service_request_id, patient_id, form, form_derived, target, status, authored_on)
VALUES ('rx-a', 'pt-a', 'navigator', false, 'PractitionerRole/nav-2', 'active', %d)`, reportAt.UnixMicro()),
		fmt.Sprintf(`INSERT INTO referrals (task_id, prescription_id, patient_id, performer, status, last_changed, first_contact)
VALUES ('rt-1', 'rx-a', 'pt-a', 'PractitionerRole/nav-1', 'rejected', %d, %d)`, day(2), day(2)),
		fmt.Sprintf(`INSERT INTO referrals (task_id, prescription_id, patient_id, performer, status, last_changed, first_contact)
VALUES ('rt-2', 'rx-a', 'pt-a', 'PractitionerRole/nav-2', 'requested', %d, 0)`, day(3)),
		fmt.Sprintf(`INSERT INTO referrals (task_id, prescription_id, patient_id, performer, status, last_changed, first_contact)
VALUES ('rt-3', 'rx-a', 'pt-a', 'PractitionerRole/nav-2', 'entered-in-error', %d, %d)`, day(1), day(1)),
		fmt.Sprintf(`INSERT INTO prescription_report (prescription_id, referrals, accepted, rejected, completed, first_contact, followed_up, pursued)
VALUES ('rx-a', 3, 0, 1, 0, %d, 1, 'yes')`, day(1)),
	}
}()

// CheckReportRebuilt fails unless the program report over PreReportRows
// counts the rejection for nav-1, leaves the entered-in-error referral
// out and keeps the follow-up answer with the prescription's program.
func CheckReportRebuilt(t *testing.T, s socialrx.Store) {
	t.Helper()
	from := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	got, err := s.ProgramReport(t.Context(), from, from.AddDate(0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []socialrx.ReportStats{
		{Key: "PractitionerRole/nav-1", Referrals: 1, Referred: 1, Rejected: 1, Contacted: 1, MedianDaysToContact: 2},
		{Key: "PractitionerRole/nav-2", Prescriptions: 1, Referrals: 1, Referred: 1, FollowedUp: 1, Pursued: 1},
	}
	if diff := cmp.Diff(want, got.Programs); diff != "" {
		t.Errorf("programs after the migration (-want +got):\n%s", diff)
	}
	if got.Total.Referrals != 2 || got.Total.Contacted != 1 || got.Total.MedianDaysToContact != 2 {
		t.Errorf("total after the migration: %+v, want 2 referrals, first contact on day 2", got.Total)
	}
}
