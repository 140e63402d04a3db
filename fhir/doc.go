// Package fhir holds the FHIR R4 mechanics of socialrx and knows nothing of
// the domain: checking and decoding resources losslessly, references, Bundles,
// OperationOutcome, search parameter definitions, index extraction and
// search-parameter parsing. It never imports the root package.
//
// Resources are kept as the JSON bytes received; samply's typed structs
// (imported as r4) are only read-only views where code needs fields. See
// docs/architecture.md for why.
package fhir
