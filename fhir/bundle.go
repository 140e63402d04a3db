package fhir

import (
	"encoding/json"
	"strconv"
)

// Bundle is a parsed Bundle (http://hl7.org/fhir/R4/bundle.html): what the
// HTTP layer needs to run a transaction or batch, or to read a result.
type Bundle struct {
	ID      string
	Type    string // document | message | transaction | transaction-response | batch | batch-response | history | searchset | collection
	Entries []Entry
}

// Entry is one Bundle.entry.
type Entry struct {
	FullURL string
	// Resource is the entry's resource as written (a slice of the body
	// given to ParseBundle, not a copy), nil when the entry has none.
	// ParseBundle does not check it: use DecodeAt with Path+".resource".
	Resource json.RawMessage
	Request  *EntryRequest // nil when the entry has no request
	Path     string        // "Bundle.entry[3]"
}

// EntryRequest is Bundle.entry.request.
type EntryRequest struct {
	Method          string // GET | HEAD | POST | PUT | PATCH | DELETE
	URL             string
	IfNoneExist     string
	IfMatch         string
	IfNoneMatch     string
	IfModifiedSince string
}

// ParseBundle checks body as a Bundle and returns its entries. The checks
// are those of Decode for the Bundle's own elements (entry resources are
// only required to be JSON objects: the caller checks each with DecodeAt),
// among them the R4 rules Bundle.type present and valid, and request.method
// (one of GET, HEAD, POST, PUT, PATCH, DELETE) and request.url present in
// each request; plus: for transaction and batch, every entry has a request. Issues have paths such as "Bundle.entry[3].request.method".
// The Bundle is nil exactly when an error issue is returned.
func ParseBundle(body []byte) (*Bundle, []Issue) {
	t, err := parseTree(body)
	if err != nil {
		return nil, []Issue{{Severity: sevError, Code: codeStructure, Path: "Bundle", Message: err.Error()}}
	}
	c := &checker{t: t, ix: types(), shallow: true}
	root := &pathSeg{name: []byte("Bundle"), index: -1}
	switch {
	case t.nodes[0].kind() != jObject:
		c.add(sevError, codeStructure, root, "a resource must be a JSON object")
		return nil, c.issues
	case t.member(0, "resourceType") < 0:
		c.add(sevError, codeRequired, root, "resourceType is missing")
		return nil, c.issues
	case t.stringMember(0, "resourceType") != "Bundle":
		c.add(sevError, codeInvalid, root, "resourceType must be Bundle")
		return nil, c.issues
	}
	c.object(0, c.ix.types["Bundle"], root)
	b := &Bundle{ID: t.stringMember(0, "id"), Type: t.stringMember(0, "type")}
	// Bundle.type (1..1, required binding), entry.request.method and .url
	// (1..1 each, the method bound to http-verb) are R4 rules, checked by
	// c.object with the element table.
	needRequest := b.Type == "transaction" || b.Type == "batch"
	entries := t.member(0, "entry")
	if entries >= 0 && t.nodes[entries].kind() == jArray {
		i := 0
		for en := t.first(entries); en >= 0; en = t.nodes[en].next {
			path := "Bundle.entry[" + strconv.Itoa(i) + "]"
			seg := &pathSeg{parent: &pathSeg{parent: root, name: []byte("entry"), index: -1}, index: i}
			i++
			if t.nodes[en].kind() != jObject {
				continue // reported by the check above
			}
			e := Entry{FullURL: t.stringMember(en, "fullUrl"), Path: path}
			if r := t.member(en, "resource"); r >= 0 && t.nodes[r].kind() == jObject {
				e.Resource = json.RawMessage(t.raw(r))
			}
			if rq := t.member(en, "request"); rq >= 0 && t.nodes[rq].kind() == jObject {
				e.Request = &EntryRequest{
					Method:          t.stringMember(rq, "method"),
					URL:             t.stringMember(rq, "url"),
					IfNoneExist:     t.stringMember(rq, "ifNoneExist"),
					IfMatch:         t.stringMember(rq, "ifMatch"),
					IfNoneMatch:     t.stringMember(rq, "ifNoneMatch"),
					IfModifiedSince: t.stringMember(rq, "ifModifiedSince"),
				}
			}
			if needRequest && e.Request == nil {
				c.add(sevError, codeRequired, &pathSeg{parent: seg, name: []byte("request"), index: -1}, "a "+b.Type+" entry needs a request")
			}
			b.Entries = append(b.Entries, e)
		}
	}
	if HasErrors(c.issues) {
		return nil, c.issues
	}
	return b, c.issues
}
