package storetest

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/socialrx/socialrx"
)

// Searches on string parameters whose values are those of other parameters
// of the same resource plus some of their own (R4 address = line, district,
// text plus address-city, -state, -postalcode, -country; name = text,
// prefix, suffix plus family and given; Patient phonetic = name), on
// resources with several addresses and names, every modifier, chains and
// _sort. The matches are R4's whatever rows the store keeps for them.
//
//	Patient u1 names Dr Marie Ève Tremblay (text, prefix, family, given x2) and Jo Roy;
//	           addresses 12 Rue Principale / Apt 3, Ville-Marie, Montréal QC H2X 1Y4 CA,
//	           and Ottawa ON with text "somewhere"
//	Patient u2 name text "Zed Alpha" only; address 1 Main St, country Canada
//	Patient u3 name given Abel, suffix Jr; no address
//	Patient u4 no name; address postalCode M5V 2T6 only
//	Patient u5 name text Roy and family Roy (the same value in two members)
var unionFixtures = []fixture{
	{"Patient", "u1", `{"resourceType":"Patient",
  "name":[{"use":"official","text":"Dr Marie Ève Tremblay","prefix":["Dr"],"family":"Tremblay","given":["Marie","Ève"]},
          {"use":"nickname","family":"Roy","given":["Jo"]}],
  "address":[{"line":["12 Rue Principale","Apt 3"],"district":"Ville-Marie","city":"Montréal","state":"QC","postalCode":"H2X 1Y4","country":"CA"},
             {"text":"somewhere","city":"Ottawa","state":"ON"}]}`},
	{"Patient", "u2", `{"resourceType":"Patient","name":[{"text":"Zed Alpha"}],"address":[{"line":["1 Main St"],"country":"Canada"}]}`},
	{"Patient", "u3", `{"resourceType":"Patient","name":[{"given":["Abel"],"suffix":["Jr"]}]}`},
	{"Patient", "u4", `{"resourceType":"Patient","address":[{"postalCode":"M5V 2T6"}]}`},
	{"Patient", "u5", `{"resourceType":"Patient","name":[{"text":"Roy","family":"Roy"}]}`},
	{"Practitioner", "pu1", `{"resourceType":"Practitioner","name":[{"prefix":["Dr"],"family":"Okafor","given":["Ngozi"]}],"address":[{"line":["200 Elizabeth St"],"city":"Toronto","postalCode":"M5G 2C4"}]}`},
	{"Practitioner", "pu2", `{"resourceType":"Practitioner","name":[{"text":"Sam Lee"}]}`},
	{"Organization", "ou1", `{"resourceType":"Organization","name":"Valley Food Bank","alias":["VFB","Valley Pantry"],"address":[{"city":"Hamilton"},{"state":"ON","line":["9 King St"]}]}`},
	{"Organization", "ou2", `{"resourceType":"Organization","alias":["Northside Hub"]}`},
	{"Location", "lu1", `{"resourceType":"Location","name":"Toronto Hub","address":{"line":["55 Queen St"],"city":"Toronto","state":"ON","postalCode":"M5H 2M9","country":"CA"}}`},
	{"Location", "lu2", `{"resourceType":"Location","name":"Phone line"}`},
	{"HealthcareService", "hu1", `{"resourceType":"HealthcareService","name":"Hub pantry","location":[{"reference":"Location/lu1"}]}`},
	{"HealthcareService", "hu2", `{"resourceType":"HealthcareService","name":"Phone support","location":[{"reference":"Location/lu2"}]}`},
	{"Observation", "ou-1", obsBody("Patient/u1", "8302-2", "Body height", "2024-01-10", `"valueString":"x"`)},
	{"Observation", "ou-2", obsBody("Patient/u2", "8302-2", "Body height", "2024-01-10", `"valueString":"x"`)},
	{"Observation", "ou-4", obsBody("Patient/u4", "8302-2", "Body height", "2024-01-10", `"valueString":"x"`)},
}

