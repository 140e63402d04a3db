// Package fhir holds the FHIR R4 mechanics of socialrx and knows nothing of
// the domain: checking and decoding resources losslessly, references, Bundles,
// OperationOutcome, summaries and meta stamping. Search (parameter
// definitions, query parsing, index extraction) is in package fhir/search,
// which imports this one; fhir never imports it. It never imports the root
// package.
//
// Resources are kept as the JSON bytes received; samply's typed structs
// (imported as r4) are only read-only views where code needs fields. See
// docs/architecture.md for why.
package fhir
