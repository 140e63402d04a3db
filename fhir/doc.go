// Package fhir holds the FHIR R4 mechanics of socialrx and knows nothing of
// the domain: checking and decoding resources losslessly, references, Bundles,
// OperationOutcome, summaries and meta stamping. Search (parameter
// definitions, query parsing, index extraction) is in package fhir/search,
// which imports this one; fhir never imports it. It never imports the root
// package.
//
// Resources are kept as the JSON bytes received, and edits leave the bytes
// they do not change as they were: Object for members (order and layout
// kept), RewriteReferences for reference strings. This package does not use samply's typed structs
// (github.com/samply/golang-fhir-models): its checks, references and edits
// work on the JSON itself, where samply would drop contained resources,
// primitive extensions and unknown elements. Package mapping reads
// Endpoints through samply (imported as r4) as a read-only view; see
// docs/architecture.md.
package fhir