var unionCases = []searchCase{
	// address: own members (line, district, text) and the address-* ones
	{typ: "Patient", query: "address=montr", want: []string{"u1"}},
	{typ: "Patient", query: "address=MONTREAL", want: []string{"u1"}},
	{typ: "Patient", query: "address=12 rue", want: []string{"u1"}},
	{typ: "Patient", query: "address=apt", want: []string{"u1"}},
	{typ: "Patient", query: "address=ville", want: []string{"u1"}},
	{typ: "Patient", query: "address=qc", want: []string{"u1"}},
	{typ: "Patient", query: "address=h2x", want: []string{"u1"}},
	{typ: "Patient", query: "address=ca", want: []string{"u1", "u2"}},
	{typ: "Patient", query: "address=ottawa", want: []string{"u1"}},
	{typ: "Patient", query: "address=somewhere", want: []string{"u1"}},
	{typ: "Patient", query: "address=m5v", want: []string{"u4"}},
	{typ: "Patient", query: "address=principale", want: nil},
	{typ: "Patient", query: "address=ottawa,m5v", want: []string{"u1", "u4"}},
	{typ: "Patient", query: "address=ottawa&address=apt", want: []string{"u1"}},
	{typ: "Patient", query: "address=ottawa&address=m5v", want: nil},
	{typ: "Patient", query: "address:exact=Montréal", want: []string{"u1"}},
	{typ: "Patient", query: "address:exact=Montreal", want: nil},
	{typ: "Patient", query: "address:exact=Canada", want: []string{"u2"}},
	{typ: "Patient", query: "address:exact=H2X 1Y4", want: []string{"u1"}},
	{typ: "Patient", query: "address:exact=12 Rue Principale", want: []string{"u1"}},
	{typ: "Patient", query: "address:contains=real", want: []string{"u1"}},
	{typ: "Patient", query: "address:contains=TTAW", want: []string{"u1"}},
	{typ: "Patient", query: "address:contains=2t6", want: []string{"u4"}},
	{typ: "Patient", query: "address:contains=main", want: []string{"u2"}},
	{typ: "Patient", query: "address:missing=true", want: []string{"u3", "u5"}},
	{typ: "Patient", query: "address:missing=false", want: []string{"u1", "u2", "u4"}},
	{typ: "Patient", query: "address-city=ott", want: []string{"u1"}},
	{typ: "Patient", query: "address-city:exact=Montréal", want: []string{"u1"}},
	{typ: "Patient", query: "address-city:missing=true", want: []string{"u2", "u3", "u4", "u5"}},
	{typ: "Patient", query: "address-country=ca", want: []string{"u1", "u2"}},
	{typ: "Patient", query: "address-postalcode=m5v", want: []string{"u4"}},
	{typ: "Patient", query: "address-postalcode=12", want: nil},
	{typ: "Patient", query: "address-state=on", want: []string{"u1"}},
	{typ: "Patient", query: "address=m5v&gender:missing=true&name:missing=true&address:missing=false&address-city:missing=true&address=m5v",
		want: []string{"u4"}},

	// name: own members (text, prefix, suffix) and family, given
	{typ: "Patient", query: "name=tremb", want: []string{"u1"}},
	{typ: "Patient", query: "name=dr", want: []string{"u1"}},
	{typ: "Patient", query: "name=eve", want: []string{"u1"}},
	{typ: "Patient", query: "name=roy", want: []string{"u1", "u5"}},
	{typ: "Patient", query: "name=zed", want: []string{"u2"}},
	{typ: "Patient", query: "name=alpha", want: nil},
	{typ: "Patient", query: "name=abel", want: []string{"u3"}},
	{typ: "Patient", query: "name=jr", want: []string{"u3"}},
	{typ: "Patient", query: "name:exact=Ève", want: []string{"u1"}},
	{typ: "Patient", query: "name:exact=Eve", want: nil},
	{typ: "Patient", query: "name:exact=Roy", want: []string{"u1", "u5"}},
	{typ: "Patient", query: "name:exact=Dr Marie Ève Tremblay", want: []string{"u1"}},
	{typ: "Patient", query: "name:contains=lph", want: []string{"u2"}},
	{typ: "Patient", query: "name:contains=MBL", want: []string{"u1"}},
	{typ: "Patient", query: "name:missing=true", want: []string{"u4"}},
	{typ: "Patient", query: "name:missing=false", want: []string{"u1", "u2", "u3", "u5"}},
	{typ: "Patient", query: "family=roy", want: []string{"u1", "u5"}},
	{typ: "Patient", query: "family=zed", want: nil},
	{typ: "Patient", query: "family=dr", want: nil},
	{typ: "Patient", query: "family:missing=true", want: []string{"u2", "u3", "u4"}},
	{typ: "Patient", query: "given=marie", want: []string{"u1"}},
	{typ: "Patient", query: "given=jr", want: nil},
	{typ: "Patient", query: "given:exact=Abel", want: []string{"u3"}},
	{typ: "Patient", query: "phonetic=tremb", want: []string{"u1"}},
	{typ: "Patient", query: "phonetic=zed", want: []string{"u2"}},
	{typ: "Patient", query: "phonetic:missing=true", want: []string{"u4"}},
	{typ: "Patient", query: "name=roy&address=ottawa", want: []string{"u1"}},

	// the other types with address and name
	{typ: "Practitioner", query: "name=okaf", want: []string{"pu1"}},
	{typ: "Practitioner", query: "name=ngozi", want: []string{"pu1"}},
	{typ: "Practitioner", query: "name=dr", want: []string{"pu1"}},
	{typ: "Practitioner", query: "name=sam", want: []string{"pu2"}},
	{typ: "Practitioner", query: "family=sam", want: nil},
	{typ: "Practitioner", query: "address=toronto", want: []string{"pu1"}},
	{typ: "Practitioner", query: "address=200 eliz", want: []string{"pu1"}},
	{typ: "Practitioner", query: "address:missing=true", want: []string{"pu2"}},
	{typ: "Organization", query: "address=hamilton", want: []string{"ou1"}},
	{typ: "Organization", query: "address=on", want: []string{"ou1"}},
	{typ: "Organization", query: "address=9 king", want: []string{"ou1"}},
	{typ: "Organization", query: "address:missing=true", want: []string{"ou2"}},
	{typ: "Organization", query: "name=valley", want: []string{"ou1"}},
	{typ: "Organization", query: "name=vfb", want: []string{"ou1"}},
	{typ: "Organization", query: "name=north", want: []string{"ou2"}},
	{typ: "Organization", query: "name:exact=Valley Food Bank", want: []string{"ou1"}},
	{typ: "Organization", query: "name:missing=true", want: nil},
	{typ: "Organization", query: "phonetic=valley", want: []string{"ou1"}},
	{typ: "Organization", query: "phonetic=vfb", want: nil},
	{typ: "Organization", query: "phonetic:missing=true", want: []string{"ou2"}},
	{typ: "Location", query: "address=toronto", want: []string{"lu1"}},
	{typ: "Location", query: "address=55 queen", want: []string{"lu1"}},
	{typ: "Location", query: "address:exact=M5H 2M9", want: []string{"lu1"}},
	{typ: "Location", query: "address:contains=queen", want: []string{"lu1"}},
	{typ: "Location", query: "address:missing=true", want: []string{"lu2"}},
	{typ: "Location", query: "address-city=toronto", want: []string{"lu1"}},

	// chains through a reference to a type with such a parameter
	{typ: "Observation", query: "subject:Patient.address=ottawa", want: []string{"ou-1"}},
	{typ: "Observation", query: "subject:Patient.address=m5v,canada", want: []string{"ou-2", "ou-4"}},
	{typ: "Observation", query: "subject:Patient.address:exact=Apt 3", want: []string{"ou-1"}},
	{typ: "Observation", query: "subject:Patient.address-city=montreal", want: []string{"ou-1"}},
	{typ: "Observation", query: "patient.name=zed", want: []string{"ou-2"}},
	{typ: "Observation", query: "patient.name=eve", want: []string{"ou-1"}},
	{typ: "Observation", query: "patient.name:contains=emb", want: []string{"ou-1"}},
	{typ: "HealthcareService", query: "location.address=toronto", want: []string{"hu1"}},
	{typ: "HealthcareService", query: "location.address=55", want: []string{"hu1"}},
	{typ: "HealthcareService", query: "location.address=phone", want: nil},

	// _sort: the least (ascending) or greatest (descending) of all the
	// values, resources without one last.
	// u1 least "12 rue principale", greatest "ville-marie"; u2 "1 main st",
	// "canada"; u4 "m5v 2t6"; u3 and u5 none.
	{typ: "Patient", query: "_sort=address", want: []string{"u2", "u1", "u4", "u3", "u5"}, ordered: true},
	{typ: "Patient", query: "_sort=-address", want: []string{"u1", "u4", "u2", "u3", "u5"}, ordered: true},
	{typ: "Patient", query: "_sort=address&_count=2", want: []string{"u2", "u1", "u4", "u3", "u5"}, ordered: true},
	// u1 least "dr", greatest "tremblay"; u2 "zed alpha"; u3 "abel", "jr";
	// u5 "roy"; u4 none.
	{typ: "Patient", query: "_sort=name", want: []string{"u3", "u1", "u5", "u2", "u4"}, ordered: true},
	{typ: "Patient", query: "_sort=-name", want: []string{"u2", "u1", "u5", "u3", "u4"}, ordered: true},
	{typ: "Patient", query: "_sort=-name&_count=2", want: []string{"u2", "u1", "u5", "u3", "u4"}, ordered: true},
	{typ: "Patient", query: "_sort=family", want: []string{"u1", "u5", "u2", "u3", "u4"}, ordered: true},
	{typ: "Patient", query: "_sort=phonetic", want: []string{"u3", "u1", "u5", "u2", "u4"}, ordered: true},
	{typ: "Patient", query: "address:missing=false&_sort=-address,name", want: []string{"u1", "u4", "u2"}, ordered: true},
	{typ: "Organization", query: "_sort=name", want: []string{"ou2", "ou1"}, ordered: true},
	{typ: "Organization", query: "_sort=-name", want: []string{"ou1", "ou2"}, ordered: true},
	{typ: "Location", query: "_sort=address", want: []string{"lu1", "lu2"}, ordered: true},
}

