package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

// testUpsertMany: the bulk write (ResourceTx.UpsertMany) is Update with
// ifMatch 0 for each write, in order: creates and updates mixed, deleted
// resources revived, every version in history and vread, the index of the
// new version only, the global order of the batch; the same id twice in a
// batch is EINVALID and writes nothing; a rolled back batch leaves
// nothing. Run on the store and through the workflow (whose UpsertMany
// sends types with domain rows through Update).
func testUpsertMany(t *testing.T, open func(t *testing.T) socialrx.Store) {
	t.Run("Store", func(t *testing.T) { testUpsertManyOn(t, open(t)) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testUpsertManyConcurrentCreate(t, open(t)) })
	t.Run("Workflow", func(t *testing.T) {
		s := withWorkflow(open(t))
		testUpsertManyOn(t, s)
		testUpsertManyIngests(t, s)
	})
}

func orgBody(name string) string {
	return fmt.Sprintf(`{"resourceType":"Organization","active":true,"name":%q}`, name)
}

func txUpsertMany(s socialrx.Store, t *testing.T, ws []socialrx.Write) ([]*socialrx.Resource, []bool, error) {
	var (
		res     []*socialrx.Resource
		created []bool
	)
	err := writeTx(s, t, func(tx socialrx.ResourceTx) error {
		var err error
		res, created, err = tx.UpsertMany(t.Context(), ws)
		return err
	})
	return res, created, err
}

func write(typ, id, body string) socialrx.Write {
	return socialrx.Write{Type: typ, ID: id, Body: []byte(body)}
}

