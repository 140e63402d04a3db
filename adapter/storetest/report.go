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
// prescriptions (some outside the period, some revoked, some entered in
// error), their referrals (with status histories; some sent to another
// program than the prescription's current one, as when the EMR moved it,
// some entered in error), answered follow-ups (some answered twice) and
// billed visits.
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
		socialrx.ReferralRejected, socialrx.ReferralInProgress, socialrx.ReferralOnHold, socialrx.ReferralCompleted, socialrx.ReferralCancelled,
		socialrx.ReferralEnteredInError}
	pursued := []socialrx.Pursued{"", socialrx.PursuedYes, socialrx.PursuedNo, socialrx.PursuedPartly}
	wellbeing := []socialrx.Wellbeing{"", socialrx.WellbeingBetter, socialrx.WellbeingSame, socialrx.WellbeingWorse}
	codes := []string{"K005", "K013", "K030", "K033", "K037"}
	s := &ReportSeed{}
	for i := range n {
		at := from.Add(-30*24*time.Hour + time.Duration(rnd.Int64N(int64(span)))).Truncate(time.Second).UTC()
		p := socialrx.Prescription{ID: fmt.Sprintf("rx-%05d", i), PatientID: fmt.Sprintf("pt-%04d", i%97), Form: socialrx.FormWarmHandoff,
			Target: reportPrograms[rnd.IntN(len(reportPrograms))], Status: "active", AuthoredOn: at}
		switch rnd.IntN(16) {
		case 0:
			p.Status = "revoked"
		case 1:
			p.Status = "entered-in-error"
		case 2: // socialrx's unconfirmed suggestion (try-alternative): counts nowhere
			p.Status = "draft"
		case 3: // no authoredOn: in no period, counted as undated
			p.AuthoredOn = time.Time{}
		}
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
			performer := p.Target
			if rnd.IntN(4) == 0 { // sent to a program the prescription has since moved from
				performer = reportPrograms[rnd.IntN(len(reportPrograms))]
			}
			step := func(st socialrx.ReferralStatus, hold string) {
				t = t.Add(time.Duration(1+rnd.IntN(20*24)) * time.Hour)
				r := socialrx.Referral{ID: fmt.Sprintf("ref-%05d-%d", i, r), PrescriptionID: p.ID, PatientID: p.PatientID,
					Performer: performer, Status: st, LastChanged: t}
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
	undated := 0
	for _, p := range s.Prescriptions {
		if p.Status == "entered-in-error" || p.Status == "draft" {
			continue
		}
		if p.AuthoredOn.IsZero() {
			undated++
			continue
		}
		if p.AuthoredOn.Before(from) || !p.AuthoredOn.Before(to) {
			continue
		}
		var one socialrx.ReportStats // the prescription's figures
		one.Prescriptions = 1
		var contact time.Time
		// Per program its referrals went to: their counts and first contact.
		byProgram := map[string]*socialrx.ReportStats{}
		progContact := map[string]time.Time{}
		for _, hist := range s.Referrals {
			if hist[0].PrescriptionID != p.ID {
				continue
			}
			cur := hist[len(hist)-1]
			last := cur.Status
			if last == socialrx.ReferralEnteredInError {
				continue
			}
			var ref socialrx.ReportStats
			ref.Referrals = 1
			// The program's answers: a step on hold for consent is
			// socialrx's own.
			answered := false
			for _, step := range hist {
				if step.DeliveryState != socialrx.DeliveryHeld &&
					slices.Contains([]socialrx.ReferralStatus{"accepted", "rejected", "on-hold", "in-progress", "completed"}, step.Status) {
					answered = true
				}
			}
			held := cur.DeliveryState == socialrx.DeliveryHeld
			if slices.Contains([]socialrx.ReferralStatus{"accepted", "on-hold", "in-progress", "completed"}, last) && (!held || answered) {
				ref.Accepted = 1
			}
			if last == "rejected" {
				ref.Rejected = 1
			}
			if last == "completed" {
				ref.Completed = 1
			}
			var first time.Time
			for _, step := range hist { // the first step the program set
				if step.DeliveryState == socialrx.DeliveryHeld {
					continue
				}
				if slices.Contains([]socialrx.ReferralStatus{"accepted", "rejected", "on-hold", "in-progress", "completed"}, step.Status) {
					first = step.LastChanged
					break
				}
			}
			for _, st := range []*socialrx.ReportStats{&one, orNew(byProgram, cur.Performer)} {
				st.Referrals += ref.Referrals
				st.Accepted += ref.Accepted
				st.Rejected += ref.Rejected
				st.Completed += ref.Completed
			}
			if !first.IsZero() {
				if contact.IsZero() || first.Before(contact) {
					contact = first
				}
				if c := progContact[cur.Performer]; c.IsZero() || first.Before(c) {
					progContact[cur.Performer] = first
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
		if latest != nil && p.Status != "revoked" { // a revoked prescription's answers count nowhere
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
		add := func(a *acc, one socialrx.ReportStats, contact time.Time) {
			a.st.Prescriptions += one.Prescriptions
			a.st.Referrals += one.Referrals
			a.st.Referred += min(one.Referrals, 1)
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
		add(total, one, contact)
		for _, d := range p.Needs {
			add(group(needs, string(d)), one, contact)
		}
		// By program: the prescription and its answers under its program,
		// each referral under the program it went to.
		mine := one
		mine.Referrals, mine.Accepted, mine.Rejected, mine.Completed = 0, 0, 0, 0
		add(group(programs, p.Target), mine, time.Time{})
		for k, st := range byProgram {
			add(group(programs, k), *st, progContact[k])
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
	rep := &socialrx.ProgramReport{From: from, To: to, Programs: list(programs), Needs: list(needs), Undated: undated}
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
		if want.Total.Prescriptions == 0 || want.Total.Contacted == 0 || want.Total.FollowedUp == 0 || len(want.Billed) == 0 || want.Undated == 0 ||
			!slices.ContainsFunc(seed.Prescriptions, func(p socialrx.Prescription) bool {
				return p.Status == "draft" && !p.AuthoredOn.Before(period[0]) && p.AuthoredOn.Before(period[1])
			}) {
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
			r := socialrx.Referral{ID: "ref-only", PrescriptionID: p.ID, PatientID: p.PatientID, Performer: p.Target, Status: st.status, LastChanged: at.AddDate(0, 0, st.days)}
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
	want := socialrx.ReportStats{Key: p.Target, Prescriptions: 1, Referrals: 1, Referred: 1, Accepted: 1, Completed: 1, FollowedUp: 1, Pursued: 1,
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

// testProgramReportMoved: a referral counts for the program it was sent
// to, not for the prescription's program now (the EMR moved the
// prescription from nav-1, which rejected it, to nav-2); entered-in-error
// prescriptions and referrals count nowhere; a revoked prescription counts
// as prescribed, with its referrals, but its follow-up answers do not; a
// referral without an owner counts under no program.
func testProgramReportMoved(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()
	from := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	at := from.Add(10 * time.Hour)
	const nav1, nav2 = "PractitionerRole/nav-1", "PractitionerRole/nav-2"
	rx := func(id, status string) socialrx.Prescription {
		return socialrx.Prescription{ID: id, PatientID: "pt-" + id, Form: socialrx.FormNavigator, Target: nav2, Status: status,
			AuthoredOn: at, Needs: []socialrx.NeedDomain{socialrx.NeedDomain("food-insecurity")}}
	}
	moved, wrong, revoked := rx("rx-moved", "active"), rx("rx-wrong", "entered-in-error"), rx("rx-revoked", "revoked")
	ref := func(id string, p socialrx.Prescription, performer string, st socialrx.ReferralStatus, days int) socialrx.Referral {
		return socialrx.Referral{ID: id, PrescriptionID: p.ID, PatientID: p.PatientID, Performer: performer, Status: st,
			LastChanged: at.AddDate(0, 0, days)}
	}
	refs := []socialrx.Referral{
		ref("rt-c1", moved, nav1, socialrx.ReferralRejected, 2),       // nav-1 declined it
		ref("rt-c2", moved, nav2, socialrx.ReferralRequested, 3),      // then sent to nav-2
		ref("rt-c3", moved, nav2, socialrx.ReferralEnteredInError, 3), // a mistake
		ref("rt-c4", moved, "", socialrx.ReferralAccepted, 4),         // sent to no program (no owner)
		ref("rt-w", wrong, nav2, socialrx.ReferralAccepted, 1),        // of an erroneous prescription
		ref("rt-r", revoked, nav2, socialrx.ReferralAccepted, 1),      // accepted, then the prescription was revoked
	}
	results := []socialrx.FollowUpResult{
		{ResponseID: "qr-moved", PrescriptionID: moved.ID, PatientID: moved.PatientID, Pursued: socialrx.PursuedYes, AnsweredAt: at.AddDate(0, 0, 20)},
		{ResponseID: "qr-wrong", PrescriptionID: wrong.ID, PatientID: wrong.PatientID, Pursued: socialrx.PursuedYes, AnsweredAt: at.AddDate(0, 0, 20)},
		{ResponseID: "qr-revoked", PrescriptionID: revoked.ID, PatientID: revoked.PatientID, Pursued: socialrx.PursuedNo, Satisfaction: 1,
			Wellbeing: socialrx.WellbeingWorse, AnsweredAt: at.AddDate(0, 0, 20)},
	}
	err := s.Transact(ctx, func(tx socialrx.Tx) error {
		for _, p := range []socialrx.Prescription{moved, wrong, revoked} {
			if err := tx.PutPrescription(ctx, &p); err != nil {
				return err
			}
		}
		for i := range refs {
			if err := tx.PutReferral(ctx, &refs[i]); err != nil {
				return err
			}
		}
		for i := range results {
			if err := tx.PutFollowUpResult(ctx, results[i].ResponseID, &results[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ProgramReport(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	total := socialrx.ReportStats{Prescriptions: 2, Referrals: 4, Referred: 2, Accepted: 2, Rejected: 1, FollowedUp: 1, Pursued: 1,
		Contacted: 2, MedianDaysToContact: 1.5}
	need := total
	need.Key = "food-insecurity"
	want := &socialrx.ProgramReport{From: from, To: to, Total: total,
		Programs: []socialrx.ReportStats{
			{Key: "", Referrals: 1, Referred: 1, Accepted: 1, Contacted: 1, MedianDaysToContact: 4},
			{Key: nav1, Referrals: 1, Referred: 1, Rejected: 1, Contacted: 1, MedianDaysToContact: 2},
			{Key: nav2, Prescriptions: 2, Referrals: 2, Referred: 2, Accepted: 1, FollowedUp: 1, Pursued: 1, Contacted: 1, MedianDaysToContact: 1},
		},
		Needs: []socialrx.ReportStats{need}}
	if diff := cmp.Diff(want, got, reportOpts); diff != "" {
		t.Errorf("a prescription moved from nav-1 to nav-2, one entered in error, one revoked (-want +got):\n%s", diff)
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

// orNew returns m[k], made when missing.
func orNew(m map[string]*socialrx.ReportStats, k string) *socialrx.ReportStats {
	if m[k] == nil {
		m[k] = &socialrx.ReportStats{}
	}
	return m[k]
}

// WantCount is how many of the seed's prescriptions count when the period
// holds every dated one (all but those entered in error, drafts and the
// undated).
func (s *ReportSeed) WantCount() int {
	n := 0
	for _, p := range s.Prescriptions {
		if p.Status != "entered-in-error" && p.Status != "draft" && !p.AuthoredOn.IsZero() {
			n++
		}
	}
	return n
}
