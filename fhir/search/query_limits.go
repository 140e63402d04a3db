package search

import (
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/socialrx/socialrx/fhir"
)

// Limits bounds the size of one search, so that no request can make a
// statement whose planning or running time grows without bound (issue 12,
// "Bounded work per request"). A search beyond them is refused with an
// error issue naming the parameter where the limit was passed.
type Limits struct {
	// Params is the most parameter occurrences a search may have: each
	// name=value pair counts, a repeated name once per repetition, result
	// parameters (_count, _sort, _include, ...) too; _format and _pretty
	// do not.
	Params int
	// Values is the most values a search may have in all its parameters
	// together, each comma-separated alternative counted (name=a,b,c is 3).
	Values int
}

// The largest Limits, which ParseQuery always applies (callers may apply
// lower ones with CheckLimits first). The SQL the stores generate is tested
// at these on SQLite and PostgreSQL (cmd/socialrx limits_test.go).
const (
	MaxParams = 50
	MaxValues = 200
)

// MaxSortKeys is the most keys _sort takes: every key adds a term to each
// of the keyset comparisons of later pages, whose size grows as the square
// of the number of keys.
const MaxSortKeys = 8

// MaxLimits returns the Limits ParseQuery applies.
func MaxLimits() Limits { return Limits{Params: MaxParams, Values: MaxValues} }

// CheckLimits returns an error issue when params pass lim (a zero field
// is the maximum), or when a parameter name or value holds a NUL
// character, which no FHIR value may and PostgreSQL refuses in text. The
// issue's Path is the parameter at which the limit was passed (parameters
// counted in name order); values are never echoed.
// uncounted are the parameters that cost a search nothing and that the
// server adds itself (a paging cursor, a conditional match's _count=2 and
// _total=none): a search at the limit can still be paged and matched.
var uncounted = map[string]bool{"_format": true, "_pretty": true, "_count": true, "_total": true, "_cursor": true}

func CheckLimits(params url.Values, lim Limits) []fhir.Issue {
	if lim.Params <= 0 || lim.Params > MaxParams {
		lim.Params = MaxParams
	}
	if lim.Values <= 0 || lim.Values > MaxValues {
		lim.Values = MaxValues
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	nParams, nValues := 0, 0
	for _, k := range keys {
		name, _, _ := strings.Cut(k, ":")
		name, _, _ = strings.Cut(name, ".")
		if strings.IndexByte(k, 0) >= 0 {
			return []fhir.Issue{limitIssue("value", "(invalid name)", "a search parameter name holds a NUL character")}
		}
		for _, v := range params[k] {
			if strings.IndexByte(v, 0) >= 0 {
				return []fhir.Issue{limitIssue("value", quoteName(name), "search parameter "+quoteName(name)+" has a value holding a NUL character")}
			}
			if uncounted[name] {
				continue
			}
			nParams++
			if nParams > lim.Params {
				return []fhir.Issue{limitIssue("too-costly", quoteName(name), "a search may have at most "+strconv.Itoa(lim.Params)+" parameters")}
			}
			nValues += strings.Count(v, ",") + 1 // an upper bound of the alternatives (escaped commas counted too)
			if nValues > lim.Values {
				return []fhir.Issue{limitIssue("too-costly", quoteName(name), "a search may have at most "+strconv.Itoa(lim.Values)+" values in all its parameters (each comma-separated value counts)")}
			}
		}
	}
	return nil
}

func limitIssue(code, path, msg string) fhir.Issue {
	return fhir.Issue{Severity: "error", Code: code, Path: path, Message: msg}
}
