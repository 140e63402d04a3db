package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/fhir/search"
)

// restDocumentation is the CapabilityStatement's account of the choices the
// spec leaves to servers.
const restDocumentation = "socialrx FHIR R4 API, JSON only (XML is answered 406). " +
	"A resource type that is not an R4 type, and an R4 type this server does not hold, are both answered 404 with an OperationOutcome (issue code not-supported); " +
	"a body whose resourceType is wrong or unsupported is a 400; a resource that breaks an R4 rule (a required element missing, a code outside a required value set, a bad format) is refused with 422 listing the element paths, on every create, update and Bundle entry. " +
	"Limits: a request body over the size limit, a Bundle with too many entries and a transaction response over the response limit are 413; a search with too many parameters or values is 400; a Host header the server was not configured for is 421; a request past its deadline is 503. " +
	"Search is lenient by default (unknown parameters are ignored and reported in a search.mode=outcome entry); Prefer: handling=strict refuses them with 400. " +
	"Conditional references (Type?params) in transactions resolve to one match; none is a 400, several a 412. " +
	"PATCH takes a JSON Patch (over REST, and in a Bundle entry as a Binary with contentType application/json-patch+json); FHIRPath Patch is 415. " +
	"Conditional delete (also in a Bundle) deletes the one match, nothing when none matches, and is 412 for several. " +
	"System-level entries and the vread of a past version inside a transaction are not supported (405). " +
	"$validate checks the base R4 specification (the server's own checks and the R4 JSON schema) and answers 200 with every issue; profiles are not supported. " +
	"Social prescribing: a social ServiceRequest (socialrx, SDOH CC or sdoh category, SNOMED CT 410606002, a social reason, or a navigator performer) is read as a prescription when written; " +
	"it is stored as sent: what socialrx derives (form, channel, need domains) is kept beside it, searchable as prescription-form, prescription-channel and need-domain and read with ServiceRequest/[id]/$prescription; " +
	"a follow-up Task (and, self-directed, a patient Task) is created in the same transaction, and an invalid prescription or an illegal referral Task status change is refused with 422 listing the element paths. " +
	"The referral Task of a fax or phone hand-off is on the staff work list, searchable as Task?work-list=send-fax or call-to-confirm (the Task itself is stored as sent); with consent required, a referral no active patient-privacy Consent permits sharing is held (on-hold) on Task?work-list=consent-needed until one does. " +
	"A referral Task whose prescription targets an hl7-fhir-msg Endpoint is sent to that platform as an eReferral message; a delivery that fails for good is written on the Task (Task?delivery-state=failed); revoking a prescription cancels its open referrals. " +
	"Other ServiceRequests are stored as sent. " +
	"$process-messages takes Ontario eReferral messages (https://ehealthontario.ca/fhir/CodeSystem/message-event-code) from platforms authenticated by their Endpoint's bearer token: " +
	"notify-add-process-request and notify-update-process-request (Task status), notify-add-appointment, send-communication-from-provider, " +
	"add-service-request (a referral to a program that works in socialrx, answered with its Task received) and revoke-service-request are applied in one transaction; " +
	"a message already processed, or socialrx's own, changes nothing; an illegal status change is kept, flagged and warned about; the answer is a response message."

// commonDefinitions are the canonical URLs of the search parameters every
// resource has; others are not listed as definitions because R4 shares many
// definitions between types under names this server does not track.
var commonDefinitions = map[string]string{
	"_id":          "http://hl7.org/fhir/SearchParameter/Resource-id",
	"_lastUpdated": "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
	"_tag":         "http://hl7.org/fhir/SearchParameter/Resource-tag",
	"_profile":     "http://hl7.org/fhir/SearchParameter/Resource-profile",
	"_security":    "http://hl7.org/fhir/SearchParameter/Resource-security",
	"_source":      "http://hl7.org/fhir/SearchParameter/Resource-source",
}

type capabilityStatement struct {
	ResourceType   string            `json:"resourceType"`
	ID             string            `json:"id"`
	Status         string            `json:"status"`
	Date           string            `json:"date"`
	Publisher      string            `json:"publisher"`
	Kind           string            `json:"kind"`
	Software       capSoftware       `json:"software"`
	Implementation capImplementation `json:"implementation"`
	FHIRVersion    string            `json:"fhirVersion"`
	Format         []string          `json:"format"`
	PatchFormat    []string          `json:"patchFormat,omitempty"`
	Rest           []capabilityRest  `json:"rest"`
}

type capSoftware struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type capImplementation struct {
	Description string `json:"description"`
	URL         string `json:"url"`
}

type capabilityRest struct {
	Mode          string           `json:"mode"`
	Documentation string           `json:"documentation"`
	Security      *capSecurity     `json:"security,omitempty"`
	Resource      []capResource    `json:"resource"`
	Interaction   []capInteraction `json:"interaction"`
	Operation     []capOperation   `json:"operation,omitempty"`
}

type capOperation struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

// operationDefinitions are the canonical OperationDefinitions of the
// operations a route may serve ($name as the route's last segment).
var operationDefinitions = map[string]string{
	"validate":         validateDefinition,
	"process-messages": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
	"prescription":     prescriptionDefinition,
	"everything":       "http://hl7.org/fhir/OperationDefinition/Patient-everything",
	"export":           exportDefinition,
	"evaluate-measure": "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure",
}

// operationOf returns the operation a route path serves ("/:type/$validate"
// serves validate), or "".
func operationOf(path string) string {
	last := path[strings.LastIndexByte(path, '/')+1:]
	name, ok := strings.CutPrefix(last, "$")
	if !ok {
		return ""
	}
	return name
}