// testUnionParams runs unionCases, then moves a value between a name's
// members (text and family) and checks the matches follow.
func testUnionParams(t *testing.T, open func(t *testing.T) socialrx.Store) {
	s := open(t)
	load(t, s, unionFixtures)
	run := func(t *testing.T, cases []searchCase) {
		for _, c := range cases {
			t.Run(c.typ+"?"+c.query, func(t *testing.T) {
				matches, _, first := searchAll(t, s, c.typ, c.query)
				got := ids(matches)
				if dups := duplicates(got); len(dups) > 0 {
					t.Errorf("matches appear more than once: %v", dups)
				}
				want := c.want
				if !c.ordered {
					got, want = sorted(got), sorted(want)
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("matches (-want +got):\n%s", diff)
				}
				if first.Total != len(c.want) {
					t.Errorf("Total %d, want %d", first.Total, len(c.want))
				}
			})
		}
	}
	run(t, unionCases)

	// u5's "Roy" was both text and family; now only text, then only family.
	mustUpdate(t, s, "Patient", "u5", `{"resourceType":"Patient","name":[{"text":"Roy"}]}`, 1)
	run(t, []searchCase{
		{typ: "Patient", query: "name=roy", want: []string{"u1", "u5"}},
		{typ: "Patient", query: "name:exact=Roy", want: []string{"u1", "u5"}},
		{typ: "Patient", query: "family=roy", want: []string{"u1"}},
		{typ: "Patient", query: "family:missing=true", want: []string{"u2", "u3", "u4", "u5"}},
	})
	mustUpdate(t, s, "Patient", "u5", `{"resourceType":"Patient","name":[{"family":"Roy"}],"address":[{"city":"Roy"}]}`, 2)
	run(t, []searchCase{
		{typ: "Patient", query: "name=roy", want: []string{"u1", "u5"}},
		{typ: "Patient", query: "family=roy", want: []string{"u1", "u5"}},
		{typ: "Patient", query: "address=roy", want: []string{"u5"}},
		{typ: "Patient", query: "address:missing=true", want: []string{"u3"}},
		{typ: "Patient", query: "name:missing=true", want: []string{"u4"}},
	})
	mustDelete(t, s, "Patient", "u5")
	for _, q := range []string{"name=roy", "address=roy", "family=roy"} {
		m, _, _ := searchAll(t, s, "Patient", q)
		if got := ids(m); slices.Contains(got, "u5") {
			t.Errorf("Patient?%s after delete: matches %v, want no u5", q, got)
		}
	}
}
