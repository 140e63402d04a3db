package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/fhir"
)

// validateDefinition is the canonical OperationDefinition of $validate.
const validateDefinition = "http://hl7.org/fhir/OperationDefinition/Resource-validate"

// validateModes are the R4 $validate modes (ResourceValidationMode).
var validateModes = map[string]bool{"create": true, "update": true, "delete": true}

// handleValidate answers POST /fhir/$validate and POST /fhir/:type/$validate
// (http://hl7.org/fhir/R4/resource-operation-validate.html).
//
// The body is the resource itself, or a Parameters resource with the
// parameters resource, mode and profile (mode and profile may also be
// query parameters). The resource is checked with fhir.Validate (the checks
// of create, the R4 JSON schema, then Config.Rules) and the answer is always
// 200 with an OperationOutcome listing every issue, plus one information
// issue "validation passed" when none is an error: as the spec says, an
// invalid resource is the operation's result, not its failure. Only a
// request that cannot be validated is an error: malformed JSON, an empty
// body, a Parameters without resource, an unknown mode (400), a type this
// server does not hold in the URL (404). A mode (create, update, delete) is
// accepted and noted; the checks are the same for every mode. A profile is
// not supported: it is ignored, with an information issue.
func (s *Server) handleValidate(c echo.Context) error {
	typ := c.Param("type")
	if typ != "" {
		if err := checkType(typ); err != nil {
			return err
		}
	}
	if err := requireJSON(c.Request()); err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return errorf(socialrx.EINVALID, "request body is empty")
	}
	if !json.Valid(body) {
		_, issues := fhir.Decode(body, typ)
		return workflow.DecodeError(issues)
	}
	req, err := validateRequestOf(body, typ)
	if err != nil {
		return err
	}
	q, err := queryOf(c.Request())
	if err != nil {
		return err
	}
	if m := q.Get("mode"); m != "" && req.mode == "" {
		req.mode = m
	}
	if q.Get("profile") != "" {
		req.profile = true
	}
	if req.mode != "" && !validateModes[req.mode] {
		return issueError(socialrx.EINVALID, "Parameters.parameter", "mode must be create, update or delete")
	}

	var issues []fhir.Issue
	switch {
	case req.resource != nil:
		issues = fhir.Validate(req.resource, typ, s.cfg.Rules...)
	case req.mode == "delete":
		issues = []fhir.Issue{{Severity: socialrx.SeverityInformation, Code: "informational",
			Message: "mode delete without a resource: this server sets no rules on deletes"}}
	default:
		return issueError(socialrx.EINVALID, "Parameters.parameter", "Parameters needs a parameter named resource")
	}
	if req.mode != "" {
		issues = append(issues, fhir.Issue{Severity: socialrx.SeverityInformation, Code: "informational",
			Message: "validated for mode " + req.mode + " (the checks are the same for every mode)"})
	}
	if req.profile {
		issues = append(issues, fhir.Issue{Severity: socialrx.SeverityInformation, Code: "not-supported",
			Message: "profiles are not supported: validated against the base R4 specification only"})
	}
	if !fhir.HasErrors(issues) {
		issues = append(issues, fhir.Issue{Severity: socialrx.SeverityInformation, Code: "informational", Message: "validation passed"})
	}
	return s.writeFHIR(c, http.StatusOK, fhir.OperationOutcome(issues))
}

// validateRequest is what $validate was asked.
type validateRequest struct {
	resource []byte // nil when the Parameters has no resource
	mode     string
	profile  bool
}

// validateRequestOf reads a $validate body: a Parameters (unless the URL's
// type is Parameters) or the resource itself.
func validateRequestOf(body []byte, typ string) (*validateRequest, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if json.Unmarshal(body, &head) != nil || head.ResourceType != "Parameters" || typ == "Parameters" {
		return &validateRequest{resource: body}, nil
	}
	var p struct {
		Parameter []struct {
			Name           string          `json:"name"`
			Resource       json.RawMessage `json:"resource"`
			ValueCode      string          `json:"valueCode"`
			ValueURI       string          `json:"valueUri"`
			ValueCanonical string          `json:"valueCanonical"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, issueError(socialrx.EINVALID, "Parameters.parameter", "Parameters.parameter must be an array of parameters")
	}
	req := &validateRequest{}
	for _, prm := range p.Parameter {
		switch prm.Name {
		case "resource":
			if req.resource != nil {
				return nil, issueError(socialrx.EINVALID, "Parameters.parameter", "Parameters has more than one resource parameter")
			}
			if len(prm.Resource) == 0 || string(prm.Resource) == "null" {
				return nil, issueError(socialrx.EINVALID, "Parameters.parameter", "the resource parameter needs a resource")
			}
			req.resource = prm.Resource
		case "mode":
			req.mode = prm.ValueCode
			if req.mode == "" {
				return nil, issueError(socialrx.EINVALID, "Parameters.parameter", "the mode parameter needs a valueCode")
			}
		case "profile":
			req.profile = true
		}
	}
	return req, nil
}
