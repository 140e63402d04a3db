// Package search holds FHIR R4 search for socialrx: the table of search
// parameters each supported resource type serves (generated from the R4
// definitions, plus socialrx's own in searchparams_socialrx.go), the parsing
// of a search request into a Query (ParseQuery), and the extraction of the
// index entries a stored resource holds for those parameters (Index), with
// the small FHIRPath subset Index evaluates (path.go).
//
// Stores call ParseQuery and IndexPacked (Index's entries packed, unpacked
// a chunk at a time: packed.go) themselves, in the transaction that reads or
// writes the resources, and build their SQL from Query and IndexEntry;
// adapter/httpapi lists the parameters in the CapabilityStatement. Like
// package fhir it knows nothing of the domain and never imports the root
// package; it imports fhir for Issue and for the parse tree (fhir.Tree)
// that the index reads resources from: one small record per JSON value,
// pointing into the body, where a decode into map[string]any took ten
// times the body (docs/performance.md, "Session 16").
package search
