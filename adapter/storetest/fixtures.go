package storetest

import "fmt"

// Code systems used by the fixtures.
const (
	mrnSystem   = "http://hospital.example.org/mrn"
	loinc       = "http://loinc.org"
	snomed      = "http://snomed.info/sct"
	ucum        = "http://unitsofmeasure.org"
	otherServer = "https://other.example.org/fhir/Patient/p9"
)

// obsBody returns a vital-signs Observation on subject with a LOINC code.
// value is the JSON of the value[x] member ("valueQuantity": {...}).
func obsBody(subject, code, display, effective, value string) string {
	return fmt.Sprintf(`{
  "resourceType": "Observation",
  "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
  "code": {"coding": [{"system": %q, "code": %q, "display": %q}]},
  "subject": {"reference": %q},
  "effectiveDateTime": %q,
  %s
}`, loinc, code, display, subject, effective, value)
}

// patientBody returns a Patient with one official name.
func patientBody(family, given, birthDate string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","active":true,"name":[{"use":"official","family":%q,"given":[%q]}],"birthDate":%q}`,
		family, given, birthDate)
}

// searchFixtures is the data of the search tests: realistic R4 JSON of a
// social-care referral flow. Patient/p6 is deleted after loading.
var searchFixtures = []fixture{
	{"Patient", "p1", `{
  "resourceType": "Patient",
  "identifier": [{"system": "` + mrnSystem + `", "value": "MRN-001"}],
  "active": true,
  "name": [{"use": "official", "family": "Müller", "given": ["Anna", "Lena"]}],
  "telecom": [{"system": "phone", "value": "555-0101", "use": "mobile"}],
  "gender": "female",
  "birthDate": "1980-03-15",
  "address": [{"city": "Springfield", "postalCode": "62701"}]
}`},
	{"Patient", "p2", `{
  "resourceType": "Patient",
  "identifier": [{"system": "` + mrnSystem + `", "value": "MRN-002"}],
  "active": true,
  "name": [{"use": "official", "family": "Smith", "given": ["John"]}],
  "gender": "male",
  "birthDate": "1975-12-01"
}`},
	{"Patient", "p3", `{
  "resourceType": "Patient",
  "identifier": [{"system": "http://clinic.example.org/patients", "value": "C-3"}],
  "name": [{"family": "Smithson", "given": ["Éloise"]}],
  "birthDate": "1980-07-04"
}`},
	{"Patient", "p4", `{
  "resourceType": "Patient",
  "identifier": [{"system": "` + mrnSystem + `", "value": "MRN-004"}],
  "active": false,
  "name": [{"family": "García", "given": ["José"]}],
  "gender": "male",
  "birthDate": "2001-01-01"
}`},
	{"Patient", "p5", `{
  "resourceType": "Patient",
  "active": true,
  "name": [{"family": "Nguyen", "given": ["Anh"]}],
  "gender": "female",
  "birthDate": "1990-05-20"
}`},
	{"Patient", "p6", `{
  "resourceType": "Patient",
  "identifier": [{"system": "` + mrnSystem + `", "value": "MRN-006"}],
  "name": [{"family": "Smithers", "given": ["Eloise"]}],
  "gender": "female",
  "birthDate": "1980-03-15"
}`},
	{"Organization", "org1", `{"resourceType":"Organization","active":true,"name":"Valley Food Bank","type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":"cg"}]}]}`},
	{"Organization", "org2", `{"resourceType":"Organization","active":true,"name":"Housing First Springfield"}`},
	{"Practitioner", "pr1", `{"resourceType":"Practitioner","name":[{"family":"Okoro","given":["Ada"],"prefix":["Dr."]}]}`},
	{"PractitionerRole", "role1", `{"resourceType":"PractitionerRole","practitioner":{"reference":"Practitioner/pr1"},"organization":{"reference":"Organization/org2"}}`},
	{"Encounter", "e1", `{
  "resourceType": "Encounter",
  "status": "finished",
  "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
  "subject": {"reference": "Patient/p1"},
  "period": {"start": "2024-01-10T08:30:00Z", "end": "2024-01-10T09:30:00Z"}
}`},
	{"Encounter", "e2", `{
  "resourceType": "Encounter",
  "status": "in-progress",
  "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR", "display": "virtual"},
  "subject": {"reference": "Patient/p2"},
  "period": {"start": "2024-02-05T15:00:00Z"}
}`},
	{"Observation", "o1", `{
  "resourceType": "Observation",
  "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
  "code": {"coding": [{"system": "` + loinc + `", "code": "8302-2", "display": "Body height"}]},
  "subject": {"reference": "Patient/p1"},
  "encounter": {"reference": "Encounter/e1"},
  "effectiveDateTime": "2024-01-10T09:00:00Z",
  "valueQuantity": {"value": 165.5, "unit": "cm", "system": "` + ucum + `", "code": "cm"}
}`},
	{"Observation", "o2", `{
  "resourceType": "Observation",
  "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
  "code": {"coding": [{"system": "` + loinc + `", "code": "29463-7", "display": "Body weight"}]},
  "subject": {"reference": "Patient/p1"},
  "effectivePeriod": {"start": "2024-02-01T00:00:00Z", "end": "2024-02-03T00:00:00Z"},
  "valueQuantity": {"value": 70.25, "unit": "kg", "system": "` + ucum + `", "code": "kg"}
}`},
	{"Observation", "o3", `{
  "resourceType": "Observation",
  "status": "preliminary",
  "code": {"coding": [{"system": "` + loinc + `", "code": "8302-2"}], "text": "Body height"},
  "subject": {"reference": "Patient/p2"},
  "effectiveDateTime": "2023-06-15",
  "valueQuantity": {"value": 180, "unit": "cm", "system": "` + ucum + `", "code": "cm"}
}`},
	{"Observation", "o4", `{
  "resourceType": "Observation",
  "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "social-history"}]}],
  "code": {"coding": [{"system": "` + loinc + `", "code": "72166-2", "display": "Tobacco smoking status"}]},
  "subject": {"reference": "` + otherServer + `"},
  "effectiveDateTime": "2024-03-01T12:00:00+01:00",
  "valueCodeableConcept": {"coding": [{"system": "` + snomed + `", "code": "8517006", "display": "Ex-smoker"}]}
}`},
	{"Observation", "o5", `{
  "resourceType": "Observation",
  "status": "final",
  "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-category", "code": "sdoh"}]}],
  "code": {"coding": [{"system": "` + loinc + `", "code": "88122-7", "display": "Within the past 12 months we worried whether our food would run out before we got money to buy more [U.S. FSS]"}]},
  "subject": {"reference": "Patient/p3"},
  "effectiveDateTime": "2024-01-20",
  "valueCodeableConcept": {"coding": [{"system": "` + loinc + `", "code": "LA28397-0", "display": "Often true"}]}
}`},
	{"Observation", "o6", `{
  "resourceType": "Observation",
  "status": "final",
  "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
  "code": {"coding": [{"system": "` + loinc + `", "code": "8867-4", "display": "Heart rate"}]},
  "subject": {"reference": "Patient/p6"},
  "effectiveDateTime": "2022-08-08T07:15:00Z",
  "valueQuantity": {"value": 72, "unit": "beats/minute", "system": "` + ucum + `", "code": "/min"}
}`},
	{"Condition", "c1", `{
  "resourceType": "Condition",
  "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
  "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/condition-category", "code": "health-concern"}]}],
  "code": {"coding": [{"system": "` + snomed + `", "code": "733423003", "display": "Food insecurity"}]},
  "subject": {"reference": "Patient/p1"}
}`},
	{"Condition", "c2", `{
  "resourceType": "Condition",
  "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"}]},
  "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "Z59.0", "display": "Homelessness"}]},
  "subject": {"reference": "Patient/p2"}
}`},
	{"Condition", "c3", `{
  "resourceType": "Condition",
  "code": {"coding": [{"code": "homeless"}], "text": "Homeless (self-reported)"},
  "subject": {"reference": "Patient/p4"}
}`},
	{"Condition", "c4", `{
  "resourceType": "Condition",
  "code": {"coding": [{"system": "http://example.org/local-codes", "code": "homeless"}]},
  "subject": {"reference": "Patient/p5"}
}`},
	{"ServiceRequest", "sr1", `{
  "resourceType": "ServiceRequest",
  "status": "active",
  "intent": "order",
  "category": [{"coding": [{"system": "` + snomed + `", "code": "410606002", "display": "Social service procedure"}]}],
  "code": {"coding": [{"system": "` + snomed + `", "code": "467771000124109", "display": "Assistance with application for food pantry program"}]},
  "subject": {"reference": "Patient/p1"},
  "authoredOn": "2024-01-15T10:00:00Z",
  "requester": {"reference": "Practitioner/pr1"},
  "performer": [{"reference": "Organization/org1"}]
}`},
	{"ServiceRequest", "sr2", `{
  "resourceType": "ServiceRequest",
  "status": "completed",
  "intent": "order",
  "category": [{"coding": [{"system": "` + snomed + `", "code": "410606002", "display": "Social service procedure"}]}],
  "code": {"coding": [{"system": "` + snomed + `", "code": "710824005", "display": "Assessment of health literacy"}]},
  "subject": {"reference": "Patient/p2"},
  "authoredOn": "2024-02-20T16:45:00Z",
  "requester": {"reference": "PractitionerRole/role1"},
  "performer": [{"reference": "Organization/org2"}]
}`},
	{"ServiceRequest", "sr3", `{
  "resourceType": "ServiceRequest",
  "status": "draft",
  "intent": "proposal",
  "category": [{"coding": [{"system": "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes", "code": "housing-instability"}]}],
  "code": {"coding": [{"system": "` + snomed + `", "code": "1156848003", "display": "Referral to housing program"}]},
  "subject": {"reference": "Patient/p3"},
  "authoredOn": "2023-11-30"
}`},
	{"Task", "t1", `{
  "resourceType": "Task",
  "status": "requested",
  "intent": "order",
  "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
  "focus": {"reference": "ServiceRequest/sr1"},
  "for": {"reference": "Patient/p1"},
  "basedOn": [{"reference": "ServiceRequest/sr1"}],
  "authoredOn": "2024-01-15T10:05:00Z",
  "requester": {"reference": "Practitioner/pr1"},
  "owner": {"reference": "Organization/org1"}
}`},
	{"Task", "t2", `{
  "resourceType": "Task",
  "status": "in-progress",
  "intent": "order",
  "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
  "focus": {"reference": "ServiceRequest/sr2"},
  "for": {"reference": "Patient/p2"},
  "partOf": [{"reference": "Task/t1"}],
  "authoredOn": "2024-02-20T17:00:00Z",
  "requester": {"reference": "PractitionerRole/role1"},
  "owner": {"reference": "Organization/org2"}
}`},
	{"Task", "t3", `{
  "resourceType": "Task",
  "status": "completed",
  "intent": "order",
  "focus": {"reference": "ServiceRequest/sr3"},
  "for": {"reference": "Patient/p3"},
  "authoredOn": "2023-12-01T09:00:00Z",
  "requester": {"reference": "Practitioner/pr1"},
  "owner": {"reference": "Organization/org1"}
}`},
	{"Questionnaire", "q1", `{"resourceType":"Questionnaire","url":"http://example.org/fhir/Questionnaire/hunger-vital-sign","name":"HungerVitalSign","status":"active"}`},
	{"Questionnaire", "q2", `{"resourceType":"Questionnaire","url":"http://example.org/fhir/Questionnaire/ahc-hrsn","name":"AHCHRSN","status":"active"}`},
	{"ChargeItem", "ci1", `{"resourceType":"ChargeItem","status":"billable","code":{"coding":[{"system":"http://example.org/charges","code":"case-mgmt"}]},"subject":{"reference":"Patient/p1"},"factorOverride":0.80}`},
	{"ChargeItem", "ci2", `{"resourceType":"ChargeItem","status":"billable","code":{"coding":[{"system":"http://example.org/charges","code":"case-mgmt"}]},"subject":{"reference":"Patient/p2"},"factorOverride":1.2}`},
}
