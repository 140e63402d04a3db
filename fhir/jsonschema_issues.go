package fhir

import (
	"bytes"
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// ValidateSchema checks body, one resource or a whole Bundle, against the
// FHIR R4 JSON Schema (compiled once per process, on first use; see
// CompileSchema). It returns one issue per problem, with the FHIR path of the
// element (Bundle.entry[2].resource.subject), never the value: see
// JSONSchema.Validate.
func ValidateSchema(body []byte) []Issue {
	s, err := defaultSchema()
	if err != nil {
		return []Issue{{Severity: "fatal", Code: "exception", Message: "the FHIR JSON schema does not compile"}}
	}
	return s.Validate(body)
}

// Validate checks body, one resource or a whole Bundle, against the schema
// of its resourceType. Issues, all of severity error:
//   - structure: invalid JSON, not an object, a JSON value of the wrong kind
//     (string for boolean, object for array, ...), an element the type does
//     not have ("unknown element"; Decode only warns about these, the schema
//     refuses them);
//   - required: a missing resourceType or required element (path of the
//     missing element);
//   - value: a primitive not matching its type's pattern (date, id, code, ...);
//   - code-invalid: a code outside a required value set;
//   - not-supported: an unknown resourceType;
//   - invalid: anything else the schema refuses.
//
// Paths are FHIR paths built from the JSON pointer of the failing value:
// /entry/2/resource/subject in a Bundle is Bundle.entry[2].resource.subject;
// a primitive extension "_birthDate" is reported under Patient.birthDate (as
// Decode does). Issues come in a stable order (by path).
func (s *JSONSchema) Validate(body []byte) []Issue {
	inst, err := schemaInstance(body)
	if err != nil {
		return []Issue{{Severity: sevError, Code: codeStructure, Message: "invalid JSON"}}
	}
	obj, ok := inst.(map[string]any)
	if !ok {
		return []Issue{{Severity: sevError, Code: codeStructure, Message: "a resource must be a JSON object"}}
	}
	rt, ok := obj["resourceType"]
	if !ok {
		return []Issue{{Severity: sevError, Code: codeRequired, Message: "resourceType is missing"}}
	}
	typ, ok := rt.(string)
	if !ok {
		return []Issue{{Severity: sevError, Code: codeStructure, Message: "resourceType must be a JSON string"}}
	}
	sch := s.byType[typ]
	if sch == nil {
		return []Issue{{Severity: sevError, Code: codeNotSupported, Message: "unknown resource type"}}
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Issue{{Severity: sevError, Code: "exception", Path: typ, Message: "schema validation failed"}}
	}
	var out []Issue
	schemaIssues(ve, typ, &out)
	sortIssues(out)
	return out
}

// schemaIssues appends the issues of the leaves of the error tree e.
func schemaIssues(e *jsonschema.ValidationError, root string, out *[]Issue) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			schemaIssues(c, root, out)
		}
		return
	}
	path := fhirPath(root, e.InstanceLocation)
	add := func(code, p, msg string) {
		*out = append(*out, Issue{Severity: sevError, Code: code, Path: p, Message: msg})
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		msg := "expected a JSON " + strings.Join(k.Want, " or ")
		if t := schemaType(e.SchemaURL); t != "" {
			msg += " (type " + t + ")"
		}
		add(codeStructure, path, msg)
	case *kind.Pattern:
		t := schemaType(e.SchemaURL)
		if t == "" {
			t = "value"
		}
		add(codeValue, path, "invalid "+t)
	case *kind.Enum:
		add("code-invalid", path, "code not in the required value set ("+wantList(k.Want)+")")
	case *kind.Const:
		add(codeInvalid, path, "must be "+wantList([]any{k.Want}))
	case *kind.Required:
		for _, m := range k.Missing {
			msg := "required element is missing"
			if m == "resourceType" {
				msg = "resourceType is missing"
				add(codeRequired, path, msg)
				continue
			}
			add(codeRequired, path+"."+m, msg)
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			add(codeStructure, path+"."+p, "unknown element")
		}
	case *discriminatorError:
		switch k.problem {
		case notObject, notString:
			add(codeStructure, path, k.LocalizedString(nil))
		case missing:
			add(codeRequired, path, k.LocalizedString(nil))
		default:
			add(codeNotSupported, path, "unknown resource type")
		}
	default:
		// Keywords the R4 schema does not use; named, never quoted.
		add(codeInvalid, path, "does not match the schema ("+strings.Join(e.ErrorKind.KeywordPath(), "/")+")")
	}
}

// fhirPath turns the tokens of a JSON pointer into a FHIR path below root:
// [entry 2 resource subject] is root.entry[2].resource.subject. Array
// indexes are the all-digit tokens (no FHIR element name is a number); a
// primitive extension member "_x" is reported under x.
func fhirPath(root string, tokens []string) string {
	var b strings.Builder
	b.WriteString(root)
	for _, t := range tokens {
		if _, err := strconv.Atoi(t); err == nil {
			b.WriteString("[" + t + "]")
			continue
		}
		b.WriteByte('.')
		if len(t) > 1 && t[0] == '_' {
			t = t[1:]
		}
		b.WriteString(t)
	}
	return b.String()
}

// schemaType returns the FHIR type whose definition a schema location is
// ("…#/definitions/date" is date), or "".
func schemaType(loc string) string {
	_, frag, ok := strings.Cut(loc, "#/definitions/")
	if !ok || strings.Contains(frag, "/") {
		return ""
	}
	return frag
}

// wantList formats the values the schema allows (codes from the schema,
// never from the resource), at most ten of them.
func wantList(want []any) string {
	var parts []string
	for i, w := range want {
		if i == 10 {
			parts = append(parts, "…")
			break
		}
		if s, ok := w.(string); ok {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// sortIssues orders issues by path (array indexes compared as numbers, so
// entry[2] comes before entry[10]), then code and message: the schema
// validator reports in no fixed order.
func sortIssues(issues []Issue) {
	slices.SortStableFunc(issues, func(a, b Issue) int {
		if c := comparePaths(a.Path, b.Path); c != 0 {
			return c
		}
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
}

// comparePaths compares two paths, runs of digits by their number.
func comparePaths(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

// digitRun returns the length of the run of ASCII digits s starts with.
func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// schemaInstance decodes body for the schema: from the package's own
// parse tree (jtree.instance), or, for what that parser refuses and
// encoding/json takes (duplicate keys, invalid UTF-8, nesting past
// maxDepth), with jsonschema.UnmarshalJSON as before, so that the issues
// the schema reports do not change.
func schemaInstance(body []byte) (any, error) {
	if t, err := parseTree(body); err == nil {
		return t.instance(0), nil
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(body))
}
