package mapping

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx"
)

func TestHSDSResourceID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"3c1e5a7b-9d2f-4e6a-8c0b-1d3f5a7c9e31", "hsds-3c1e5a7b-9d2f-4e6a-8c0b-1d3f5a7c9e31"},
		{"svc.1", "hsds-svc.1"},
	} {
		if got := HSDSResourceID(tc.in); got != tc.want {
			t.Errorf("HSDSResourceID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := HSDSResourceID("has space")
	if len(long) != 45 || long == HSDSResourceID("has  space") || !fhirIDPattern.MatchString(long[5:]) {
		t.Errorf("hashed id %q: want hsds- and 40 hex digits, distinct per input", long)
	}
}

func TestPhoneTelecom(t *testing.T) {
	for _, tc := range []struct {
		in     HSDSPhone
		want   hsTelecom
		reject bool
	}{
		{HSDSPhone{Number: "416-555-0100"}, hsTelecom{System: "phone", Value: "416-555-0100", Use: "work"}, false},
		{HSDSPhone{Number: "+1 (416) 555-0100", Extension: "22"}, hsTelecom{System: "phone", Value: "+1 (416) 555-0100 ext. 22", Use: "work"}, false},
		{HSDSPhone{Number: "416.555.0100", Type: "fax"}, hsTelecom{System: "fax", Value: "416.555.0100", Use: "work"}, false},
		{HSDSPhone{Number: "4165550100", Type: "cell"}, hsTelecom{System: "phone", Value: "4165550100", Use: "mobile"}, false},
		{HSDSPhone{Number: "4165550100", Type: "text"}, hsTelecom{System: "sms", Value: "4165550100", Use: "work"}, false},
		{HSDSPhone{Number: ""}, hsTelecom{}, true},
		{HSDSPhone{Number: "call us"}, hsTelecom{}, true},
		{HSDSPhone{Number: "12"}, hsTelecom{}, true},
		{HSDSPhone{Number: "1234567890123456"}, hsTelecom{}, true},
		{HSDSPhone{Number: "416-555-0100", Extension: "x22"}, hsTelecom{}, true},
	} {
		got, reason := phoneTelecom(tc.in)
		if (reason != "") != tc.reject || got != tc.want {
			t.Errorf("phoneTelecom(%+v) = %+v, %q; want %+v, reject %v", tc.in, got, reason, tc.want, tc.reject)
		}
	}
}

func TestLastVerified(t *testing.T) {
	for _, tc := range []struct {
		assured, modified, want string
		ok                      bool
	}{
		{"2026-06-01", "2026-07-01T00:00:00Z", "2026-06-01", true},
		{"", "2026-07-01T10:00:00-04:00", "2026-07-01", true},
		{"", "2026-07-01", "2026-07-01", true},
		{"", "", "", false},
		{"June 1st", "", "", false},
		{"", "yesterday", "", false},
	} {
		got, ok := lastVerified(tc.assured, tc.modified)
		if got != tc.want || ok != tc.ok {
			t.Errorf("lastVerified(%q, %q) = %q, %v; want %q, %v", tc.assured, tc.modified, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAvailableTime(t *testing.T) {
	for _, tc := range []struct {
		in     HSDSSchedule
		want   hsAvailableTime
		ok     bool
		reject bool
	}{
		{HSDSSchedule{Freq: "WEEKLY", ByDay: "MO, we", OpensAt: "09:00", ClosesAt: "17:30:00"},
			hsAvailableTime{DaysOfWeek: []string{"mon", "wed"}, AvailableStartTime: "09:00:00", AvailableEndTime: "17:30:00"}, true, false},
		{HSDSSchedule{ByDay: "SA", OpensAt: "10:00Z", ClosesAt: "12:00-05:00"},
			hsAvailableTime{DaysOfWeek: []string{"sat"}, AvailableStartTime: "10:00:00", AvailableEndTime: "12:00:00"}, true, false},
		{HSDSSchedule{Freq: "MONTHLY", ByDay: "2MO"}, hsAvailableTime{}, false, false},
		{HSDSSchedule{Description: "by appointment"}, hsAvailableTime{}, false, false},
		{HSDSSchedule{ByDay: "XX"}, hsAvailableTime{}, false, true},
		{HSDSSchedule{ByDay: "MO", OpensAt: "25:00"}, hsAvailableTime{}, false, true},
	} {
		got, ok, reason := availableTime(tc.in)
		if ok != tc.ok || (reason != "") != tc.reject || (ok && !cmp.Equal(tc.want, got)) {
			t.Errorf("availableTime(%+v) = %+v, %v, %q; want %+v, %v, reject %v", tc.in, got, ok, reason, tc.want, tc.ok, tc.reject)
		}
	}
}

func TestServiceNeedDomains(t *testing.T) {
	for _, tc := range []struct {
		name  string
		terms []HSDSTaxonomyTerm
		svc   string
		want  []socialrx.NeedDomain
	}{
		{"AIRS food code", []HSDSTaxonomyTerm{{Code: "BD-1800.2000", Name: "Food Pantries"}}, "Anything", []socialrx.NeedDomain{socialrx.DomainFood}},
		{"AIRS housing code", []HSDSTaxonomyTerm{{Code: "BH-3800.7000", Name: "Rent Payment Assistance"}}, "", []socialrx.NeedDomain{socialrx.DomainHousing}},
		{"socialrx code", []HSDSTaxonomyTerm{{Code: "childcare", Taxonomy: socialrx.CodeSystemBase + "need-domain"}}, "", []socialrx.NeedDomain{socialrx.DomainChildcare}},
		{"socialrx code outside its taxonomy is a word", []HSDSTaxonomyTerm{{Code: "food", Name: "Other"}}, "", nil},
		{"term words", []HSDSTaxonomyTerm{{Code: "PL-7000", Name: "Arts and Crafts Instruction"}}, "Studio", []socialrx.NeedDomain{socialrx.DomainCreativeExpression}},
		{"name when no term", nil, "Walking Group at the Park", []socialrx.NeedDomain{socialrx.DomainPhysicalActivity}},
		{"terms win over the name", []HSDSTaxonomyTerm{{Code: "BD-1800"}}, "Walking Group", []socialrx.NeedDomain{socialrx.DomainFood}},
		{"two domains, in table order", nil, "Food and Housing Help", []socialrx.NeedDomain{socialrx.DomainHousing, socialrx.DomainFood}},
		{"only at a word start", nil, "Parenting Smart", nil},
		{"nothing", nil, "Legal clinic", nil},
	} {
		got := ServiceNeedDomains(tc.terms, tc.svc)
		if !cmp.Equal(tc.want, got) {
			t.Errorf("%s: ServiceNeedDomains (-want +got):\n%s", tc.name, cmp.Diff(tc.want, got))
		}
	}
}

// TestHSDSDirectoryRejects: one bad record of each kind is left out with a
// reason; its parent or its neighbours are kept.
func TestHSDSDirectoryRejects(t *testing.T) {
	var d HSDSDirectory
	d.AddOrganization("o#1", HSDSOrganization{ID: "o1", Name: "Org", Email: "not an email"})
	d.AddLocation("l#1", HSDSLocation{ID: "l1", Name: "Good", Latitude: HSDSNumber{Value: 43.6, Set: true}, Longitude: HSDSNumber{Value: -79.4, Set: true}})
	d.AddLocation("l#2", HSDSLocation{ID: "l2", Name: "Half", Latitude: HSDSNumber{Value: 43.6, Set: true}})
	d.AddLocation("l#3", HSDSLocation{ID: "l3", Name: "Text", Latitude: HSDSNumber{Bad: "north"}})
	d.AddService("s#1", HSDSService{ID: "s1", OrganizationID: "o1", Name: "Food bank", Status: "active",
		Languages:          []HSDSLanguage{{ID: "lg1", Code: "fr", Name: "French"}, {ID: "lg2", Code: "not a tag!"}},
		Capacities:         []HSDSCapacity{{ID: "c1", Available: HSDSNumber{Value: -1, Set: true}}},
		ServiceAtLocations: []HSDSServiceAtLocation{{ID: "sal1", LocationID: "l1"}, {ID: "sal2", LocationID: "l2"}, {ID: "sal3", LocationID: "nowhere"}}})
	d.AddService("s#2", HSDSService{ID: "s2", Name: "Verified when?", AssuredDate: "soon"})
	res, rejects := d.Resources()
	var got []string
	for _, r := range res {
		got = append(got, r.Type+"/"+r.ID)
	}
	want := []string{"Organization/hsds-o1", "Location/hsds-l1", "HealthcareService/hsds-s1"}
	if !cmp.Equal(want, got) {
		t.Errorf("resources (-want +got):\n%s", cmp.Diff(want, got))
	}
	wantRejects := []string{"organization.email o1", "location l2", "location l3", "service_at_location sal2",
		"service_at_location sal3", "service_capacity c1", "language lg2", "service s2"}
	var gotRejects []string
	for _, r := range rejects {
		gotRejects = append(gotRejects, r.Object+" "+r.ID)
	}
	if !cmp.Equal(wantRejects, gotRejects) {
		t.Errorf("rejects (-want +got):\n%s", cmp.Diff(wantRejects, gotRejects))
	}
}

func TestReferralEndpoint(t *testing.T) {
	term := func(code string) HSDSTaxonomyTerm {
		return HSDSTaxonomyTerm{Code: code, Taxonomy: EndpointConnectionTypeSystem}
	}
	svc := HSDSService{ID: "s1", Name: "Food bank"}
	for _, tc := range []struct {
		code, value string
		reject      bool
	}{
		{"hl7-fhir-msg", "https://ocean.example/fhir", false},
		{"hl7-fhir-rest", "http://10.0.0.5/fhir", false},
		{"direct-project", "mailto:intake@example.org", true}, // socialrx sends nothing over Direct
		{"hl7-fhir-msg", "intake@example.org", true},
		{"hl7-fhir-msg", "https://", true},
	} {
		ep, reason := referralEndpoint(svc, HSDSAttribute{ID: "a1", Value: tc.value}, term(tc.code), nil)
		if (reason != "") != tc.reject {
			t.Errorf("%s %q: reason %q, want reject %v", tc.code, tc.value, reason, tc.reject)
			continue
		}
		if !tc.reject && (ep.Address != tc.value || ep.ConnectionType.Code != tc.code || ep.Identifier[0].Value != "a1") {
			t.Errorf("%s %q: %+v", tc.code, tc.value, ep)
		}
	}
	for uri, want := range map[string]bool{EndpointConnectionTypeSystem: true, EndpointConnectionTypeSystem + "#hl7-fhir-msg": true,
		EndpointConnectionTypeSystem + "-other": false, "http://example.org/taxonomy": false} {
		if got := isEndpointTerm(HSDSTaxonomyTerm{TermURI: uri}); got != want {
			t.Errorf("isEndpointTerm(term_uri %q) = %v, want %v", uri, got, want)
		}
	}
}

// TestHSDSSharedEndpoint: services whose endpoint attributes share one id
// and address reference one Endpoint, made once; the same id with another
// address is rejected for the later service, which is kept without it.
func TestHSDSSharedEndpoint(t *testing.T) {
	term := &HSDSTaxonomyTerm{Code: "hl7-fhir-msg", Taxonomy: EndpointConnectionTypeSystem}
	attr := func(value string) []HSDSAttribute {
		return []HSDSAttribute{{ID: "intake", TaxonomyTerm: term, Value: value}}
	}
	var d HSDSDirectory
	d.AddService("s#1", HSDSService{ID: "s1", Name: "Food bank", Attributes: attr("https://ocean.example/fhir")})
	d.AddService("s#2", HSDSService{ID: "s2", Name: "Meals", Attributes: attr("https://ocean.example/fhir")})
	d.AddService("s#3", HSDSService{ID: "s3", Name: "Pantry", Attributes: attr("https://other.example/fhir")})
	res, rejects := d.Resources()
	var got []string
	refs := map[string]string{}
	for _, r := range res {
		got = append(got, r.Type+"/"+r.ID)
		if r.Type == "HealthcareService" {
			var hs struct {
				Endpoint []struct{ Reference string } `json:"endpoint"`
			}
			if err := json.Unmarshal(r.Body, &hs); err != nil {
				t.Fatal(err)
			}
			for _, e := range hs.Endpoint {
				refs[r.ID] += e.Reference
			}
		}
	}
	want := []string{"Endpoint/hsds-intake", "HealthcareService/hsds-s1", "HealthcareService/hsds-s2", "HealthcareService/hsds-s3"}
	if !cmp.Equal(want, got) {
		t.Errorf("resources (-want +got):\n%s", cmp.Diff(want, got))
	}
	wantRefs := map[string]string{"hsds-s1": "Endpoint/hsds-intake", "hsds-s2": "Endpoint/hsds-intake"}
	if !cmp.Equal(wantRefs, refs) {
		t.Errorf("endpoint references (-want +got):\n%s", cmp.Diff(wantRefs, refs))
	}
	if len(rejects) != 1 || rejects[0].Object != "attribute" || rejects[0].ID != "intake" || !strings.Contains(rejects[0].Reason, "service s1") {
		t.Errorf("rejects = %+v, want the attribute of s3 naming s1", rejects)
	}
}