func testUpsertManyOn(t *testing.T, s socialrx.Store) {
	ctx := t.Context()
	v1 := mustCreate(t, s, "Organization", "bk-a", orgBody("Oldname Agency"))
	mustCreate(t, s, "Location", "bk-b", `{"resourceType":"Location","name":"Alphasite"}`)
	mustDelete(t, s, "Location", "bk-b")

	batch := []socialrx.Write{
		write("Organization", "bk-a", orgBody("Newname Agency")),
		write("HealthcareService", "bk-c", `{"resourceType":"HealthcareService","active":true,"name":"Food bank","providedBy":{"reference":"Organization/bk-a"}}`),
		write("Location", "bk-b", `{"resourceType":"Location","name":"Betasite"}`),
		write("Organization", "bk-d", orgBody("Other Agency")),
	}
	res, created, err := txUpsertMany(s, t, batch)
	if err != nil {
		t.Fatalf("upsert many: %v", err)
	}
	if len(res) != len(batch) || len(created) != len(batch) {
		t.Fatalf("upsert many of %d: %d resources, %d created flags", len(batch), len(res), len(created))
	}
	wantVersion := []int64{2, 1, 3, 1}
	wantCreated := []bool{false, true, true, true}
	for i, w := range batch {
		what := fmt.Sprintf("upsert many [%d] %s/%s", i, w.Type, w.ID)
		if res[i] == nil {
			t.Fatalf("%s: nil resource", what)
		}
		if res[i].Type != w.Type || res[i].ID != w.ID || res[i].VersionID != wantVersion[i] || res[i].Deleted {
			t.Errorf("%s: got %s/%s version %d deleted=%v, want version %d", what, res[i].Type, res[i].ID, res[i].VersionID, res[i].Deleted, wantVersion[i])
		}
		if created[i] != wantCreated[i] {
			t.Errorf("%s: created = %v, want %v", what, created[i], wantCreated[i])
		}
		checkBody(t, what, res[i], string(w.Body))
		got, err := s.Read(ctx, w.Type, w.ID)
		if err != nil {
			t.Errorf("%s: read: %v", what, err)
			continue
		}
		sameResource(t, what+": read", res[i], got)
		vr, err := s.VRead(ctx, w.Type, w.ID, res[i].VersionID)
		if err != nil {
			t.Errorf("%s: vread: %v", what, err)
			continue
		}
		sameResource(t, what+": vread", res[i], vr)
	}
	if !res[0].LastUpdated.After(v1.LastUpdated) {
		t.Errorf("upsert many: lastUpdated %s of version 2 is not after version 1's %s", res[0].LastUpdated, v1.LastUpdated)
	}
	old, err := s.VRead(ctx, "Organization", "bk-a", 1)
	if err != nil {
		t.Fatalf("vread Organization/bk-a/_history/1: %v", err)
	}
	sameResource(t, "version 1 after the bulk update", v1, old)
	_, err = s.VRead(ctx, "Location", "bk-b", 2)
	wantCode(t, "vread of the delete marker before the revival", err, socialrx.EGONE)

	h, _ := historyAll(t, s, socialrx.HistoryRequest{Type: "Organization", ID: "bk-a"})
	if diff := cmp.Diff([]string{"Organization/bk-a/_history/2", "Organization/bk-a/_history/1"}, versionKeys(h)); diff != "" {
		t.Errorf("history of Organization/bk-a (-want +got):\n%s", diff)
	}
	// The batch's versions are the newest, in the batch's order.
	all, _ := historyAll(t, s, socialrx.HistoryRequest{})
	var want []string
	for i := len(res) - 1; i >= 0; i-- {
		want = append(want, versionKey(*res[i]))
	}
	if len(all) < len(want) {
		t.Fatalf("history of everything: %d versions, want at least %d", len(all), len(want))
	}
	var got []string
	for _, v := range all {
		if v.Type != "Task" { // the workflow's own writes, if any
			got = append(got, versionKey(v))
		}
	}
	if diff := cmp.Diff(want, got[:len(want)]); diff != "" {
		t.Errorf("history of everything, newest first (-want +got):\n%s", diff)
	}

	// The index holds the new versions only.
	if m := searchPage(t, s, "Organization", "name=Oldname").Matches; len(m) != 0 {
		t.Errorf("search by the old name after the bulk update: %v, want none", keys(m))
	}
	if m := searchPage(t, s, "Organization", "name=Newname").Matches; len(m) != 1 || m[0].VersionID != 2 {
		t.Errorf("search by the new name: %v, want Organization/bk-a version 2", m)
	}
	if m := searchPage(t, s, "Location", "name=Betasite").Matches; len(m) != 1 || m[0].ID != "bk-b" {
		t.Errorf("search of the revived Location: %v, want Location/bk-b", keys(m))
	}
	if m := searchPage(t, s, "HealthcareService", "organization=Organization/bk-a").Matches; len(m) != 1 || m[0].ID != "bk-c" {
		t.Errorf("search of the new HealthcareService by reference: %v, want HealthcareService/bk-c", keys(m))
	}

	// The same id twice: refused, nothing of the batch written.
	_, _, err = txUpsertMany(s, t, []socialrx.Write{
		write("Organization", "bk-e", orgBody("Dup One")),
		write("Organization", "bk-a", orgBody("Dup Two")),
		write("Organization", "bk-e", orgBody("Dup Three")),
	})
	wantCode(t, "upsert many with an id twice", err, socialrx.EINVALID)
	if _, err := s.Read(ctx, "Organization", "bk-e"); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("read Organization/bk-e after the refused batch: %v, want ENOTFOUND", err)
	}
	if got, err := s.Read(ctx, "Organization", "bk-a"); err != nil || got.VersionID != 2 {
		t.Errorf("Organization/bk-a after the refused batch: %v, %v; want version 2", got, err)
	}

	// A body that is not a resource: refused, nothing written.
	_, _, err = txUpsertMany(s, t, []socialrx.Write{
		write("Organization", "bk-g", orgBody("Fine")),
		write("Organization", "bk-h", `[1, 2]`),
	})
	wantCode(t, "upsert many with a body that is not an object", err, socialrx.EINVALID)
	if _, err := s.Read(ctx, "Organization", "bk-g"); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("read Organization/bk-g after the refused batch: %v, want ENOTFOUND", err)
	}

	// Rolled back: nothing left, not in history, not in the index.
	errAbort := errors.New("abort")
	err = writeTx(s, t, func(tx socialrx.ResourceTx) error {
		if _, _, err := tx.UpsertMany(ctx, []socialrx.Write{
			write("Organization", "bk-a", orgBody("Rolledback Agency")),
			write("Organization", "bk-f", orgBody("Rolledback Other")),
		}); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("rolled back upsert many: err %v, want the function's", err)
	}
	if got, err := s.Read(ctx, "Organization", "bk-a"); err != nil {
		t.Errorf("read Organization/bk-a after the rollback: %v", err)
	} else {
		sameResource(t, "Organization/bk-a after the rollback", res[0], got)
	}
	if _, err := s.Read(ctx, "Organization", "bk-f"); socialrx.ErrorCode(err) != socialrx.ENOTFOUND {
		t.Errorf("read Organization/bk-f after the rollback: %v, want ENOTFOUND", err)
	}
	if _, total := historyAll(t, s, socialrx.HistoryRequest{Type: "Organization", ID: "bk-a"}); total != 2 {
		t.Errorf("history of Organization/bk-a after the rollback: %d versions, want 2", total)
	}
	if m := searchPage(t, s, "Organization", "name=Rolledback").Matches; len(m) != 0 {
		t.Errorf("search after the rollback: %v, want none", keys(m))
	}

	// Empty: nothing, no error.
	if res, created, err := txUpsertMany(s, t, nil); err != nil || len(res)+len(created) != 0 {
		t.Errorf("upsert many of nothing: %v, %v, %v", res, created, err)
	}

	// A batch larger than any one statement of the stores, twice.
	var big []socialrx.Write
	for i := range 150 {
		big = append(big, write("Organization", fmt.Sprintf("bk-big-%03d", i), orgBody(fmt.Sprintf("Firstround Agency %d", i))))
	}
	for round, name := range []string{"Firstround", "Secondround"} {
		for i := range big {
			big[i].Body = []byte(orgBody(fmt.Sprintf("%s Agency %d", name, i)))
		}
		res, created, err := txUpsertMany(s, t, big)
		if err != nil {
			t.Fatalf("upsert many of %d, round %d: %v", len(big), round+1, err)
		}
		for i := range big {
			if res[i].VersionID != int64(round+1) || created[i] != (round == 0) {
				t.Errorf("round %d: %s version %d created %v", round+1, big[i].ID, res[i].VersionID, created[i])
				break
			}
		}
		matches, _, _ := searchAll(t, s, "Organization", "name="+name+"&_count=100")
		if ids := sorted(keys(matches)); len(ids) != len(big) || ids[0] != "Organization/bk-big-000" || ids[len(ids)-1] != "Organization/bk-big-149" {
			t.Errorf("round %d: search name=%s found %d, want the %d", round+1, name, len(ids), len(big))
		}
	}
	if m := searchPage(t, s, "Organization", "name=Firstround").Matches; len(m) != 0 {
		t.Errorf("search by the first round's name after the second: %d matches, want none", len(m))
	}
}

