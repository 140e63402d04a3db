package fhir

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/message"
)

// schemaFile is the FHIR R4 JSON Schema as vendored: HL7's schema plus
// Medplum's additions (schema/ORIGIN.md). loadSchema removes the additions.
//
//go:embed schema/fhir.schema.json
var schemaFile []byte

// schemaID is the schema's own id; resource definitions are compiled as
// schemaID#/definitions/<Type>.
const schemaID = "http://hl7.org/fhir/json-schema/4.0"

// firstMedplumDefinition is where Medplum's own definitions start in the
// vendored file: everything from it to the end of "definitions" is not R4
// (schema/ORIGIN.md; fhir/internal/genelements uses the same rule).
const firstMedplumDefinition = "Project"

// JSONSchema is the compiled FHIR R4 JSON Schema (fhir/schema). It is
// immutable and safe for concurrent use. Compiling costs about a second of
// CPU and keeps about 18 MB live, so a process compiles it once:
// ValidateSchema uses one compiled on first use.
type JSONSchema struct {
	byType map[string]*jsonschema.Schema // R4 resource type -> #/definitions/<Type>
}

// defaultSchema is the JSONSchema of ValidateSchema, compiled on first use.
var defaultSchema = sync.OnceValues(CompileSchema)

// CompileSchema compiles the embedded R4 JSON Schema (draft-06).
//
// The vendored file is HL7's R4 schema plus Medplum's additions, which are
// removed before compiling so that what is checked is R4 and nothing else:
// Medplum's own definitions (some reference definitions that do not exist,
// so the file as vendored does not even compile), their branches in the
// resource lists, and the elements Medplum added to R4 types (Meta.project,
// Reference.resource, ...; every property the generated element table does
// not know). One defect of HL7's schema is corrected: it lacks the member
// "_x" (primitive extensions) of the elements of type canonical, so it
// refuses valid R4 JSON such as QuestionnaireResponse._questionnaire; those
// members are added (see primitiveExtension). Nothing else is loosened.
//
// One change of form: the list of all resources ("ResourceList", used by
// Bundle.entry.resource, contained and Parameters.parameter.resource) is a
// oneOf over ~146 definitions, each requiring its own resourceType constant.
// It is checked as the discriminator on resourceType that the schema
// declares at its root: the one definition named by resourceType is applied,
// and a missing or unknown resourceType is an error. That accepts and
// refuses exactly what the oneOf does, but its errors are those of the
// matching definition (not 146 failed branches) and it is ~30 times faster
// on Bundles.
func CompileSchema() (*JSONSchema, error) {
	doc, mapping, err := loadSchema(schemaFile)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft6)
	vocab, err := discriminatorVocab()
	if err != nil {
		return nil, err
	}
	c.RegisterVocabulary(vocab)
	if err := c.AddResource(schemaID, doc); err != nil {
		return nil, fmt.Errorf("fhir schema: %w", err)
	}
	s := &JSONSchema{byType: make(map[string]*jsonschema.Schema, len(mapping))}
	for typ := range mapping {
		sch, err := c.Compile(schemaID + "#/definitions/" + typ)
		if err != nil {
			return nil, fmt.Errorf("fhir schema: compile %s: %w", typ, err)
		}
		s.byType[typ] = sch
	}
	return s, nil
}

// loadSchema parses the vendored schema, removes Medplum's additions (see
// CompileSchema) and replaces the oneOf of ResourceList by a discriminator.
// It returns the schema and the R4 resource types it defines.
func loadSchema(file []byte) (doc map[string]any, resourceTypes map[string]bool, err error) {
	order, err := definitionOrder(file)
	if err != nil {
		return nil, nil, err
	}
	i := slices.Index(order, firstMedplumDefinition)
	if i < 0 {
		return nil, nil, fmt.Errorf("fhir schema: definition %s not found", firstMedplumDefinition)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(file))
	if err != nil {
		return nil, nil, fmt.Errorf("fhir schema: %w", err)
	}
	doc, _ = v.(map[string]any)
	defs, _ := doc["definitions"].(map[string]any)
	if defs == nil {
		return nil, nil, fmt.Errorf("fhir schema: no definitions")
	}
	for _, name := range order[i:] {
		delete(defs, name)
	}

	// The resource types are the R4 definitions the root's oneOf names.
	resourceTypes = map[string]bool{}
	mapping := map[string]any{}
	branches, _ := doc["oneOf"].([]any)
	for _, b := range branches {
		ref, _ := b.(map[string]any)["$ref"].(string)
		name := strings.TrimPrefix(ref, "#/definitions/")
		if defs[name] != nil {
			resourceTypes[name] = true
			mapping[name] = ref
		}
	}
	if len(resourceTypes) == 0 {
		return nil, nil, fmt.Errorf("fhir schema: no resource definitions")
	}
	// The root keeps its form (oneOf and discriminator), R4 only; it is not
	// compiled: a resource is checked against its own definition.
	doc["oneOf"] = slices.DeleteFunc(branches, func(b any) bool {
		ref, _ := b.(map[string]any)["$ref"].(string)
		return mapping[strings.TrimPrefix(ref, "#/definitions/")] == nil
	})
	if d, ok := doc["discriminator"].(map[string]any); ok {
		d["mapping"] = mapping
	}
	defs["ResourceList"] = map[string]any{
		"description": "Any R4 resource, chosen by resourceType (the root's discriminator)",
		"discriminator": map[string]any{
			"propertyName": "resourceType",
			"mapping":      mapping,
		},
	}

	ix := types()
	for name, def := range defs {
		ti := ix.types[name]
		props, _ := def.(map[string]any)["properties"].(map[string]any)
		if ti == nil || props == nil {
			continue
		}
		for p := range props {
			if !r4Member(ti, p) {
				delete(props, p)
			}
		}
		for p, e := range ti.elems {
			if _, ok := props[p]; !ok || e.typ.prim != primCanonical {
				continue
			}
			if _, ok := props["_"+p]; ok {
				continue
			}
			props["_"+p] = primitiveExtension(e.array)
		}
	}
	return doc, resourceTypes, nil
}

