package search

import "strings"

// searchRefTypeID splits a literal reference into its type and id. It
// accepts Type/id and Type/id/_history/n (any type name that looks like a
// resource type), and absolute URLs (http, https) that end in a supported
// Type/id[/_history/n]. Contained (#id), urn: and other references return
// ok false.
func searchRefTypeID(ref string) (typ, id string, ok bool) {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	absolute := strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://")
	j := strings.LastIndexByte(ref, '/')
	if j <= 0 {
		return "", "", false
	}
	id = ref[j+1:]
	rest := ref[:j]
	k := strings.LastIndexByte(rest, '/')
	typ = rest[k+1:]
	if !absolute && k >= 0 {
		return "", "", false
	}
	if !looksLikeTypeName(typ) || !searchIDOK(id) {
		return "", "", false
	}
	if absolute {
		if _, supported := r4SearchParams[typ]; !supported {
			return "", "", false
		}
	}
	return typ, id, true
}

// looksLikeTypeName reports whether s has the shape of a FHIR resource type
// name: an upper-case ASCII letter followed by ASCII letters.
func looksLikeTypeName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !pathIsLetter(s[i]) {
			return false
		}
	}
	return true
}

// searchIDOK reports whether id is a valid FHIR id: [A-Za-z0-9\-\.]{1,64}.
func searchIDOK(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(pathIsLetter(c) || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
