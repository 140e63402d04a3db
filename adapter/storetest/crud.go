package storetest

import (
	"testing"
	"time"

	"github.com/socialrx/socialrx"
)

// richPatient exercises what a lossless store must keep: a primitive
// extension (_birthDate), a contained resource, an element unknown to R4,
// extensions, decimals written with trailing zeros and a client meta whose
// versionId and lastUpdated the store must replace (and profile keep).
const richPatient = `{
  "resourceType": "Patient",
  "id": "sent-by-client",
  "meta": {
    "versionId": "99",
    "lastUpdated": "2001-02-03T04:05:06Z",
    "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"],
    "tag": [{"system": "http://example.org/tags", "code": "import"}]
  },
  "contained": [
    {"resourceType": "Organization", "id": "org", "name": "Food Bank of the Valley"}
  ],
  "extension": [
    {
      "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
      "valueCode": "F"
    },
    {
      "url": "http://example.org/fhir/StructureDefinition/household-income",
      "valueQuantity": {"value": 1250.50, "unit": "USD", "system": "urn:iso:std:iso:4217", "code": "USD"}
    }
  ],
  "identifier": [{"system": "http://hospital.example.org/mrn", "value": "MRN-7781"}],
  "active": true,
  "name": [{"use": "official", "family": "Quiñones", "given": ["María", "José"]}],
  "gender": "female",
  "birthDate": "1984-06-02",
  "_birthDate": {
    "extension": [
      {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1984-06-02T14:35:00-05:00"}
    ]
  },
  "managingOrganization": {"reference": "#org"},
  "socialrxUnknownElement": {"kept": [1.50, 2.0, 1e2, "x"]}
}`

const richPatientV2 = `{
  "resourceType": "Patient",
  "id": "rich",
  "meta": {"versionId": "1", "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
  "identifier": [{"system": "http://hospital.example.org/mrn", "value": "MRN-7781"}],
  "active": false,
  "name": [{"use": "official", "family": "Quiñones", "given": ["María"]}],
  "birthDate": "1984-06-02",
  "_birthDate": {"extension": [{"url": "http://example.org/x", "valueDecimal": 0.10}]}
}`

