package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/socialrx/socialrx"
)

// ReportSeed is a seeded set of projection rows for the program report:
// prescriptions (some outside the period), their referrals (with status
// histories), answered follow-ups (some answered twice) and billed visits.
// WantReport computes the report from it the plain way, independently of
// the store's SQL.
type ReportSeed struct {
	Prescriptions []socialrx.Prescription
	// Referrals holds each referral's status history, oldest first: the
	// store is given every step, as the workflow gives it each new Task
	// version.
	Referrals [][]socialrx.Referral
	Results   []socialrx.FollowUpResult
	Billed    []socialrx.BilledVisit
}

// reportPrograms are the seed's programs; "" is a prescription without one.
var reportPrograms = []string{"HealthcareService/food-bank", "HealthcareService/walking-group", "Organization/housing-help", ""}

// NewReportSeed makes a seed of n prescriptions authored in [from-30d,
// to+30d) from the random source seed.
func NewReportSeed(n int, from, to time.Time, seed uint64) *ReportSeed {
	rnd := rand.New(rand.NewPCG(seed, 7))
	span := to.Sub(from) + 60*24*time.Hour
	domains := socialrx.AllNeedDomains()
	statuses := []socialrx.ReferralStatus{socialrx.ReferralRequested, socialrx.ReferralReceived, socialrx.ReferralAccepted,
		socialrx.ReferralRejected, socialrx.ReferralInProgress, socialrx.ReferralOnHold, socialrx.ReferralCompleted, socialrx.ReferralCancelled}
	pursued := []socialrx.Pursued{"", socialrx.PursuedYes, socialrx.PursuedNo, socialrx.PursuedPartly}
	wellbeing := []socialrx.Wellbeing{"", socialrx.WellbeingBetter, socialrx.WellbeingSame, socialrx.WellbeingWorse}
	codes := []string{"K005", "K013", "K030", "K033", "K037"}
	s := &ReportSeed{}
	for i := range n {
		at := from.Add(-30*24*time.Hour + time.Duration(rnd.Int64N(int64(span)))).Truncate(time.Second).UTC()
		p := socialrx.Prescription{ID: fmt.Sprintf("rx-%05d", i), PatientID: fmt.Sprintf("pt-%04d", i%97), Form: socialrx.FormWarmHandoff,
			Target: reportPrograms[rnd.IntN(len(reportPrograms))], Status: "active", AuthoredOn: at}
		for range rnd.IntN(3) { // 0, 1 or 2 need domains
			d := domains[rnd.IntN(len(domains))]
			if !slices.Contains(p.Needs, d) {
				p.Needs = append(p.Needs, d)
			}
		}
		s.Prescriptions = append(s.Prescriptions, p)
		for r := range rnd.IntN(3) {
			var hist []socialrx.Referral
			t := at
			step := func(st socialrx.ReferralStatus, hold string) {
				t = t.Add(time.Duration(1+rnd.IntN(20*24)) * time.Hour)
				r := socialrx.Referral{ID: fmt.Sprintf("ref-%05d-%d", i, r), PrescriptionID: p.ID, PatientID: p.PatientID,
					Performer: p.Target, Status: st, LastChanged: t}
				if hold != "" { // socialrx holds it for the patient's consent
					r.DeliveryState, r.DeliveryError, r.StatusReason = socialrx.DeliveryHeld, hold, hold
				}
				hist = append(hist, r)
			}
			if rnd.IntN(4) == 0 { // held before it was ever sent
				step(socialrx.ReferralOnHold, socialrx.HoldConsentNeeded)
			}
			for range 1 + rnd.IntN(3) {
				step(statuses[rnd.IntN(len(statuses))], "")
			}
			if last := hist[len(hist)-1].Status; !last.Terminal() && rnd.IntN(4) == 0 { // consent revoked
				step(socialrx.ReferralOnHold, socialrx.HoldConsentRevoked)
			}
			s.Referrals = append(s.Referrals, hist)
		}
		for f := range rnd.IntN(3) {
			s.Results = append(s.Results, socialrx.FollowUpResult{ResponseID: fmt.Sprintf("qr-%05d-%d", i, f), PrescriptionID: p.ID, PatientID: p.PatientID,
				Pursued: pursued[1+rnd.IntN(3)], Satisfaction: rnd.IntN(6), Wellbeing: wellbeing[rnd.IntN(len(wellbeing))],
				NextStep: socialrx.NextKeepGoing, AnsweredAt: at.Add(time.Duration(14+f*14) * 24 * time.Hour)})
		}
		if rnd.IntN(2) == 0 {
			st := "billed"
			if rnd.IntN(5) == 0 {
				st = "planned"
			}
			s.Billed = append(s.Billed, socialrx.BilledVisit{ChargeItemID: fmt.Sprintf("ci-%05d", i), PatientID: p.PatientID,
				EncounterID: fmt.Sprintf("enc-%05d", i), Code: codes[rnd.IntN(len(codes))], Status: st, OccurredAt: at})
		}
	}
	return s
}

