package fhir

import (
	"strings"
	"sync"
)

//go:generate go run ./internal/genelements

// typeRow, elemRow and summaryRow are the shapes of the generated tables in
// elements_gen.go.
type typeRow struct {
	name     string
	elems    []elemRow
	required []string // elements with min 1 (R4 StructureDefinitions), a choice as value[x]; in schema order
}

type elemRow struct {
	name     string // JSON member name, choice elements expanded (valueQuantity)
	typ      string // FHIR type name: a primitive (dateTime), a datatype (HumanName), a backbone part (Patient_Contact), Resource or xhtml
	array    bool
	valueSet int // index in valueSetTable of the required binding of a code; 0: none
}

// valueSetRow is the codes of one required binding, as the R4 JSON schema
// enumerates them.
type valueSetRow struct {
	url   string // canonical|version, e.g. http://hl7.org/fhir/ValueSet/task-status|4.0.1
	codes []string
}

// has reports whether code is one of the value set's codes.
func (vs *valueSetRow) has(code []byte) bool {
	for _, c := range vs.codes {
		if c == string(code) {
			return true
		}
	}
	return false
}

type summaryRow struct {
	summary   []string // top-level elements flagged isSummary; choices as name[x]
	mandatory []string // top-level elements with min >= 1
}

// primKind identifies a primitive type, or none for complex types.
type primKind uint8

const (
	primNone primKind = iota
	primBase64Binary
	primBoolean
	primCanonical
	primCode
	primDate
	primDateTime
	primDecimal
	primID
	primInstant
	primInteger
	primMarkdown
	primOID
	primPositiveInt
	primString
	primTime
	primUnsignedInt
	primURI
	primURL
	primUUID
	primXHTML
)

var primKinds = map[string]primKind{
	"base64Binary": primBase64Binary, "boolean": primBoolean, "canonical": primCanonical,
	"code": primCode, "date": primDate, "dateTime": primDateTime, "decimal": primDecimal,
	"id": primID, "instant": primInstant, "integer": primInteger, "markdown": primMarkdown,
	"oid": primOID, "positiveInt": primPositiveInt, "string": primString, "time": primTime,
	"unsignedInt": primUnsignedInt, "uri": primURI, "url": primURL, "uuid": primUUID,
	"xhtml": primXHTML,
}

// typeInfo is one FHIR type of the element table.
type typeInfo struct {
	name     string
	prim     primKind
	resource bool // a resource type (has resourceType)
	anyRes   bool // the abstract "Resource" of contained and Bundle.entry.resource
	elems    map[string]elemInfo
	required []string // elements with min 1, a choice as name[x]
}

// elemInfo is one element of a complex type.
type elemInfo struct {
	typ      *typeInfo
	array    bool
	valueSet *valueSetRow // the required binding of a code the schema enumerates; nil: none
}

type typeIndex struct {
	types     map[string]*typeInfo
	resources map[string]bool
}

// types returns the element table as linked typeInfo values. It is built
// once, on first use, and never changed afterwards.
var types = sync.OnceValue(func() *typeIndex {
	ix := &typeIndex{
		types:     make(map[string]*typeInfo, len(elementTable)+len(primKinds)+1),
		resources: make(map[string]bool, len(resourceTypeNames)),
	}
	for name, k := range primKinds {
		ix.types[name] = &typeInfo{name: name, prim: k}
	}
	ix.types["Resource"] = &typeInfo{name: "Resource", anyRes: true}
	for _, r := range resourceTypeNames {
		ix.resources[r] = true
	}
	for i := range elementTable {
		row := &elementTable[i]
		ix.types[row.name] = &typeInfo{name: row.name, resource: ix.resources[row.name], elems: make(map[string]elemInfo, len(row.elems)), required: row.required}
	}
	for i := range elementTable {
		row := &elementTable[i]
		ti := ix.types[row.name]
		for _, e := range row.elems {
			ei := elemInfo{typ: ix.types[e.typ], array: e.array}
			if e.valueSet > 0 {
				ei.valueSet = &valueSetTable[e.valueSet]
			}
			ti.elems[e.name] = ei
		}
	}
	return ix
})

// ElementDef describes one element of a FHIR type.
type ElementDef struct {
	Type  string // FHIR type name: "dateTime", "HumanName", "Patient_Contact" (backbone parts), "Resource"
	Array bool   // the element repeats (a JSON array)
}

// LookupElement returns the definition of element name (a JSON member name,
// with choice elements expanded: "effectiveDateTime") of the FHIR type typ
// ("Observation", "HumanName", "Observation_Component"). Primitive
// extensions ("_birthDate") are not elements.
func LookupElement(typ, name string) (ElementDef, bool) {
	ti := types().types[typ]
	if ti == nil {
		return ElementDef{}, false
	}
	e, ok := ti.elems[name]
	if !ok {
		return ElementDef{}, false
	}
	return ElementDef{Type: e.typ.name, Array: e.array}, true
}

// matchesElement reports whether the JSON member key of a resource of type
// ti is the element named name (as in _elements or a summary list): the same
// name, or a choice element of it ("value" or "value[x]" matches
// "valueQuantity", but "status" does not match "statusReason", which is an
// element of its own).
func matchesElement(ti *typeInfo, key, name string) bool {
	base, choice := strings.CutSuffix(name, "[x]")
	if key == base {
		return true
	}
	if !choice && ti != nil {
		if _, ok := ti.elems[base]; ok {
			return false
		}
	}
	if len(key) > len(base) && strings.HasPrefix(key, base) {
		c := key[len(base)]
		return c >= 'A' && c <= 'Z'
	}
	return false
}