// primitiveExtension is the schema of the member "_x" of a primitive
// element x, as HL7's schema writes it for every primitive type but one.
//
// HL7's R4 schema has no "_x" member for the 72 elements of type canonical
// (QuestionnaireResponse._questionnaire, Meta._profile, ...), so with its
// additionalProperties false it refuses their primitive extensions, which
// R4 JSON allows on every primitive (http://hl7.org/fhir/R4/json.html#primitive)
// and which official IG examples use. loadSchema adds them, in this same
// form; TestSchemaCorrections lists what is added.
func primitiveExtension(array bool) map[string]any {
	el := map[string]any{"$ref": "#/definitions/Element"}
	if !array {
		return el
	}
	return map[string]any{"type": "array", "items": el}
}

// r4Member reports whether the JSON member p belongs to type ti in R4.
func r4Member(ti *typeInfo, p string) bool {
	if p == "resourceType" && ti.resource {
		return true
	}
	if _, ok := ti.elems[p]; ok {
		return true
	}
	if base, ok := strings.CutPrefix(p, "_"); ok {
		e, ok := ti.elems[base]
		return ok && e.typ.prim != primNone
	}
	return false
}

// definitionOrder returns the names of the schema's definitions in the
// order they are written.
func definitionOrder(file []byte) ([]string, error) {
	var doc struct {
		Definitions json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(file, &doc); err != nil {
		return nil, fmt.Errorf("fhir schema: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(doc.Definitions))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("fhir schema: definitions is not an object")
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("fhir schema: %w", err)
		}
		name, _ := tok.(string)
		names = append(names, name)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, fmt.Errorf("fhir schema: %w", err)
		}
	}
	return names, nil
}

// discriminatorURL names the vocabulary of the "discriminator" keyword.
const discriminatorURL = "https://socialrx.invalid/vocab/discriminator"

// discriminatorVocab is the "discriminator" keyword (as in OpenAPI, and as
// the FHIR schema's root declares it): the value's member propertyName
// selects, through mapping, the one subschema the value must satisfy.
// Unlike OpenAPI's, a missing or unmapped value is an error.
func discriminatorVocab() (*jsonschema.Vocabulary, error) {
	meta, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"properties": {"discriminator": {
		"type": "object", "required": ["propertyName", "mapping"],
		"properties": {"propertyName": {"type": "string"}, "mapping": {"type": "object", "additionalProperties": {"type": "string"}}}
	}}}`))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(discriminatorURL, meta); err != nil {
		return nil, err
	}
	sch, err := c.Compile(discriminatorURL)
	if err != nil {
		return nil, err
	}
	return &jsonschema.Vocabulary{
		URL:     discriminatorURL,
		Schema:  sch,
		Compile: compileDiscriminator,
	}, nil
}

func compileDiscriminator(ctx *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
	d, ok := obj["discriminator"].(map[string]any)
	if !ok {
		return nil, nil
	}
	name, _ := d["propertyName"].(string)
	m, _ := d["mapping"].(map[string]any)
	ext := &discriminator{property: name, mapping: make(map[string]*jsonschema.Schema, len(m))}
	for value, ref := range m {
		r, _ := ref.(string)
		sch, err := ctx.EnqueueRef(r)
		if err != nil {
			return nil, err
		}
		ext.mapping[value] = sch
	}
	return ext, nil
}

// discriminator is the compiled "discriminator" keyword.
type discriminator struct {
	property string
	mapping  map[string]*jsonschema.Schema
}

// Validate implements jsonschema.SchemaExt.
func (d *discriminator) Validate(ctx *jsonschema.ValidatorContext, v any) {
	obj, ok := v.(map[string]any)
	if !ok {
		ctx.AddError(&discriminatorError{property: d.property, problem: notObject})
		return
	}
	pv, ok := obj[d.property]
	if !ok {
		ctx.AddError(&discriminatorError{property: d.property, problem: missing})
		return
	}
	s, ok := pv.(string)
	if !ok {
		ctx.AddError(&discriminatorError{property: d.property, problem: notString})
		return
	}
	sch := d.mapping[s]
	if sch == nil {
		ctx.AddError(&discriminatorError{property: d.property, problem: unmapped})
		return
	}
	if err := ctx.Validate(sch, v, nil); err != nil {
		ctx.AddErr(err)
	}
}

type discriminatorProblem uint8

const (
	notObject discriminatorProblem = iota
	missing
	notString
	unmapped
)

// discriminatorError is the error kind of the discriminator keyword. Its
// text names the property, never the value.
type discriminatorError struct {
	property string
	problem  discriminatorProblem
}

func (*discriminatorError) KeywordPath() []string { return []string{"discriminator"} }

func (e *discriminatorError) LocalizedString(*message.Printer) string {
	switch e.problem {
	case notObject:
		return "a resource must be a JSON object"
	case missing:
		return e.property + " is missing"
	case notString:
		return e.property + " must be a JSON string"
	}
	return "unknown " + e.property
}
