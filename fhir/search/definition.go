package search

import (
	"encoding/json"
	"sort"
	"strings"
)

// Definitions returns socialrx's own search parameters (those with a URL
// under SearchParameterBase) as R4 SearchParameter resources, sorted by id,
// for the server to store and serve at /fhir/SearchParameter. Each one's id
// is the last segment of its URL ("ServiceRequest-prescription-form"). A
// derived parameter (SearchParam.Derived) has no FHIRPath expression: its
// values are kept by socialrx beside the resource, and its description says
// what they are.
func Definitions() [][]byte {
	type def struct {
		ResourceType string   `json:"resourceType"`
		ID           string   `json:"id"`
		URL          string   `json:"url"`
		Name         string   `json:"name"`
		Status       string   `json:"status"`
		Publisher    string   `json:"publisher"`
		Description  string   `json:"description"`
		Code         string   `json:"code"`
		Base         []string `json:"base"`
		Type         string   `json:"type"`
		Expression   string   `json:"expression,omitempty"`
	}
	var defs []def
	for typ, params := range socialrxSearchParams {
		for _, p := range params {
			if !strings.HasPrefix(p.URL, SearchParameterBase) {
				continue // R4's own (Location-near), defined by the core spec
			}
			id := strings.TrimPrefix(p.URL, SearchParameterBase)
			d := def{ResourceType: "SearchParameter", ID: id, URL: p.URL, Name: strings.ReplaceAll(id, "-", ""),
				Status: "active", Publisher: "socialrx", Code: p.Name, Base: []string{typ}, Type: string(p.Type)}
			if p.Derived {
				d.Description = p.Expression + ". Derived by socialrx and kept beside the resource, whose body is stored as sent."
			} else {
				d.Description = "socialrx work-list parameter on " + p.Expression + "."
				d.Expression = p.Expression
			}
			if p.Description != "" {
				d.Description = p.Description
			}
			defs = append(defs, d)
		}
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].ID < defs[j].ID })
	out := make([][]byte, len(defs))
	for i, d := range defs {
		out[i], _ = json.Marshal(d) // strings only: always marshals
	}
	return out
}
