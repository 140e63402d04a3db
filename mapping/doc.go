// Package mapping translates between FHIR R4 resources and the socialrx
// domain, in both directions, as pure functions: no I/O, no logging, no
// clock reads (a caller that needs "now" passes it). It owns the code tables
// that give standard codes their meaning for social prescribing:
//
//   - screening instruments (LOINC): Hunger Vital Sign, AHC HRSN, PRAPARE,
//     item by item, with each instrument's positive-screen rule
//     (codes_screening.go);
//   - social needs as Conditions: ICD-10 / ICD-10-CM / ICD-10-CA Z55–Z65,
//     SNOMED CT, SDOH Clinical Care category codes and socialrx's own
//     need-domain codes (codes_condition.go);
//   - socialrx's own code systems and value sets, served as CodeSystem and
//     ValueSet resources (codesystem.go).
//
// Inbound: FindingsFromObservation and FindingsFromQuestionnaireResponse
// read screening answers (finding_in.go); NeedFromCondition reads a social
// need (need_in.go). Resources are read with encoding/json into small local
// structs (see resource.go), never stored or re-marshalled from them.
// Errors are *socialrx.Error (EINVALID for malformed JSON, EUNPROCESSABLE
// for a resource that breaks a mapping rule) whose Issues carry element
// paths such as "Observation.subject", never values.
//
// Every table is printed in docs/mapping.md; a test keeps the two equal
// (go test ./mapping -run TestMappingDoc -update rewrites the tables).
//
// mapping imports the root package and fhir, never adapter/*.
package mapping
