package mapping

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir"
)

// The systems mapping reads.
const (
	systemLOINC             = "http://loinc.org"
	systemSNOMED            = "http://snomed.info/sct"
	systemSDOHCC            = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
	systemUSCoreCategory    = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
	systemObsCategory       = "http://terminology.hl7.org/CodeSystem/observation-category"
	systemConditionClinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	systemConditionVer      = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
)

// coding, codeableConcept, reference, period and quantity are the FHIR R4
// datatypes mapping reads, with only the elements it uses.
type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

type codeableConcept struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text"`
}

type reference struct {
	Reference string `json:"reference"`
}

type period struct {
	Start string `json:"start"`
}

type quantity struct {
	Value *float64 `json:"value"`
}

// has reports whether cc holds the code in the system.
func (cc *codeableConcept) has(system, code string) bool {
	if cc == nil {
		return false
	}
	for _, c := range cc.Coding {
		if c.System == system && c.Code == code {
			return true
		}
	}
	return false
}

// code returns the first code of cc in system, or "".
func (cc *codeableConcept) code(system string) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if c.System == system && c.Code != "" {
			return c.Code
		}
	}
	return ""
}

// issueErr returns an *socialrx.Error with one issue at path. msg names
// elements and codes, never values.
func issueErr(code, issueCode, path, msg string) *socialrx.Error {
	return &socialrx.Error{
		Code:    code,
		Message: strings.ToLower(pathRoot(path)) + ": " + msg,
		Issues:  []socialrx.Issue{{Severity: socialrx.SeverityError, Code: issueCode, Path: path, Message: msg}},
	}
}

func pathRoot(path string) string {
	root, _, _ := strings.Cut(path, ".")
	return root
}

// decodeResource unmarshals body into v and checks that its resourceType
// is typ. JSON errors become EINVALID with the path of the element whose
// JSON type is wrong (from encoding/json's field path), or the resource
// type for a syntax error. The messages never repeat values: encoding/json's
// own messages can quote numbers, so they are not used.
func decodeResource(body []byte, typ string, v any, resourceType *string) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			path := typ
			if te.Field != "" {
				path += "." + te.Field
			}
			return issueErr(socialrx.EINVALID, "structure", path, "wrong JSON type for element (want "+jsonKind(te.Type)+")")
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return issueErr(socialrx.EINVALID, "structure", typ, "invalid JSON")
		}
		return issueErr(socialrx.EINVALID, "structure", typ, "invalid JSON")
	}
	if *resourceType != typ {
		return issueErr(socialrx.EINVALID, "invalid", typ+".resourceType", "resourceType must be "+typ)
	}
	return nil
}

// patientID returns the id of the Patient that ref points to: a relative
// reference "Patient/<id>" (with or without _history) or an absolute URL
// ending in Patient/<id>. urn:uuid references of a transaction must be
// resolved by the caller first. path is the element path of ref, e.g.
// "Observation.subject".
func patientID(ref *reference, path string) (string, error) {
	if ref == nil || ref.Reference == "" {
		return "", issueErr(socialrx.EUNPROCESSABLE, "required", path, "a Patient reference is required")
	}
	r, err := fhir.ParseReference(ref.Reference)
	if err != nil {
		return "", issueErr(socialrx.EUNPROCESSABLE, "value", path+".reference", "invalid reference")
	}
	if (r.Kind != fhir.RefRelative && r.Kind != fhir.RefAbsolute) || r.Type != "Patient" || r.ID == "" {
		return "", issueErr(socialrx.EUNPROCESSABLE, "value", path+".reference", "must reference a Patient as Patient/<id>")
	}
	return r.ID, nil
}

// parseDateTime parses a FHIR date, dateTime or instant ("2020",
// "2020-09", "2020-09-10", "2020-09-10T21:56:54.671Z"). A partial date
// means its first instant, in UTC. "" gives the zero time.
func parseDateTime(s, path string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	layouts := []string{time.RFC3339Nano, "2006-01-02", "2006-01", "2006"}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, issueErr(socialrx.EINVALID, "value", path, "invalid date/time format")
}

// firstTime returns the first non-empty of the candidates, parsed; each
// candidate is a value and the path it came from.
func firstTime(candidates ...[2]string) (time.Time, error) {
	for _, c := range candidates {
		if c[0] != "" {
			return parseDateTime(c[0], c[1])
		}
	}
	return time.Time{}, nil
}

// jsonKind names the JSON kind a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a value"
}
