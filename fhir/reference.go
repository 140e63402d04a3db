package fhir

import (
	"errors"
	"strings"
)

// RefKind is the form of a literal reference (Reference.reference).
type RefKind int

const (
	RefRelative    RefKind = iota + 1 // Patient/123, Patient/123/_history/2
	RefAbsolute                       // http://example.org/fhir/Patient/123, or any other absolute URL
	RefURN                            // urn:uuid:..., urn:oid:...
	RefContained                      // #p1 (or "#", the container itself)
	RefConditional                    // Patient?identifier=a|b (transactions only)
)

func (k RefKind) String() string {
	switch k {
	case RefRelative:
		return "relative"
	case RefAbsolute:
		return "absolute"
	case RefURN:
		return "urn"
	case RefContained:
		return "contained"
	case RefConditional:
		return "conditional"
	}
	return "invalid"
}

// Reference is a parsed Reference.reference string
// (http://hl7.org/fhir/R4/references.html#literal).
//
//   - relative: Type and ID set, Version for ".../_history/v".
//   - absolute: URL is the whole string; Type, ID and Version are set when
//     the URL ends in Type/id or Type/id/_history/v with a known Type.
//   - urn: URL is the whole string (urn:uuid: or urn:oid:).
//   - contained: ID is the part after '#' (empty for "#", the container).
//   - conditional: Type and Query (after '?', as written, not unescaped).
type Reference struct {
	Kind    RefKind
	Type    string
	ID      string
	Version string
	URL     string
	Query   string
}

var errBadReference = errors.New("invalid reference")

// ParseReference parses a literal reference. The error never repeats s.
func ParseReference(s string) (Reference, error) {
	if s == "" {
		return Reference{}, errors.New("empty reference")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return Reference{}, errors.New("reference holds whitespace or a control character")
		}
	}
	switch {
	case s[0] == '#':
		id := s[1:]
		if id != "" && !ValidID(id) {
			return Reference{}, errors.New("invalid contained reference id")
		}
		return Reference{Kind: RefContained, ID: id}, nil
	case strings.HasPrefix(s, "urn:uuid:"):
		if !validUUIDString([]byte(s[len("urn:uuid:"):]), false) {
			return Reference{}, errors.New("invalid urn:uuid reference")
		}
		return Reference{Kind: RefURN, URL: s}, nil
	case strings.HasPrefix(s, "urn:oid:"):
		if !validOID([]byte(s)) {
			return Reference{}, errors.New("invalid urn:oid reference")
		}
		return Reference{Kind: RefURN, URL: s}, nil
	}
	if typ, query, ok := strings.Cut(s, "?"); ok && !strings.Contains(typ, "/") && !strings.Contains(typ, ":") {
		if !Known(typ) {
			return Reference{}, errors.New("conditional reference with an unknown resource type")
		}
		if query == "" {
			return Reference{}, errors.New("conditional reference without criteria")
		}
		return Reference{Kind: RefConditional, Type: typ, Query: query}, nil
	}
	if scheme, _, ok := strings.Cut(s, ":"); ok && validScheme(scheme) {
		ref := Reference{Kind: RefAbsolute, URL: s}
		if typ, id, vid, ok := tailTypeID(s); ok {
			ref.Type, ref.ID, ref.Version = typ, id, vid
		}
		return ref, nil
	}
	typ, id, vid, ok := splitTypeID(strings.Split(s, "/"))
	if !ok {
		return Reference{}, errBadReference
	}
	return Reference{Kind: RefRelative, Type: typ, ID: id, Version: vid}, nil
}

// SplitRef splits a relative literal reference of the form "Type/id" (as
// socialrx writes references and keys the resources it holds:
// "Patient/p1") into its type and id. ok is true only for exactly two
// parts around one slash, where Type is a resource type name in form (an
// ASCII capital letter, then ASCII letters; whether R4 defines it is not
// checked: see Known) and id a valid FHIR id (ValidID). Anything else gives
// "", "", false: an empty part, a further slash (a versioned
// "Type/id/_history/v", an absolute URL), a contained "#id", a urn:, a
// conditional "Type?query", whitespace.
//
// Use SplitRef on references socialrx made or keys it stores. A
// Reference.reference received from outside may also be absolute, versioned
// or contained: read it with ParseReference.
func SplitRef(ref string) (typ, id string, ok bool) {
	typ, id, found := strings.Cut(ref, "/")
	if !found || !typeName(typ) || !ValidID(id) {
		return "", "", false
	}
	return typ, id, true
}

// typeName reports whether s has the form of a resource type name.
func typeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// String returns the reference as it would be written.
func (r Reference) String() string {
	switch r.Kind {
	case RefRelative:
		if r.Version != "" {
			return r.Type + "/" + r.ID + "/_history/" + r.Version
		}
		return r.Type + "/" + r.ID
	case RefContained:
		return "#" + r.ID
	case RefConditional:
		return r.Type + "?" + r.Query
	}
	return r.URL
}

// validScheme reports whether s is a URI scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )).
func validScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || decDigit(c) || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// splitTypeID matches [Type, id] or [Type, id, "_history", vid].
func splitTypeID(parts []string) (typ, id, vid string, ok bool) {
	switch {
	case len(parts) == 2:
	case len(parts) == 4 && parts[2] == "_history" && ValidID(parts[3]):
		vid = parts[3]
	default:
		return "", "", "", false
	}
	if !Known(parts[0]) || !ValidID(parts[1]) {
		return "", "", "", false
	}
	return parts[0], parts[1], vid, true
}

// tailTypeID finds Type/id or Type/id/_history/vid at the end of a URL
// (without query or fragment).
func tailTypeID(u string) (typ, id, vid string, ok bool) {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	parts := strings.Split(u, "/")
	if len(parts) >= 4 {
		if typ, id, vid, ok := splitTypeID(parts[len(parts)-4:]); ok {
			return typ, id, vid, true
		}
	}
	if len(parts) >= 2 {
		return splitTypeID(parts[len(parts)-2:])
	}
	return "", "", "", false
}