type capInteraction struct {
	Code string `json:"code"`
}

type capResource struct {
	Type              string           `json:"type"`
	Interaction       []capInteraction `json:"interaction"`
	Versioning        string           `json:"versioning"`
	ReadHistory       bool             `json:"readHistory"`
	UpdateCreate      bool             `json:"updateCreate"`
	ConditionalCreate bool             `json:"conditionalCreate"`
	ConditionalRead   string           `json:"conditionalRead"`
	ConditionalUpdate bool             `json:"conditionalUpdate"`
	ConditionalDelete string           `json:"conditionalDelete"`
	SearchInclude     []string         `json:"searchInclude,omitempty"`
	SearchRevInclude  []string         `json:"searchRevInclude,omitempty"`
	SearchParam       []capSearchParam `json:"searchParam,omitempty"`
	Operation         []capOperation   `json:"operation,omitempty"`
}

type capSearchParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition,omitempty"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

// handleCapabilities answers GET /fhir/metadata.
func (s *Server) handleCapabilities(c echo.Context) error {
	data, err := marshal(s.capabilities(s.baseURL(c.Request())))
	if err != nil {
		return err
	}
	return s.writeFHIR(c, http.StatusOK, data)
}

// capabilities builds the CapabilityStatement from the routing table, the
// supported types and their search parameters: nothing is listed per type
// by hand.
func (s *Server) capabilities(base string) *capabilityStatement {
	var typeLevel, system []capInteraction
	var typeOps, systemOps []capOperation
	opTypes := map[capOperation][]string{} // operation -> the only types it applies to
	has := map[string]bool{}
	condUpdate, condDelete := false, "not-supported"
	for _, r := range s.routes {
		// $export is listed when it is configured (else it answers 501).
		if name := operationOf(r.path); name != "" && (name != "export" || s.cfg.ExportDir != "") {
			op := capOperation{Name: name, Definition: operationDefinitions[name]}
			if name == "export" && !r.system {
				op.Definition = exportDefinitionOf(r.types)
			}
			switch {
			case r.system:
				systemOps = append(systemOps, op)
			case slices.Contains(typeOps, op): // GET and POST of one operation
			default:
				typeOps = append(typeOps, op)
				if r.types != nil {
					opTypes[op] = r.types
				}
			}
		}
		for _, code := range r.interactions {
			has[code] = true
			if r.system {
				system = append(system, capInteraction{Code: code})
			} else {
				typeLevel = append(typeLevel, capInteraction{Code: code})
			}
		}
		if r.method == http.MethodPut && r.path == "/:type" {
			condUpdate = true
		}
		if r.method == http.MethodDelete && r.path == "/:type" {
			condDelete = "single"
		}
	}

	types := fhir.SupportedTypes()
	revIncludes := map[string][]string{} // target type -> Source:param
	for _, t := range types {
		for _, p := range search.SearchParams(t) {
			if p.Type != search.ParamReference {
				continue
			}
			for _, target := range p.Targets {
				revIncludes[target] = append(revIncludes[target], t+":"+p.Name)
			}
		}
	}

	rest := capabilityRest{Mode: "server", Documentation: restDocumentation, Security: s.security(), Interaction: system, Operation: systemOps}
	for _, t := range types {
		res := capResource{
			Type:              t,
			Interaction:       typeLevel,
			Versioning:        "versioned",
			ReadHistory:       has["vread"],
			UpdateCreate:      has["update"],
			ConditionalCreate: has["create"],
			ConditionalRead:   "not-supported",
			ConditionalUpdate: condUpdate,
			ConditionalDelete: condDelete,
		}
		for _, op := range typeOps {
			if only, ok := opTypes[op]; !ok || slices.Contains(only, t) {
				res.Operation = append(res.Operation, op)
			}
		}
		for _, p := range search.SearchParams(t) {
			res.SearchParam = append(res.SearchParam, capSearchParam{
				Name:          p.Name,
				Definition:    definitionOf(p),
				Type:          string(p.Type),
				Documentation: p.Expression,
			})
			if p.Type == search.ParamReference {
				res.SearchInclude = append(res.SearchInclude, t+":"+p.Name)
			}
		}
		if len(res.SearchInclude) > 0 {
			res.SearchInclude = append(res.SearchInclude, "*")
		}
		rev := slices.Clone(revIncludes[t])
		slices.Sort(rev)
		res.SearchRevInclude = slices.Compact(rev)
		if t == auditType {
			auditCapability(&res)
		}
		rest.Resource = append(rest.Resource, res)
	}

	return &capabilityStatement{
		ResourceType:   "CapabilityStatement",
		ID:             "socialrx",
		Status:         "active",
		Date:           s.started.Format(time.RFC3339),
		Publisher:      "socialrx",
		Kind:           "instance",
		Software:       capSoftware{Name: "socialrx", Version: s.cfg.Version},
		Implementation: capImplementation{Description: "socialrx FHIR R4 API", URL: base},
		FHIRVersion:    "4.0.1",
		Format:         []string{"json", "application/fhir+json"},
		PatchFormat:    []string{jsonPatchType},
		Rest:           []capabilityRest{rest},
	}
}

// definitionOf is the canonical URL of a search parameter's definition, when
// known.
func definitionOf(p search.SearchParam) string {
	if p.URL != "" {
		return p.URL
	}
	return commonDefinitions[p.Name]
}
