package fhir

import (
	"encoding/json"
	"strconv"
)

// Rule is a check of socialrx's own, beyond FHIR (a domain rule such as
// those of package mapping), plugged into Validate by the caller. typ is the
// resource's type and body the document as given (a Bundle for a Bundle).
// A Rule runs only on a document that passed the FHIR checks without error;
// it must not keep or change body, must be safe for concurrent use, and its
// issues must name paths, never values.
type Rule func(typ string, body []byte) []Issue

// Validate checks body with everything socialrx knows, for the $validate
// operation and the validate command, and returns all issues:
//
//   - the checks of Decode (wantType, when not empty, is the type body must
//     have; a type this server does not hold is an error), or for a Bundle
//     (when wantType is "" or "Bundle") those of ParseBundle plus Decode's
//     element checks on every entry resource of any R4 type; in a
//     transaction or batch, an entry of a type this server does not hold is
//     an error, as the server would refuse it;
//   - ValidateSchema's;
//   - then, if none of these is an error, each rule in turn (nil ones are
//     skipped).
//
// Issues that say the same thing (same path and code) are reported once,
// with the higher severity: an unknown element, a warning for Decode (which
// keeps it), is an error for the schema and so for Validate. Invalid JSON
// gets Decode's issue only. Issues are ordered by path.
func Validate(body []byte, wantType string, rules ...Rule) []Issue {
	if !json.Valid(body) {
		_, issues := Decode(body, wantType)
		return issues
	}
	var head struct {
		ResourceType any `json:"resourceType"`
	}
	_ = json.Unmarshal(body, &head) // a non-object is reported by the checks below
	var set *issueSet
	typ := ""
	if head.ResourceType == "Bundle" && (wantType == "" || wantType == "Bundle") {
		typ = "Bundle"
		set = checkBundle(body)
	} else {
		d, issues := Decode(body, wantType)
		set = newIssueSet(issues)
		if d != nil {
			typ = d.Type
		}
	}
	for _, i := range ValidateSchema(body) {
		if i.Path == "" {
			i.Path = wantType // as Decode names a document it cannot type
		}
		set.add(i)
	}
	if typ != "" && !HasErrors(set.list) {
		for _, r := range rules {
			if r == nil {
				continue
			}
			for _, i := range r(typ, body) {
				set.add(i)
			}
		}
	}
	sortIssues(set.list)
	return set.list
}

// checkBundle is Validate's check of a Bundle without the schema.
func checkBundle(body []byte) *issueSet {
	_, issues := ParseBundle(body)
	set := newIssueSet(issues)
	t, err := parseTree(body)
	if err != nil {
		return set // ParseBundle reported it
	}
	c := &checker{t: t, ix: types()}
	c.resource(0, nil, "", "Bundle", false)
	for _, i := range c.issues {
		set.add(i)
	}
	var b struct {
		Type  string `json:"type"`
		Entry []struct {
			Resource *struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &b) != nil || (b.Type != "transaction" && b.Type != "batch") {
		return set
	}
	for n, e := range b.Entry {
		if e.Resource == nil || !Known(e.Resource.ResourceType) || Supported(e.Resource.ResourceType) {
			continue
		}
		set.add(Issue{
			Severity: sevError, Code: codeNotSupported,
			Path:    "Bundle.entry[" + strconv.Itoa(n) + "].resource",
			Message: "resource type " + e.Resource.ResourceType + " is not supported by this server",
		})
	}
	return set
}

// issueSet gathers issues, one per path and code: of two with the same
// path and code the more severe is kept (the first on a tie).
type issueSet struct {
	list []Issue
	at   map[[2]string]int
}

func newIssueSet(issues []Issue) *issueSet {
	s := &issueSet{at: map[[2]string]int{}}
	for _, i := range issues {
		s.add(i)
	}
	return s
}

func (s *issueSet) add(i Issue) {
	k := [2]string{i.Path, i.Code}
	if n, ok := s.at[k]; ok {
		if severityRank(i.Severity) > severityRank(s.list[n].Severity) {
			s.list[n] = i
		}
		return
	}
	s.at[k] = len(s.list)
	s.list = append(s.list, i)
}

// severityRank orders severities: fatal > error > warning > information.
func severityRank(s string) int {
	switch s {
	case "fatal":
		return 4
	case sevError:
		return 3
	case sevWarning:
		return 2
	case "information":
		return 1
	}
	return 0
}
