// Package socialrx is the domain of socialrx, a FHIR R4 integration adapter for
// social prescribing: the types, rules and ports (interfaces) that the adapters
// implement. It imports only the standard library.
//
// The layout follows docs/architecture.md: FHIR mechanics live in package fhir,
// FHIR <-> domain translation in package mapping, technologies in adapter/*,
// and the binary in cmd/socialrx.
package socialrx
