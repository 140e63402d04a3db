package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/google/go-cmp/cmp"

	"github.com/socialrx/socialrx/fhir"
)

// writeFiles creates files (relative name -> content) under a temp dir and
// returns the dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestValidateCmd(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a/good.json":        `{"resourceType":"Patient","birthDate":"1990-01-02"}`,
		"a/bad.json":         `{"resourceType":"Patient","birthDate":"1990-13-01"}`,
		"a/warn.json":        `{"resourceType":"Patient","_gender":{"extension":[{"url":"http://x"}]}}`,
		"b/lines.ndjson":     "{\"resourceType\":\"Patient\"}\n\n{\"resourceType\":\"Patient\",\"active\":\"yes\"}\n",
		"b/notes.txt":        "not FHIR",
		"c/bundle.json":      `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":1}}}]}`,
		"d/malformed.json":   `{"resourceType":`,
		"e/unsupported.json": `{"resourceType":"Medication"}`,
	})
	p := func(name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
	warn := func(typ string, body []byte) []fhir.Issue {
		return []fhir.Issue{{Severity: "warning", Code: "business-rule", Path: typ + ".generalPractitioner", Message: "no general practitioner"}}
	}

	tests := []struct {
		name    string
		cmd     ValidateCmd
		wantOut string
		wantErr error
	}{
		{"one file passes", ValidateCmd{Paths: []string{p("a/good.json")}},
			"PASS " + p("a/good.json") + "\n1 passed, 0 failed\n", nil},
		{"a directory, recursively, in order", ValidateCmd{Paths: []string{p("a"), p("b")}},
			"FAIL " + p("a/bad.json") + "\n" +
				"  error Patient.birthDate: invalid date\n" +
				"PASS " + p("a/good.json") + "\n" +
				"PASS " + p("a/warn.json") + "\n" +
				"PASS " + p("b/lines.ndjson") + ":1\n" +
				"FAIL " + p("b/lines.ndjson") + ":3\n" +
				"  error Patient.active: expected a JSON boolean (type boolean)\n" +
				"3 passed, 2 failed\n", errValidationFailed},
		{"warnings hidden", ValidateCmd{Paths: []string{p("a/good.json")}, Rules: []fhir.Rule{warn}},
			"PASS " + p("a/good.json") + "\n" +
				"1 passed, 0 failed\n", nil},
		{"warnings shown", ValidateCmd{Paths: []string{p("a/good.json")}, Rules: []fhir.Rule{warn}, Warnings: true},
			"PASS " + p("a/good.json") + "\n" +
				"  warning Patient.generalPractitioner: no general practitioner\n" +
				"1 passed, 0 failed\n", nil},
		{"invalid element inside a Bundle", ValidateCmd{Paths: []string{p("c")}},
			"FAIL " + p("c/bundle.json") + "\n" +
				"  error Bundle.entry[0].resource.subject.reference: expected a JSON string (type string)\n" +
				"0 passed, 1 failed\n", errValidationFailed},
		{"malformed JSON fails", ValidateCmd{Paths: []string{p("d/malformed.json")}}, "", errValidationFailed},
		{"type not held by the server fails", ValidateCmd{Paths: []string{p("e/unsupported.json")}},
			"FAIL " + p("e/unsupported.json") + "\n" +
				"  error Medication: resource type Medication is not supported by this server\n" +
				"0 passed, 1 failed\n", errValidationFailed},
		{"no arguments", ValidateCmd{}, "", errUsage},
		{"missing path", ValidateCmd{Paths: []string{p("nope")}}, "", errUsage},
		{"directory without FHIR files", ValidateCmd{Paths: []string{writeFiles(t, map[string]string{"x.txt": "x"})}}, "", errUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := tt.cmd
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run(context.Background())
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Run: got error %v, want %v", err, tt.wantErr)
			}
			if tt.wantOut == "" {
				return
			}
			if diff := cmp.Diff(tt.wantOut, out.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateCmdOutcome(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"bad.json":  `{"resourceType":"Patient","birthDate":"1990-13-01"}`,
		"good.json": `{"resourceType":"Patient"}`,
	})
	var out, errOut bytes.Buffer
	cmd := ValidateCmd{Paths: []string{dir}, Format: "outcome", Stdout: &out, Stderr: &errOut}
	if err := cmd.Run(context.Background()); !errors.Is(err, errValidationFailed) {
		t.Fatalf("Run: got %v, want a validation failure", err)
	}
	type issue struct {
		Severity    string   `json:"severity"`
		Code        string   `json:"code"`
		Diagnostics string   `json:"diagnostics"`
		Expression  []string `json:"expression"`
	}
	type line struct {
		File    string `json:"file"`
		Outcome struct {
			ResourceType string  `json:"resourceType"`
			Issue        []issue `json:"issue"`
		} `json:"outcome"`
	}
	var got []line
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("output line is not JSON (%v): %s", err, l)
		}
		got = append(got, v)
	}
	want := []line{{File: filepath.Join(dir, "bad.json")}, {File: filepath.Join(dir, "good.json")}}
	want[0].Outcome.ResourceType = "OperationOutcome"
	want[0].Outcome.Issue = []issue{{Severity: "error", Code: "value", Diagnostics: "invalid date", Expression: []string{"Patient.birthDate"}}}
	want[1].Outcome.ResourceType = "OperationOutcome"
	want[1].Outcome.Issue = []issue{{Severity: "information", Code: "informational", Diagnostics: "validation passed"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcome lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("1 passed, 1 failed\n", errOut.String()); diff != "" {
		t.Errorf("summary on stderr (-want +got):\n%s", diff)
	}
}

// TestValidateCmdParse: the command line reaches ValidateCmd as expected.
func TestValidateCmdParse(t *testing.T) {
	var cli CLI
	p, err := kong.New(&cli, cliVars(DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]string{"validate", "--warnings", "--format", "outcome", "a.json", "dir"}); err != nil {
		t.Fatal(err)
	}
	want := ValidateCmd{Paths: []string{"a.json", "dir"}, Warnings: true, Format: "outcome"}
	if diff := cmp.Diff(want, cli.Validate, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Stdout" || p.Last().String() == ".Stderr"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
}