// Put writes the seed through tx.
func (s *ReportSeed) Put(t testing.TB, tx socialrx.Tx) {
	t.Helper()
	ctx := t.Context()
	for i := range s.Prescriptions {
		if err := tx.PutPrescription(ctx, &s.Prescriptions[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, hist := range s.Referrals {
		for i := range hist {
			if err := tx.PutReferral(ctx, &hist[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range s.Results {
		if err := tx.PutFollowUpResult(ctx, s.Results[i].ResponseID, &s.Results[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range s.Billed {
		if err := tx.PutBilledVisit(ctx, s.Billed[i].ChargeItemID, &s.Billed[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// WantReport computes the report over [from, to) from the seed, one
// prescription at a time, with the definitions of socialrx.ProgramReport.
func (s *ReportSeed) WantReport(from, to time.Time) *socialrx.ProgramReport {
	type acc struct {
		st   socialrx.ReportStats
		days []float64
	}
	total := &acc{}
	programs, needs := map[string]*acc{}, map[string]*acc{}
	group := func(m map[string]*acc, k string) *acc {
		if m[k] == nil {
			m[k] = &acc{st: socialrx.ReportStats{Key: k}}
		}
		return m[k]
	}
	for _, p := range s.Prescriptions {
		if p.AuthoredOn.Before(from) || !p.AuthoredOn.Before(to) {
			continue
		}
		var one socialrx.ReportStats
		one.Prescriptions = 1
		var contact time.Time
		for _, hist := range s.Referrals {
			if hist[0].PrescriptionID != p.ID {
				continue
			}
			last := hist[len(hist)-1].Status
			one.Referrals++
			// The program's answers: a step on hold for consent is
			// socialrx's own.
			answered := false
			for _, step := range hist {
				if step.DeliveryState != socialrx.DeliveryHeld &&
					slices.Contains([]socialrx.ReferralStatus{"accepted", "rejected", "on-hold", "in-progress", "completed"}, step.Status) {
					answered = true
				}
			}
			held := hist[len(hist)-1].DeliveryState == socialrx.DeliveryHeld
			if slices.Contains([]socialrx.ReferralStatus{"accepted", "on-hold", "in-progress", "completed"}, last) && (!held || answered) {
				one.Accepted++
			}
			if last == "rejected" {
				one.Rejected++
			}
			if last == "completed" {
				one.Completed++
			}
			for _, step := range hist { // the first step the program set
				if step.DeliveryState == socialrx.DeliveryHeld {
					continue
				}
				if slices.Contains([]socialrx.ReferralStatus{"accepted", "rejected", "on-hold", "in-progress", "completed"}, step.Status) {
					if contact.IsZero() || step.LastChanged.Before(contact) {
						contact = step.LastChanged
					}
					break
				}
			}
		}
		var latest *socialrx.FollowUpResult
		for i, r := range s.Results {
			if r.PrescriptionID == p.ID && (latest == nil || r.AnsweredAt.After(latest.AnsweredAt) ||
				(r.AnsweredAt.Equal(latest.AnsweredAt) && r.ResponseID > latest.ResponseID)) {
				latest = &s.Results[i]
			}
		}
		if latest != nil {
			one.FollowedUp = 1
			if latest.Pursued == "yes" || latest.Pursued == "partly" {
				one.Pursued = 1
			}
			if latest.Satisfaction > 0 {
				one.SatisfactionN, one.SatisfactionSum = 1, latest.Satisfaction
			}
			if latest.Wellbeing != "" {
				one.WellbeingN = 1
				if latest.Wellbeing == "better" {
					one.Improved = 1
				}
			}
		}
		add := func(a *acc) {
			a.st.Prescriptions += one.Prescriptions
			a.st.Referrals += one.Referrals
			a.st.Accepted += one.Accepted
			a.st.Rejected += one.Rejected
			a.st.Completed += one.Completed
			a.st.FollowedUp += one.FollowedUp
			a.st.Pursued += one.Pursued
			a.st.SatisfactionN += one.SatisfactionN
			a.st.SatisfactionSum += one.SatisfactionSum
			a.st.WellbeingN += one.WellbeingN
			a.st.Improved += one.Improved
			if !contact.IsZero() {
				a.days = append(a.days, contact.Sub(p.AuthoredOn).Hours()/24)
			}
		}
		add(total)
		add(group(programs, p.Target))
		for _, d := range p.Needs {
			add(group(needs, string(d)))
		}
	}
	finish := func(a *acc) socialrx.ReportStats {
		st := a.st
		st.Contacted = len(a.days)
		if n := len(a.days); n > 0 {
			sort.Float64s(a.days)
			if n%2 == 1 {
				st.MedianDaysToContact = a.days[n/2]
			} else {
				st.MedianDaysToContact = (a.days[n/2-1] + a.days[n/2]) / 2
			}
		}
		return st
	}
	list := func(m map[string]*acc) []socialrx.ReportStats {
		var out []socialrx.ReportStats
		for _, a := range m {
			out = append(out, finish(a))
		}
		slices.SortFunc(out, func(a, b socialrx.ReportStats) int {
			if a.Key < b.Key {
				return -1
			}
			if a.Key > b.Key {
				return 1
			}
			return 0
		})
		return out
	}
	rep := &socialrx.ProgramReport{From: from, To: to, Programs: list(programs), Needs: list(needs)}
	if total.st.Prescriptions > 0 {
		rep.Total = finish(total)
	}
	codes := map[string]int{}
	for _, v := range s.Billed {
		if v.Billed() && !v.OccurredAt.Before(from) && v.OccurredAt.Before(to) {
			codes[v.Code]++
		}
	}
	for _, c := range socialrx.OHIPFeeCodes() {
		if codes[c.Code] > 0 {
			rep.Billed = append(rep.Billed, socialrx.BilledCount{Code: c.Code, Visits: codes[c.Code]})
		}
	}
	return rep
}

// reportOpts compares reports: days to first contact to a microsecond.
var reportOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmpopts.EquateEmpty(),
	cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".MedianDaysToContact" },
		cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-6 })),
}

func testProgramReport(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

	empty, err := s.ProgramReport(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if empty.Total.Prescriptions != 0 || len(empty.Programs) != 0 || len(empty.Needs) != 0 || len(empty.Billed) != 0 {
		t.Errorf("report of an empty store: %+v", empty)
	}
	_, err = s.ProgramReport(ctx, to, from)
	wantCode(t, "a period that ends before it starts", err, socialrx.EINVALID)

	seed := NewReportSeed(400, from, to, 1)
	if err := s.Transact(ctx, func(tx socialrx.Tx) error { seed.Put(t, tx); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, period := range [][2]time.Time{{from, to}, {from.AddDate(0, 2, 0), from.AddDate(0, 3, 0)}} {
		got, err := s.ProgramReport(ctx, period[0], period[1])
		if err != nil {
			t.Fatal(err)
		}
		want := seed.WantReport(period[0], period[1])
		if want.Total.Prescriptions == 0 || want.Total.Contacted == 0 || want.Total.FollowedUp == 0 || len(want.Billed) == 0 {
			t.Fatalf("test bug: the seed gives an empty report for %v: %+v", period, want.Total)
		}
		if diff := cmp.Diff(want, got, reportOpts); diff != "" {
			t.Errorf("report %s..%s (-want computed from the seed, +got from the store):\n%s", period[0].Format(time.DateOnly), period[1].Format(time.DateOnly), diff)
		}
	}

	// A referral's first contact survives later changes; dropping a
	// response's rows drops its result.
	at := from.Add(time.Hour)
	p := socialrx.Prescription{ID: "rx-only", PatientID: "pt-only", Form: socialrx.FormWarmHandoff, Target: "HealthcareService/only-one",
		Status: "active", AuthoredOn: at}
	res := socialrx.FollowUpResult{ResponseID: "qr-only", PrescriptionID: p.ID, PatientID: p.PatientID, Pursued: socialrx.PursuedYes,
		Satisfaction: 4, Wellbeing: socialrx.WellbeingBetter, AnsweredAt: at.AddDate(0, 0, 20)}
	err = s.Transact(ctx, func(tx socialrx.Tx) error {
		if err := tx.PutPrescription(ctx, &p); err != nil {
			return err
		}
		for _, st := range []struct {
			status socialrx.ReferralStatus
			days   int
		}{{socialrx.ReferralRequested, 1}, {socialrx.ReferralAccepted, 3}, {socialrx.ReferralCompleted, 40}} {
			// As the workflow writes a new version of the Task: its old
			// rows dropped, then the new ones put.
			if err := tx.DropProjections(ctx, "Task", "ref-only"); err != nil {
				return err
			}
			r := socialrx.Referral{ID: "ref-only", PrescriptionID: p.ID, PatientID: p.PatientID, Status: st.status, LastChanged: at.AddDate(0, 0, st.days)}
			if err := tx.PutReferral(ctx, &r); err != nil {
				return err
			}
		}
		return tx.PutFollowUpResult(ctx, res.ResponseID, &res)
	})
	if err != nil {
		t.Fatal(err)
	}
	only := programStats(t, s, from, to, p.Target)
	want := socialrx.ReportStats{Key: p.Target, Prescriptions: 1, Referrals: 1, Accepted: 1, Completed: 1, FollowedUp: 1, Pursued: 1,
		SatisfactionN: 1, SatisfactionSum: 4, WellbeingN: 1, Improved: 1, Contacted: 1, MedianDaysToContact: 3}
	if diff := cmp.Diff(want, only, reportOpts); diff != "" {
		t.Errorf("accepted on day 3, completed on day 40 (-want +got):\n%s", diff)
	}
	if err := s.Transact(ctx, func(tx socialrx.Tx) error { return tx.DropProjections(ctx, "QuestionnaireResponse", res.ResponseID) }); err != nil {
		t.Fatal(err)
	}
	want.FollowedUp, want.Pursued, want.SatisfactionN, want.SatisfactionSum, want.WellbeingN, want.Improved = 0, 0, 0, 0, 0, 0
	if diff := cmp.Diff(want, programStats(t, s, from, to, p.Target), reportOpts); diff != "" {
		t.Errorf("after the response was dropped (-want +got):\n%s", diff)
	}
}

// programStats returns the report's row of program key.
func programStats(t *testing.T, s socialrx.Store, from, to time.Time, key string) socialrx.ReportStats {
	t.Helper()
	got, err := s.ProgramReport(t.Context(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range got.Programs {
		if st.Key == key {
			return st
		}
	}
	t.Fatalf("program %s missing from %+v", key, got.Programs)
	return socialrx.ReportStats{}
}
