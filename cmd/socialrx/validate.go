package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/socialrx/socialrx/fhir"
)

// ValidateCmd checks FHIR JSON files offline, with the checks of the
// $validate operation (fhir.Validate: what the server accepts on create,
// plus the R4 JSON schema).
type ValidateCmd struct {
	Paths    []string `arg:"" optional:"" name:"path" help:"Files or directories (searched recursively for .json and .ndjson files). In .ndjson files each line is checked on its own."`
	Warnings bool     `help:"Also print warnings and information issues."`
	Format   string   `default:"text" enum:"text,outcome" help:"text: PASS or FAIL per file with one line per issue, then a summary; outcome: one JSON line per file, {\"file\":..., \"outcome\": OperationOutcome} (summary on stderr)."`

	// Rules are socialrx's own checks, run after the FHIR checks (see
	// fhir.Validate). Default: none.
	Rules []fhir.Rule `kong:"-"`
	// Stdout and Stderr receive the output; nil means os.Stdout, os.Stderr.
	Stdout io.Writer `kong:"-"`
	Stderr io.Writer `kong:"-"`
}

// errValidationFailed is returned (wrapped) when some file failed: exit 1.
var errValidationFailed = errors.New("validation failed")

// Run validates every file named or found, in order. It returns nil when all
// passed, an error wrapping errValidationFailed when some failed (exit 1),
// and one wrapping errUsage when there is nothing to validate or a path
// cannot be read (exit 2). Output names files and element paths, never
// values.
func (c *ValidateCmd) Run(ctx context.Context) error {
	out, errOut := c.Stdout, c.Stderr
	if out == nil {
		out = os.Stdout
	}
	if errOut == nil {
		errOut = os.Stderr
	}
	if len(c.Paths) == 0 {
		return fmt.Errorf("%w: validate needs at least one FILE or DIR", errUsage)
	}
	files, err := validateFiles(c.Paths)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: no .json or .ndjson file found", errUsage)
	}
	w := bufio.NewWriter(out)
	defer w.Flush()
	var passed, failed int
	report := func(name string, body []byte) error {
		issues := fhir.Validate(body, "", c.Rules...)
		if fhir.HasErrors(issues) {
			failed++
		} else {
			passed++
		}
		return c.print(w, name, issues)
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := validateFile(f, report); err != nil {
			w.Flush()
			return err
		}
	}
	summary := fmt.Sprintf("%d passed, %d failed\n", passed, failed)
	if c.Format == "outcome" {
		fmt.Fprint(errOut, summary)
	} else {
		fmt.Fprint(w, summary)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d", errValidationFailed, failed, passed+failed)
	}
	return nil
}

// print writes the result for one file (or .ndjson line).
func (c *ValidateCmd) print(w io.Writer, name string, issues []fhir.Issue) error {
	if c.Format == "outcome" {
		if !fhir.HasErrors(issues) {
			issues = append(issues, fhir.Issue{Severity: "information", Code: "informational", Message: "validation passed"})
		}
		line, err := json.Marshal(struct {
			File    string          `json:"file"`
			Outcome json.RawMessage `json:"outcome"`
		}{name, fhir.OperationOutcome(issues)})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", line)
		return err
	}
	verdict := "PASS"
	if fhir.HasErrors(issues) {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s %s\n", verdict, name)
	for _, i := range issues {
		if !c.Warnings && i.Severity != "error" && i.Severity != "fatal" {
			continue
		}
		if i.Path == "" {
			fmt.Fprintf(w, "  %s: %s\n", i.Severity, i.Message)
			continue
		}
		fmt.Fprintf(w, "  %s %s: %s\n", i.Severity, i.Path, i.Message)
	}
	return nil
}

// validateFiles expands paths: a file stands for itself, a directory for the
// .json and .ndjson files below it, in lexical order.
func validateFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w: cannot read %s", errUsage, p)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%w: cannot read %s", errUsage, path)
			}
			ext := strings.ToLower(filepath.Ext(path))
			if !d.IsDir() && (ext == ".json" || ext == ".ndjson") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// validateFile calls report for the file, or for each non-blank line of an
// .ndjson file (named path:line).
func validateFile(path string, report func(name string, body []byte) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: cannot read %s", errUsage, path)
	}
	if !strings.EqualFold(filepath.Ext(path), ".ndjson") {
		return report(path, data)
	}
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if err := report(path+":"+strconv.Itoa(n+1), line); err != nil {
			return err
		}
	}
	return nil
}
