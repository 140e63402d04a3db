package emr

import (
	"net/url"
	"strings"
)

// searchEscaper escapes the characters that are syntax in a FHIR search
// parameter value (FHIR R4 search §3.1.1.1.2 "Escaping Search
// Parameters"): a "|" in a system would split the token, a "," would make
// the search an OR, so a conditional write could match the wrong resource.
var searchEscaper = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `,`, `\,`, `$`, `\$`)

// identifierQuery is the URL-encoded query identifier={system}|{value} of a
// FHIR token search, as it goes after "?" in a conditional update and in
// an If-None-Exist header.
func identifierQuery(system, value string) string {
	return url.Values{"identifier": {searchEscaper.Replace(system) + "|" + searchEscaper.Replace(value)}}.Encode()
}
