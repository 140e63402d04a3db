package fhir

import (
	"bytes"
	"encoding/json"
)

type outcomeJSON struct {
	ResourceType string             `json:"resourceType"`
	Issue        []outcomeIssueJSON `json:"issue"`
}

type outcomeIssueJSON struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Details  *struct {
		Text string `json:"text,omitempty"`
	} `json:"details,omitempty"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Location    []string `json:"location,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

func operationOutcome(issues []Issue) []byte {
	out := outcomeJSON{ResourceType: "OperationOutcome", Issue: make([]outcomeIssueJSON, 0, len(issues))}
	for _, i := range issues {
		oi := outcomeIssueJSON{Severity: i.Severity, Code: i.Code, Diagnostics: i.Message}
		if oi.Severity == "" {
			oi.Severity = sevError
		}
		if oi.Code == "" {
			oi.Code = "processing"
		}
		if i.Path != "" {
			oi.Expression = []string{i.Path}
		}
		out.Issue = append(out.Issue, oi)
	}
	if len(out.Issue) == 0 {
		out.Issue = append(out.Issue, outcomeIssueJSON{Severity: "information", Code: "informational", Diagnostics: "ok"})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		// Strings always encode; this cannot happen.
		panic("fhir: encode OperationOutcome: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// OutcomeIssues reads the issues of an OperationOutcome (for example one
// returned by a remote FHIR server). Path is the first expression, or else
// the first location; Message is diagnostics, or else details.text. It
// returns nil when body is not an OperationOutcome.
func OutcomeIssues(body []byte) []Issue {
	var oo outcomeJSON
	if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" {
		return nil
	}
	issues := make([]Issue, 0, len(oo.Issue))
	for _, oi := range oo.Issue {
		i := Issue{Severity: oi.Severity, Code: oi.Code, Message: oi.Diagnostics}
		if len(oi.Expression) > 0 {
			i.Path = oi.Expression[0]
		} else if len(oi.Location) > 0 {
			i.Path = oi.Location[0]
		}
		if i.Message == "" && oi.Details != nil {
			i.Message = oi.Details.Text
		}
		issues = append(issues, i)
	}
	return issues
}