// testUpsertManyIngests: through the workflow, a write of a type with
// domain rows in a bulk batch is ingested as by Update (an Observation's
// findings), in its place among the plain ones.
func testUpsertManyIngests(t *testing.T, s socialrx.Store) {
	res, created, err := txUpsertMany(s, t, []socialrx.Write{
		write("Patient", "ing-p1", ingPatient),
		write("Observation", "ing-hvs", ingHungerVitalSign),
		write("Organization", "bk-after", orgBody("After Agency")),
	})
	if err != nil {
		t.Fatalf("upsert many through the workflow: %v", err)
	}
	if !slices.Equal(created, []bool{true, true, true}) || res[1].Type != "Observation" || res[1].VersionID != 1 {
		t.Errorf("upsert many through the workflow: created %v, res[1] %s/%s version %d", created, res[1].Type, res[1].ID, res[1].VersionID)
	}
	if got := projection(t, s, "ing-p1").Findings; len(got) != 2 {
		t.Errorf("findings of the Observation written in a batch: %d, want 2", len(got))
	}
	all, _ := historyAll(t, s, socialrx.HistoryRequest{})
	if diff := cmp.Diff([]string{"Organization/bk-after/_history/1", "Observation/ing-hvs/_history/1", "Patient/ing-p1/_history/1"}, versionKeys(all[:3])); diff != "" {
		t.Errorf("history after a mixed batch, newest first (-want +got):\n%s", diff)
	}
}

// testUpsertManyConcurrentCreate: a bulk write of an id that another
// transaction creates meanwhile (uncommitted when the bulk write reads
// the current rows, committed while it inserts) does not fail and loses
// neither write: the create is version 1, the bulk write version 2 (on
// PostgreSQL the insert conflicts and the write is done again as an
// update; SQLite's single writer orders the two transactions).
func testUpsertManyConcurrentCreate(t *testing.T, s socialrx.Store) {
	ctx := t.Context()
	created, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Transact(ctx, func(tx socialrx.Tx) error {
			if _, err := tx.Create(ctx, "Organization", "bk-race", []byte(orgBody("First Agency"))); err != nil {
				return err
			}
			close(created)
			<-release
			return nil
		})
	}()
	select {
	case <-created:
	case err := <-first:
		t.Fatalf("create: %v", err)
	}
	second := make(chan error, 1)
	var res []*socialrx.Resource
	var made []bool
	go func() {
		err := s.Transact(ctx, func(tx socialrx.Tx) error {
			var err error
			res, made, err = tx.UpsertMany(ctx, []socialrx.Write{write("Organization", "bk-race", orgBody("Second Agency")),
				write("Organization", "bk-race-other", orgBody("Other Agency"))})
			return err
		})
		second <- err
	}()
	// Let the bulk write reach its read and insert (it waits on the
	// uncommitted row on PostgreSQL), then commit the create.
	time.Sleep(200 * time.Millisecond)
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("bulk write beside a concurrent create: %v", err)
	}
	if len(res) != 2 || res[0].VersionID != 2 || made[0] || res[1].VersionID != 1 || !made[1] {
		t.Fatalf("bulk write: %+v created %v; want bk-race at version 2 (updated), bk-race-other created", res, made)
	}
	cur, err := s.Read(ctx, "Organization", "bk-race")
	if err != nil {
		t.Fatal(err)
	}
	if cur.VersionID != 2 || !strings.Contains(string(cur.Body), "Second Agency") {
		t.Errorf("current bk-race: version %d %s", cur.VersionID, cur.Body)
	}
	v1, err := s.VRead(ctx, "Organization", "bk-race", 1)
	if err != nil || !strings.Contains(string(v1.Body), "First Agency") {
		t.Errorf("bk-race version 1: %v %v", v1, err)
	}
}