// testCRUD proves create/read/update/delete, the store-owned meta and the
// lossless body.
func testCRUD(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	ctx := t.Context()

	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}

	before := time.Now()
	created, err := txCreate(s, t, "Patient", "rich", richPatient)
	if err != nil {
		t.Fatalf("create Patient/rich: %v", err)
	}
	after := time.Now()
	if created.Type != "Patient" || created.ID != "rich" || created.VersionID != 1 || created.Deleted {
		t.Errorf("create: got %s/%s version %d deleted=%v, want Patient/rich version 1 not deleted",
			created.Type, created.ID, created.VersionID, created.Deleted)
	}
	// Loose bounds: the store may use the database's clock.
	if created.LastUpdated.Before(before.Add(-time.Minute)) || created.LastUpdated.After(after.Add(time.Minute)) {
		t.Errorf("create: LastUpdated %s, want about now (%s..%s)", created.LastUpdated, before, after)
	}
	checkBody(t, "create", created, richPatient)
	meta, _ := mustDecode(t, "create", created.Body)["meta"].(map[string]any)
	if meta["versionId"] == "99" {
		t.Errorf("create: the client-sent meta.versionId 99 was kept")
	}

	got, err := s.Read(ctx, "Patient", "rich")
	if err != nil {
		t.Fatalf("read after create: %v", err)
	}
	sameResource(t, "read after create vs create", created, got)
	checkBody(t, "read after create", got, richPatient)

	// Missing resources.
	_, err = s.Read(ctx, "Patient", "never-was")
	wantCode(t, "read of a missing id", err, socialrx.ENOTFOUND)
	_, err = s.Read(ctx, "Observation", "rich")
	wantCode(t, "read of an id that exists under another type", err, socialrx.ENOTFOUND)

	// Create of a taken id.
	_, err = txCreate(s, t, "Patient", "rich", `{"resourceType":"Patient"}`)
	wantCode(t, "create of an existing id", err, socialrx.ECONFLICT)
	// The same id under another type is another resource.
	other := mustCreate(t, s, "Observation", "rich", obsBody("Patient/rich", "8302-2", "Body height", "2024-01-01", `"valueQuantity":{"value":170.0,"unit":"cm","system":"http://unitsofmeasure.org","code":"cm"}`))
	if other.VersionID != 1 {
		t.Errorf("create Observation/rich: version %d, want 1", other.VersionID)
	}

	// Update.
	updated, wasCreated := mustUpdate(t, s, "Patient", "rich", richPatientV2, 0)
	if wasCreated {
		t.Errorf("update of an existing resource: created = true, want false")
	}
	if updated.VersionID != 2 || updated.Deleted {
		t.Errorf("update: version %d deleted=%v, want version 2 not deleted", updated.VersionID, updated.Deleted)
	}
	if updated.LastUpdated.Before(created.LastUpdated) {
		t.Errorf("update: LastUpdated %s is before version 1's %s", updated.LastUpdated, created.LastUpdated)
	}
	checkBody(t, "update", updated, richPatientV2)
	got, err = s.Read(ctx, "Patient", "rich")
	if err != nil {
		t.Fatalf("read after update: %v", err)
	}
	sameResource(t, "read after update vs update", updated, got)

	// Delete.
	deleted, err := txDelete(s, t, "Patient", "rich", 0)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if deleted == nil {
		t.Fatalf("delete of an existing resource returned nil, want the delete version")
	}
	if deleted.Type != "Patient" || deleted.ID != "rich" || deleted.VersionID != 3 || !deleted.Deleted || deleted.Body != nil {
		t.Errorf("delete: got %s/%s version %d deleted=%v body %q, want Patient/rich version 3 deleted with nil body",
			deleted.Type, deleted.ID, deleted.VersionID, deleted.Deleted, deleted.Body)
	}
	if deleted.LastUpdated.Before(updated.LastUpdated) {
		t.Errorf("delete: LastUpdated %s is before version 2's %s", deleted.LastUpdated, updated.LastUpdated)
	}
	_, err = s.Read(ctx, "Patient", "rich")
	wantCode(t, "read after delete", err, socialrx.EGONE)
	if _, err := s.Read(ctx, "Observation", "rich"); err != nil {
		t.Errorf("read Observation/rich after deleting Patient/rich: %v", err)
	}

	again, err := txDelete(s, t, "Patient", "rich", 0)
	if err != nil || again != nil {
		t.Errorf("second delete: got (%v, %v), want (nil, nil)", again, err)
	}
	missing, err := txDelete(s, t, "Patient", "never-was", 0)
	if err != nil || missing != nil {
		t.Errorf("delete of a missing resource: got (%v, %v), want (nil, nil)", missing, err)
	}
	_, err = s.Read(ctx, "Patient", "never-was")
	wantCode(t, "read after deleting a missing resource", err, socialrx.ENOTFOUND)

	// Create of a deleted id is still a conflict.
	_, err = txCreate(s, t, "Patient", "rich", `{"resourceType":"Patient"}`)
	wantCode(t, "create of a deleted id", err, socialrx.ECONFLICT)

	// Update after delete recreates with the next version number.
	const v4 = `{"resourceType":"Patient","active":true,"name":[{"family":"Quiñones"}],"birthDate":"1984-06"}`
	recreated, wasCreated := mustUpdate(t, s, "Patient", "rich", v4, 0)
	if !wasCreated {
		t.Errorf("update after delete: created = false, want true")
	}
	if recreated.VersionID != 4 {
		t.Errorf("update after delete: version %d, want 4 (the next after the delete)", recreated.VersionID)
	}
	checkBody(t, "update after delete", recreated, v4)
	got, err = s.Read(ctx, "Patient", "rich")
	if err != nil {
		t.Fatalf("read after recreate: %v", err)
	}
	sameResource(t, "read after recreate vs update", recreated, got)

	// Update as create.
	const fresh = `{"resourceType":"Patient","id":"upserted","name":[{"family":"Okafor","given":["Chidi"]}],"birthDate":"1999-09-09"}`
	upserted, wasCreated := mustUpdate(t, s, "Patient", "upserted", fresh, 0)
	if !wasCreated || upserted.VersionID != 1 {
		t.Errorf("update of a new id: created=%v version %d, want created=true version 1", wasCreated, upserted.VersionID)
	}
	checkBody(t, "update as create", upserted, fresh)
	got, err = s.Read(ctx, "Patient", "upserted")
	if err != nil {
		t.Fatalf("read after update as create: %v", err)
	}
	sameResource(t, "read after update as create", upserted, got)
}
