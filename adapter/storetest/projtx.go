package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// testProjectionsInTx: what a transaction reads of the projections of
// resources it created, and of prescription rows it wrote, equals what the
// database holds. The stores answer those reads without a statement
// (session 11: a new resource has no projection row; a written prescription
// row is what was written), so this checks each such answer against a read
// in a transaction of its own, and the cases where the shortcut must not
// apply: a projection row written before the resource was created, a row
// dropped, a create that failed.
func testProjectionsInTx(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()
	srBody := `{"resourceType":"ServiceRequest","status":"active","intent":"order","subject":{"reference":"Patient/p1"}}`
	taskBody := `{"resourceType":"Task","status":"requested","intent":"order"}`
	toronto, err := time.LoadLocation("America/Toronto")
	if err != nil {
		t.Fatal(err)
	}
	// Nanoseconds and a zone the rows do not keep; lists and fields the
	// row has no column for.
	p := socialrx.Prescription{ID: "sr-new", PatientID: "p1", Form: socialrx.FormWarmHandoff, FormDerived: true,
		Needs: []socialrx.NeedDomain{"food", "housing"}, NeedRefs: []string{"Condition/c1"},
		Code:   socialrx.Coding{System: "http://snomed.info/sct", Code: "1", Display: "Food bank"},
		Target: "HealthcareService/hs1", Channel: socialrx.Channel("ocean"), Status: "active", RequesterID: "PractitionerRole/pr1",
		AuthoredOn:  time.Date(2026, 12, 6, 9, 30, 1, 123456789, toronto),
		Identifiers: []socialrx.Coding{{System: "urn:emr", Code: "42"}}, FollowUp: &socialrx.FollowUp{PrescriptionID: "sr-new"}}
	r := socialrx.Referral{ID: "task-new", PrescriptionID: "sr-new", PatientID: "p1", Performer: "HealthcareService/hs1",
		Status: socialrx.ReferralRequested, LastChanged: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}

	readRx := func(id string) (*socialrx.Prescription, bool) {
		t.Helper()
		var got *socialrx.Prescription
		var ok bool
		if err := s.Transact(ctx, func(tx socialrx.Tx) error {
			var err error
			got, ok, err = tx.Prescription(ctx, id)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got, ok
	}
	var inTx *socialrx.Prescription
	err = s.Transact(ctx, func(tx socialrx.Tx) error {
		if _, err := tx.Create(ctx, "ServiceRequest", "sr-new", []byte(srBody)); err != nil {
			return err
		}
		if _, ok, err := tx.Prescription(ctx, "sr-new"); err != nil || ok {
			t.Errorf("a ServiceRequest created in the transaction: prescription found %v, %v; want none", ok, err)
		}
		if err := tx.DropProjections(ctx, "ServiceRequest", "sr-new"); err != nil {
			return err
		}
		if err := tx.PutPrescription(ctx, &p); err != nil {
			return err
		}
		got, ok, err := tx.Prescription(ctx, "sr-new")
		if err != nil || !ok {
			t.Fatalf("the prescription written in the transaction: found %v, %v", ok, err)
		}
		inTx = got
		got.Needs[0] = "changed" // a copy: the next read is unchanged
		again, _, _ := tx.Prescription(ctx, "sr-new")
		if again.Needs[0] != "food" {
			t.Errorf("a caller's change of its copy leaked: needs %v", again.Needs)
		}
		if _, err := tx.Create(ctx, "Task", "task-new", []byte(taskBody)); err != nil {
			return err
		}
		if _, ok, err := tx.Referral(ctx, "task-new"); err != nil || ok {
			t.Errorf("a Task created in the transaction: referral found %v, %v; want none", ok, err)
		}
		if err := tx.DropProjections(ctx, "Task", "task-new"); err != nil {
			return err
		}
		if err := tx.PutReferral(ctx, &r); err != nil {
			return err
		}
		if _, ok, err := tx.Referral(ctx, "task-new"); err != nil || !ok {
			t.Errorf("the referral written in the transaction: found %v, %v", ok, err)
		}
		rs, err := tx.ReferralsOf(ctx, "sr-new")
		if err != nil || len(rs) != 1 || rs[0].ID != "task-new" {
			t.Errorf("ReferralsOf in the transaction: %v, %v; want task-new", rs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inTx.Needs[0] = "food"
	stored, ok := readRx("sr-new")
	if !ok {
		t.Fatal("the prescription was not stored")
	}
	if diff := cmp.Diff(stored, inTx); diff != "" {
		t.Errorf("the prescription read in its transaction differs from the stored row (-stored +in tx):\n%s", diff)
	}

	// A projection row written before its resource is created in the same
	// transaction is found.
	err = s.Transact(ctx, func(tx socialrx.Tx) error {
		early := r
		early.ID = "task-early"
		if err := tx.PutReferral(ctx, &early); err != nil {
			return err
		}
		if _, err := tx.Create(ctx, "Task", "task-early", []byte(taskBody)); err != nil {
			return err
		}
		if _, ok, err := tx.Referral(ctx, "task-early"); err != nil || !ok {
			t.Errorf("a referral written before its Task was created: found %v, %v; want it", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A failed create (the id is taken) leaves the existing rows visible.
	err = s.Transact(ctx, func(tx socialrx.Tx) error {
		if _, err := tx.Create(ctx, "ServiceRequest", "sr-new", []byte(srBody)); socialrx.ErrorCode(err) != socialrx.ECONFLICT {
			t.Errorf("create of a taken id: %v, want ECONFLICT", err)
		}
		if _, ok, err := tx.Prescription(ctx, "sr-new"); err != nil || !ok {
			t.Errorf("after a failed create: prescription found %v, %v; want it", ok, err)
		}
		if _, ok, err := tx.Referral(ctx, "task-new"); err != nil || !ok {
			t.Errorf("after a failed create: referral found %v, %v; want it", ok, err)
		}
		// Dropped in the transaction: gone for its later reads too.
		if err := tx.DropProjections(ctx, "ServiceRequest", "sr-new"); err != nil {
			return err
		}
		if _, ok, err := tx.Prescription(ctx, "sr-new"); err != nil || ok {
			t.Errorf("after a drop: prescription found %v, %v; want none", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := readRx("sr-new"); ok {
		t.Error("the dropped prescription row is still stored")
	}

	// ReferralsOf a prescription whose ServiceRequest the transaction
	// created with CreateNew is answered from the referral rows it wrote
	// (no row written before can name a minted id): through a dropped
	// referral and one moved over from another prescription, and checked
	// against the rows stored. A delivery mark (a conditional UPDATE) makes
	// the store read them again.
	ref := func(id string, st socialrx.ReferralStatus) socialrx.Referral {
		return socialrx.Referral{ID: id, PrescriptionID: "sr-minted", PatientID: "p1", Performer: "HealthcareService/hs1", Status: st,
			StatusReason: "full", EndpointID: "ocean-east", DeliveryState: socialrx.DeliveryPending,
			LastChanged: time.Date(2026, 12, 6, 11, 0, 0, 987654321, toronto)} // nanoseconds and a zone the row does not keep
	}
	var inTxRefs []socialrx.Referral
	err = s.Transact(ctx, func(tx socialrx.Tx) error {
		if _, err := tx.CreateNew(ctx, "ServiceRequest", "sr-minted", []byte(srBody)); err != nil {
			return err
		}
		for _, r := range []socialrx.Referral{ref("task-m2", socialrx.ReferralRequested), ref("task-m1", socialrx.ReferralRejected), ref("task-m3", socialrx.ReferralRequested)} {
			if err := tx.PutReferral(ctx, &r); err != nil {
				return err
			}
		}
		moved := ref("task-new", socialrx.ReferralRequested) // stored before for sr-new
		if err := tx.PutReferral(ctx, &moved); err != nil {
			return err
		}
		if err := tx.DropProjections(ctx, "Task", "task-m3"); err != nil {
			return err
		}
		rs, err := tx.ReferralsOf(ctx, "sr-minted")
		if err != nil {
			return err
		}
		inTxRefs = rs
		if old, err := tx.ReferralsOf(ctx, "sr-new"); err != nil || len(old) != 1 || old[0].ID != "task-early" {
			t.Errorf("ReferralsOf the prescription task-new moved from: %v, %v; want task-early only", old, err)
		}
		if err := tx.MarkReferralDelivery(ctx, "task-m2", socialrx.DeliveryFailed, "refused"); err != nil {
			return err
		}
		rs, err = tx.ReferralsOf(ctx, "sr-minted")
		if err != nil {
			return err
		}
		if len(rs) != 3 || rs[1].ID != "task-m2" || rs[1].DeliveryState != socialrx.DeliveryFailed {
			t.Errorf("ReferralsOf after a delivery mark: %+v; want task-m2 failed among three", rs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var storedRefs []socialrx.Referral
	if err := s.Transact(ctx, func(tx socialrx.Tx) error {
		var err error
		storedRefs, err = tx.ReferralsOf(ctx, "sr-minted")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(inTxRefs) == 3 && inTxRefs[1].ID == "task-m2" {
		inTxRefs[1].DeliveryState, inTxRefs[1].DeliveryError = socialrx.DeliveryFailed, "refused" // the mark, made after
	}
	if diff := cmp.Diff(storedRefs, inTxRefs); diff != "" {
		t.Errorf("ReferralsOf a minted prescription in its transaction differs from the stored rows (-stored +in tx):\n%s", diff)
	}

	// The derived facts of a resource the transaction created have nothing
	// to replace the first time (no statement), and replace the facts the
	// transaction wrote the second time.
	list := func(code string) socialrx.Fact {
		return socialrx.Fact{Param: "work-list", System: socialrx.CodeSystemBase + "task-code", Code: code}
	}
	err = s.Transact(ctx, func(tx socialrx.Tx) error {
		if _, err := tx.CreateNew(ctx, "Task", "task-facts", []byte(taskBody)); err != nil {
			return err
		}
		if err := tx.PutFacts(ctx, "Task", "task-facts", []socialrx.Fact{list("send-fax")}); err != nil {
			return err
		}
		return tx.PutFacts(ctx, "Task", "task-facts", []socialrx.Fact{list("call-to-confirm")})
	})
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]int{"send-fax": 0, "call-to-confirm": 1} {
		if got := searchPage(t, s, "Task", "work-list="+socialrx.CodeSystemBase+"task-code|"+code).Matches; len(got) != want {
			t.Errorf("work-list %s after two PutFacts in the creating transaction: %v, want %d match", code, keys(got), want)
		}
	}
}
