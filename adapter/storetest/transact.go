package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/socialrx/socialrx"
)

// errRollback is what a transaction fn returns to abandon its writes.
var errRollback = errors.New("storetest: roll back")

// testTransactions proves that Transact is all-or-nothing and that a Tx
// reads and searches its own writes.
func testTransactions(t *testing.T, open func(t *testing.T) socialrx.Store) {
	// nothingOf checks that no trace of the ids is left: no resource, no
	// history, no search hit.
	nothingOf := func(t *testing.T, s socialrx.Store, typ string, ids ...string) {
		t.Helper()
		for _, id := range ids {
			_, err := s.Read(t.Context(), typ, id)
			wantCode(t, fmt.Sprintf("read of %s/%s written by a rolled back transaction", typ, id), err, socialrx.ENOTFOUND)
			_, err = s.VRead(t.Context(), typ, id, 1)
			wantCode(t, fmt.Sprintf("vread of %s/%s/_history/1 written by a rolled back transaction", typ, id), err, socialrx.ENOTFOUND)
		}
		for _, req := range []socialrx.HistoryRequest{{Type: typ}, {}} {
			got, total := historyAll(t, s, req)
			for _, v := range got {
				for _, id := range ids {
					if v.Type == typ && v.ID == id {
						t.Errorf("history %+v holds %s of a rolled back transaction (Total %d)", req, versionKey(v), total)
					}
				}
			}
		}
		m, _, first := searchAll(t, s, typ, "family=rollback")
		if len(m) != 0 || first.Total != 0 {
			t.Errorf("search after roll back: %v (Total %d), want no match", keys(m), first.Total)
		}
	}

	t.Run("FnError", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
			for i := range 3 {
				if _, err := tx.Create(t.Context(), "Patient", fmt.Sprintf("r%d", i), []byte(patientBody("Rollback", "R", "1990-01-01"))); err != nil {
					return err
				}
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Errorf("Transact: got %v, want fn's error", err)
		}
		nothingOf(t, s, "Patient", "r0", "r1", "r2")
		if got, total := historyAll(t, s, socialrx.HistoryRequest{}); len(got) != 0 || total != 0 {
			t.Errorf("system history after roll back: %v (Total %d), want none", versionKeys(got), total)
		}
		// The ids are free again.
		r := mustCreate(t, s, "Patient", "r0", patientBody("Kept", "K", "1990-01-01"))
		if r.VersionID != 1 {
			t.Errorf("create after roll back: version %d, want 1", r.VersionID)
		}
	})

	t.Run("StoreErrorMidway", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		taken := mustCreate(t, s, "Patient", "taken", patientBody("Taken", "T", "1990-01-01"))
		existing := mustCreate(t, s, "Patient", "existing", patientBody("Existing", "E", "1990-01-01"))
		err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
			for _, id := range []string{"m0", "m1"} {
				if _, err := tx.Create(t.Context(), "Patient", id, []byte(patientBody("Rollback", "M", "1991-01-01"))); err != nil {
					return fmt.Errorf("create %s: %w", id, err)
				}
			}
			if _, _, err := tx.Update(t.Context(), "Patient", "existing", []byte(patientBody("Rollback", "E", "1990-01-01")), 0); err != nil {
				return fmt.Errorf("update existing: %w", err)
			}
			if _, err := tx.Delete(t.Context(), "Patient", "taken", 0); err != nil {
				return fmt.Errorf("delete taken: %w", err)
			}
			// The third create: existing is taken, a conflict.
			_, err := tx.Create(t.Context(), "Patient", "existing", []byte(patientBody("Rollback", "X", "1991-01-01")))
			return err
		})
		wantCode(t, "Transact whose third create conflicts", err, socialrx.ECONFLICT)
		nothingOf(t, s, "Patient", "m0", "m1")
		got, err := s.Read(t.Context(), "Patient", "existing")
		if err != nil {
			t.Fatalf("read of a resource updated by a rolled back transaction: %v", err)
		}
		sameResource(t, "read of a resource updated by a rolled back transaction", existing, got)
		got, err = s.Read(t.Context(), "Patient", "taken")
		if err != nil {
			t.Fatalf("read of a resource deleted by a rolled back transaction: %v", err)
		}
		sameResource(t, "read of a resource deleted by a rolled back transaction", taken, got)
		if h, total := historyAll(t, s, socialrx.HistoryRequest{}); total != 2 || len(h) != 2 {
			t.Errorf("system history after roll back: %v (Total %d), want the two versions written before", versionKeys(h), total)
		}
	})

	t.Run("ReadOwnWrites", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mustCreate(t, s, "Patient", "before", patientBody("Before", "B", "1980-01-01"))
		var v1, v2 *socialrx.Resource
		err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
			ctx := t.Context()
			var err error
			if v1, err = tx.Create(ctx, "Patient", "own", []byte(patientBody("Ownwrite", "O", "1985-05-05"))); err != nil {
				return fmt.Errorf("create: %w", err)
			}
			got, err := tx.Read(ctx, "Patient", "own")
			if err != nil {
				return fmt.Errorf("read own create: %w", err)
			}
			sameResource(t, "tx read of its own create", v1, got)

			res, err := tx.Search(ctx, socialrx.SearchRequest{Type: "Patient", Params: mustParseQuery(t, "family=ownwrite"), Strict: true})
			if err != nil {
				return fmt.Errorf("search own create: %w", err)
			}
			if k := keys(res.Matches); len(k) != 1 || k[0] != "Patient/own" || res.Total != 1 {
				t.Errorf("tx search of its own create: %v (Total %d), want [Patient/own]", k, res.Total)
			}
			res, err = tx.Search(ctx, socialrx.SearchRequest{Type: "Patient", Params: mustParseQuery(t, "family=before"), Strict: true})
			if err != nil {
				return fmt.Errorf("search committed data: %w", err)
			}
			if k := keys(res.Matches); len(k) != 1 || k[0] != "Patient/before" {
				t.Errorf("tx search of committed data: %v, want [Patient/before]", k)
			}

			if v2, _, err = tx.Update(ctx, "Patient", "own", []byte(patientBody("Changed", "O", "1985-05-05")), 1); err != nil {
				return fmt.Errorf("update own create: %w", err)
			}
			if v2.VersionID != 2 {
				t.Errorf("tx update of its own create: version %d, want 2", v2.VersionID)
			}
			if got, err = tx.Read(ctx, "Patient", "own"); err != nil {
				return fmt.Errorf("read own update: %w", err)
			}
			sameResource(t, "tx read of its own update", v2, got)
			res, err = tx.Search(ctx, socialrx.SearchRequest{Type: "Patient", Params: mustParseQuery(t, "family=ownwrite"), Strict: true})
			if err != nil {
				return fmt.Errorf("search after own update: %w", err)
			}
			if len(res.Matches) != 0 || res.Total != 0 {
				t.Errorf("tx search for the value its own update removed: %v (Total %d), want none", keys(res.Matches), res.Total)
			}
			res, err = tx.Search(ctx, socialrx.SearchRequest{Type: "Patient", Params: mustParseQuery(t, "family=changed"), Strict: true})
			if err != nil {
				return fmt.Errorf("search after own update: %w", err)
			}
			if len(res.Matches) != 1 || res.Matches[0].VersionID != 2 {
				t.Errorf("tx search for the value its own update wrote: %v, want Patient/own version 2", versionKeys(res.Matches))
			}

			if _, err := tx.Delete(ctx, "Patient", "before", 0); err != nil {
				return fmt.Errorf("delete: %w", err)
			}
			_, err = tx.Read(ctx, "Patient", "before")
			wantCode(t, "tx read of its own delete", err, socialrx.EGONE)
			res, err = tx.Search(ctx, socialrx.SearchRequest{Type: "Patient", Params: mustParseQuery(t, "family=before"), Strict: true})
			if err != nil {
				return fmt.Errorf("search after own delete: %w", err)
			}
			if len(res.Matches) != 0 {
				t.Errorf("tx search after its own delete: %v, want none", keys(res.Matches))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Transact: %v", err)
		}
		got, err := s.Read(t.Context(), "Patient", "own")
		if err != nil {
			t.Fatalf("read after commit: %v", err)
		}
		sameResource(t, "read after commit vs the tx's update", v2, got)
		_, err = s.Read(t.Context(), "Patient", "before")
		wantCode(t, "read after a committed delete", err, socialrx.EGONE)
	})

	// CreateNew (an id minted for the resource) reads as Create: the
	// transaction reads and searches what it wrote, and commits it. On
	// PostgreSQL the write waits for the transaction's next statement.
	t.Run("CreateNew", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var made []*socialrx.Resource
		err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
			ctx := t.Context()
			for _, id := range []string{"new-a", "new-b"} {
				r, err := tx.CreateNew(ctx, "Patient", id, []byte(patientBody("Minted", id, "1975-03-03")))
				if err != nil {
					return fmt.Errorf("create new %s: %w", id, err)
				}
				if r.VersionID != 1 {
					t.Errorf("CreateNew %s: version %d, want 1", id, r.VersionID)
				}
				made = append(made, r)
			}
			got, err := tx.Read(ctx, "Patient", "new-a")
			if err != nil {
				return fmt.Errorf("read own create new: %w", err)
			}
			sameResource(t, "tx read of its own CreateNew", made[0], got)
			res, err := tx.Search(ctx, socialrx.SearchRequest{Type: "Patient", Params: mustParseQuery(t, "family=minted"), Strict: true})
			if err != nil {
				return fmt.Errorf("search own create new: %w", err)
			}
			if k := sorted(keys(res.Matches)); len(k) != 2 || k[0] != "Patient/new-a" || k[1] != "Patient/new-b" {
				t.Errorf("tx search of its own CreateNews: %v, want Patient/new-a and Patient/new-b", k)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Transact: %v", err)
		}
		for _, want := range made {
			got, err := s.Read(t.Context(), "Patient", want.ID)
			if err != nil {
				t.Fatalf("read after commit: %v", err)
			}
			sameResource(t, "read after commit of a CreateNew", want, got)
		}
		if m, _, first := searchAll(t, s, "Patient", "family=minted"); len(m) != 2 || first.Total != 2 {
			t.Errorf("search after commit: %v (Total %d), want the two CreateNews", keys(m), first.Total)
		}
	})

	// A CreateNew whose id is taken after all fails the transaction
	// (SQLite at once with ECONFLICT, PostgreSQL by the next statement or
	// the commit): nothing of it is written, the holder of the id is
	// unchanged.
	t.Run("CreateNewTaken", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		taken := mustCreate(t, s, "Patient", "minted-twice", patientBody("Holder", "H", "1990-01-01"))
		for _, then := range []string{"commit", "read"} {
			err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
				ctx := t.Context()
				if _, err := tx.CreateNew(ctx, "Patient", "ok-"+then, []byte(patientBody("Rollback", "N", "1991-01-01"))); err != nil {
					return err
				}
				if _, err := tx.CreateNew(ctx, "Patient", "minted-twice", []byte(patientBody("Rollback", "X", "1991-01-01"))); err != nil {
					return err
				}
				if then == "read" {
					_, err := tx.Read(ctx, "Patient", "ok-"+then)
					return err
				}
				return nil
			})
			if err == nil {
				t.Fatalf("Transact with a CreateNew of a taken id, then %s: no error", then)
			}
			nothingOf(t, s, "Patient", "ok-"+then)
			got, err := s.Read(t.Context(), "Patient", "minted-twice")
			if err != nil {
				t.Fatalf("read of the id's holder: %v", err)
			}
			sameResource(t, "the holder of a taken id after a CreateNew of it", taken, got)
		}
	})

	// Prefetch hands (if the store reads ahead at all: PostgreSQL does,
	// with the next statement) exactly the current versions of the live
	// resources named, as a read would return them, and nothing of a
	// missing, deleted or malformed reference; what the transaction writes
	// after asking is read as written.
	t.Run("Prefetch", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		live := mustCreate(t, s, "Patient", "pf-live", patientBody("Prefetched", "P", "1980-01-01"))
		mustCreate(t, s, "Patient", "pf-gone", patientBody("Gone", "G", "1980-01-01"))
		mustDelete(t, s, "Patient", "pf-gone")
		handed := map[string]socialrx.Resource{}
		err := s.Transact(t.Context(), func(tx socialrx.Tx) error {
			ctx := t.Context()
			pf, ok := tx.(socialrx.PrefetchTx)
			if !ok {
				return nil
			}
			pf.Prefetch([]string{"Patient/pf-live", "Patient/pf-missing", "Patient/pf-gone", "AuditEvent/x", "not a reference", "Patient/pf-live"},
				func(r socialrx.Resource) {
					if _, twice := handed[r.Type+"/"+r.ID]; twice {
						t.Errorf("Prefetch handed %s/%s twice", r.Type, r.ID)
					}
					handed[r.Type+"/"+r.ID] = r
				})
			if _, _, err := tx.Update(ctx, "Patient", "pf-live", []byte(patientBody("Changed", "P", "1980-01-01")), 0); err != nil {
				return err
			}
			got, err := tx.Read(ctx, "Patient", "pf-live")
			if err != nil {
				return err
			}
			if got.VersionID != 2 {
				t.Errorf("read after a prefetch and an update: version %d, want 2", got.VersionID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for k, r := range handed {
			if k != "Patient/pf-live" {
				t.Errorf("Prefetch handed %s: only the live resource may be", k)
				continue
			}
			sameResource(t, "the prefetched version", live, &r)
		}
	})
}
