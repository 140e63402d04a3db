package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/export"
	"github.com/socialrx/socialrx/fhir"
	"github.com/socialrx/socialrx/mapping"
)

// Bulk Data export (FHIR Bulk Data Access 2.0, async pattern):
//
//	GET [base]/$export, [base]/Patient/$export, [base]/Group/[id]/$export
//	    Prefer: respond-async  ──> 202, Content-Location: [base]/$export-status/[id]
//	GET [base]/$export-status/[id]     ──> 202 X-Progress, Retry-After (running)
//	                                   ──> 200 manifest (completed)
//	                                   ──> 500 OperationOutcome (failed)
//	DELETE [base]/$export-status/[id]  ──> 202: cancelled, record and files removed
//	GET [base]/$export-file/[id]/[file] ──> 200 application/fhir+ndjson
//
// The job is recorded with its River job in one transaction
// (socialrx.Exports.CreateExport) and run by adapter/jobs (export.Runner).
// The status, files and DELETE are answered only to the client that
// kicked the export off (socialrx.Principal.ClientID; "" for both when
// authentication is off); to any other, 404, as if there were no export.

// exportDefinition is the canonical of the system-level $export operation.
const exportDefinition = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"

// exportDefinitionOf is the canonical of $export on types (Patient or
// Group).
func exportDefinitionOf(types []string) string {
	if slices.Contains(types, "Group") {
		return "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"
	}
	return "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
}

// ContentTypeNDJSON is the media type of Bulk Data output files.
const ContentTypeNDJSON = "application/fhir+ndjson"

// exportRetryAfter is the Retry-After of a running export's status.
const exportRetryAfter = 2 * time.Second

// exportFactsParam is socialrx's kick-off parameter asking for the derived
// facts of exported social prescriptions (an output of type Parameters).
const exportFactsParam = "prescriptionFacts"

// exportParams are the kick-off parameters understood; any other is 400.
var exportParams = map[string]bool{"_type": true, "_since": true, "_outputFormat": true, "_format": true, "_pretty": true, exportFactsParam: true}

// outputFormats are the accepted _outputFormat values.
var outputFormats = map[string]bool{"": true, "application/fhir+ndjson": true, "application/ndjson": true, "ndjson": true}

// handleExportKickoff answers the three kick-off routes.
func (s *Server) handleExportKickoff(c echo.Context) error {
	r := c.Request()
	if s.cfg.ExportDir == "" {
		return errorf(socialrx.ENOTIMPLEMENTED, "$export is not configured on this server (no export directory)")
	}
	job := &socialrx.ExportJob{Level: socialrx.ExportSystem}
	typ, id := c.Param("type"), c.Param("id")
	n := noteOf(c)
	n.operation, n.queryType, n.query = "$export", typ, r.URL.RawQuery
	if typ == "Group" && id != "" {
		n.entity = "Group/" + id
	}
	principal := socialrx.PrincipalFrom(r.Context())
	switch {
	case typ == "":
	case id == "":
		if typ != "Patient" {
			return issueError(socialrx.ENOTFOUND, "", "$export is defined on the system, Patient and Group, not on %s", typ)
		}
		job.Level = socialrx.ExportPatient
	default:
		if typ != "Group" {
			return issueError(socialrx.ENOTFOUND, "", "$export on an instance is defined on Group only, not on %s", typ)
		}
		if !fhir.ValidID(id) {
			return issueError(socialrx.EINVALID, "Group.id", "invalid resource id")
		}
		if !principal.Permits(socialrx.InteractionRead, "Group") {
			return forbiddenError(socialrx.InteractionRead, "Group")
		}
		g, err := s.store.Read(r.Context(), "Group", id)
		if err != nil {
			return err
		}
		if err := checkGroupMembers(g); err != nil {
			return err
		}
		job.Level, job.GroupID = socialrx.ExportGroup, id
	}
	if !preferAsync(r) {
		return issueError(socialrx.EINVALID, "", "$export runs asynchronously: send the header Prefer: respond-async")
	}
	q, err := queryOf(r)
	if err != nil {
		return err
	}
	for name := range q {
		if !exportParams[name] {
			return issueError(socialrx.EINVALID, "", "$export parameter %s is not supported (supported: _type, _since, _outputFormat, %s)", name, exportFactsParam)
		}
	}
	if f := strings.ReplaceAll(strings.TrimSpace(q.Get("_outputFormat")), " ", "+"); !outputFormats[strings.ToLower(f)] {
		return issueError(socialrx.EINVALID, "", "_outputFormat %q is not supported; only application/fhir+ndjson is written", f)
	}
	if v := q.Get("_since"); v != "" {
		since, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return issueError(socialrx.EINVALID, "", "_since must be a FHIR instant with a time zone, e.g. 2026-01-01T00:00:00Z")
		}
		job.Since = since.UTC()
	}
	if job.Types, err = exportTypes(job.Level, q["_type"], principal); err != nil {
		return err
	}
	switch q.Get(exportFactsParam) {
	case "", "false":
	case "true":
		if !slices.Contains(job.Types, "ServiceRequest") {
			return issueError(socialrx.EINVALID, "", "%s=true needs ServiceRequest among the exported types", exportFactsParam)
		}
		job.Facts = true
		// Facts derived from a type the client may not read are left
		// out, as in $prescription.
		for _, t := range socialrx.FactSources() {
			if principal.Permits(socialrx.InteractionRead, t) {
				job.FactsFrom = append(job.FactsFrom, t)
			}
		}
	default:
		return issueError(socialrx.EINVALID, "", "%s must be true or false", exportFactsParam)
	}
	// The Group's membership is taken as it stands at this instant
	// (export.GroupMembers): checked on the version just read, which is
	// not newer.
	now := time.Now().UTC().Truncate(time.Microsecond)
	job.ID = export.NewJobID()
	job.Owner = principal.ClientID
	job.TransactionTime, job.CreatedAt = now, now
	job.Request = s.baseURL(r) + strings.TrimPrefix(r.URL.Path, "/fhir")
	if r.URL.RawQuery != "" {
		job.Request += "?" + r.URL.RawQuery
	}
	if err := s.store.CreateExport(r.Context(), job); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "export accepted", "request_id", requestIDOf(c), "export", job.ID, "level", job.Level, "types", len(job.Types))
	c.Response().Header().Set("Content-Location", s.baseURL(r)+"/$export-status/"+job.ID)
	return s.writeFHIR(c, http.StatusAccepted, fhir.OperationOutcome([]fhir.Issue{{
		Severity: socialrx.SeverityInformation, Code: "informational",
		Message: "export accepted; poll the Content-Location URL for its status",
	}}))
}

// checkGroupMembers refuses (400) a Group/[id]/$export of Group g when a
// current member is not a Patient (a Practitioner, a Device, a contained
// or identifier-only entity: a Group export is about patients, and
// leaving members out silently would hand the analyst a partial cohort),
// or when it has more Patient members than one export takes. Members
// marked inactive, or whose period does not cover now, are not checked:
// they are not exported either (mapping.GroupMembersAt).
func checkGroupMembers(g *socialrx.Resource) error {
	m, err := mapping.GroupMembersAt(g.Body, time.Now().UTC())
	if err != nil {
		return err
	}
	if len(m.Others) > 0 {
		issues := make([]socialrx.Issue, 0, len(m.Others))
		for _, p := range m.Others {
			issues = append(issues, socialrx.Issue{Severity: socialrx.SeverityError, Code: "not-supported", Path: p,
				Message: "Group/[id]/$export exports Patient members only; this member is not a literal Patient reference"})
		}
		return &socialrx.Error{Code: socialrx.EINVALID, Message: "the Group has members that are not Patients", Issues: issues}
	}
	if len(m.Patients) > socialrx.MaxStreamIDs {
		return issueError(socialrx.EINVALID, "", "the Group has %d patient members; an export takes at most %d", len(m.Patients), socialrx.MaxStreamIDs)
	}
	return nil
}

// preferAsync reports a Prefer: respond-async header.
func preferAsync(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
			if strings.EqualFold(strings.TrimSpace(part), "respond-async") {
				return true
			}
		}
	}
	return false
}

// exportTypes returns the types an export of level writes: those asked in
// _type (each held, in the level's compartment and readable by the
// principal: 400 or 403 otherwise), or by default every type of the level
// that the principal may read (those it may not read are left out; 403
// when none is left).
func exportTypes(level string, asked []string, p socialrx.Principal) ([]string, error) {
	allowed := export.Types(level)
	var types []string
	for _, v := range asked {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			switch {
			case t == "":
				continue
			case !fhir.Supported(t):
				return nil, issueError(socialrx.EINVALID, "", "_type %s is not a resource type this server holds", t)
			case t == "AuditEvent":
				return nil, issueError(socialrx.EINVALID, "", "AuditEvents are not exported: search them at AuditEvent (the audit trail is never in $export)")
			case !slices.Contains(allowed, t):
				return nil, issueError(socialrx.EINVALID, "", "_type %s has no resources in a patient's compartment", t)
			case !p.Permits(socialrx.InteractionRead, t):
				return nil, forbiddenError(socialrx.InteractionRead, t)
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	if len(types) > 0 {
		return types, nil
	}
	for _, t := range allowed {
		if p.Permits(socialrx.InteractionRead, t) {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return nil, scopeError("system/*.r", "the access token's scopes do not allow read on any resource type this export covers (system/*.r would, or read on one of them)")
	}
	return types, nil
}

// ownExport returns the export job id names if it exists, has not expired
// and belongs to the request's client; else 404.
func (s *Server) ownExport(c echo.Context) (*socialrx.ExportJob, error) {
	id := c.Param("id")
	notFound := issueError(socialrx.ENOTFOUND, "", "no export %s (it may have expired or been deleted)", id)
	if !export.IsJobID(id) {
		return nil, notFound
	}
	job, err := s.store.Export(c.Request().Context(), id)
	if socialrx.ErrorCode(err) == socialrx.ENOTFOUND {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if job.Owner != socialrx.PrincipalFrom(c.Request().Context()).ClientID {
		return nil, notFound
	}
	if !job.ExpiresAt.IsZero() && !time.Now().Before(job.ExpiresAt) {
		return nil, notFound
	}
	return job, nil
}

// exportManifest is the Bulk Data completion manifest.
type exportManifest struct {
	TransactionTime     string               `json:"transactionTime"`
	Request             string               `json:"request"`
	RequiresAccessToken bool                 `json:"requiresAccessToken"`
	Output              []exportManifestFile `json:"output"`
	Error               []exportManifestFile `json:"error"`
}

type exportManifestFile struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int64  `json:"count"`
}

// handleExportStatus answers GET [base]/$export-status/[id].
func (s *Server) handleExportStatus(c echo.Context) error {
	job, err := s.ownExport(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	switch job.Status {
	case socialrx.ExportAccepted, socialrx.ExportInProgress:
		h.Set("X-Progress", exportProgress(job))
		h.Set("Retry-After", strconv.Itoa(int(exportRetryAfter/time.Second)))
		return c.NoContent(http.StatusAccepted)
	case socialrx.ExportFailed:
		return s.writeFHIR(c, http.StatusInternalServerError, fhir.OperationOutcome([]fhir.Issue{{
			Severity: socialrx.SeverityError, Code: "exception", Message: "export failed: " + job.Error,
		}}))
	}
	base := s.baseURL(c.Request())
	m := exportManifest{
		TransactionTime:     job.TransactionTime.UTC().Format(time.RFC3339Nano),
		Request:             job.Request,
		RequiresAccessToken: s.cfg.Auth != nil, // Bulk Data 2.0: false when the files need no token
		Output:              []exportManifestFile{},
		Error:               []exportManifestFile{},
	}
	for _, o := range job.Outputs {
		m.Output = append(m.Output, exportManifestFile{Type: o.Type, URL: base + "/$export-file/" + job.ID + "/" + url.PathEscape(o.File), Count: o.Count})
	}
	body, err := marshal(m)
	if err != nil {
		return err
	}
	h.Set("Expires", job.ExpiresAt.UTC().Format(http.TimeFormat))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
}

// exportProgress is the X-Progress of a running job: its state and how
// many resources are written of how many.
func exportProgress(job *socialrx.ExportJob) string {
	if job.Status == socialrx.ExportAccepted || job.Total == 0 {
		return job.Status
	}
	return fmt.Sprintf("%s: %d%% (%d of %d resources)", job.Status, job.Done*100/job.Total, job.Done, job.Total)
}

// handleExportDelete answers DELETE [base]/$export-status/[id]: the
// record goes at once (a running job stops at its next checkpoint), then
// the files.
func (s *Server) handleExportDelete(c echo.Context) error {
	job, err := s.ownExport(c)
	if err != nil {
		return err
	}
	if _, err := s.store.DeleteExport(c.Request().Context(), job.ID); err != nil {
		return err
	}
	if err := os.RemoveAll(export.JobDir(s.cfg.ExportDir, job.ID)); err != nil {
		s.log.WarnContext(c.Request().Context(), "export files not removed", "export", job.ID, "error", err.Error())
	}
	s.log.InfoContext(c.Request().Context(), "export deleted", "request_id", requestIDOf(c), "export", job.ID)
	return c.NoContent(http.StatusAccepted)
}

// handleExportFile answers GET [base]/$export-file/[id]/[file]: an output
// file of a completed export, as application/fhir+ndjson (Range requests
// work, so a broken download can resume).
func (s *Server) handleExportFile(c echo.Context) error {
	name := c.Param("file")
	noteOf(c).operation = "$export-file " + c.Param("id") + "/" + name
	job, err := s.ownExport(c)
	if err != nil {
		return err
	}
	notFound := issueError(socialrx.ENOTFOUND, "", "export %s has no file %s", job.ID, name)
	if job.Status != socialrx.ExportCompleted || !slices.ContainsFunc(job.Outputs, func(o socialrx.ExportOutput) bool { return o.File == name }) {
		return notFound
	}
	f, err := os.Open(filepath.Join(export.JobDir(s.cfg.ExportDir, job.ID), name))
	if err != nil {
		if os.IsNotExist(err) {
			return notFound
		}
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentType, ContentTypeNDJSON)
	http.ServeContent(&rangeErrorWriter{ResponseWriter: c.Response()}, c.Request(), "", st.ModTime(), f)
	return nil
}

// rangeErrorWriter turns http.ServeContent's plain-text answer to a Range
// it cannot serve (416, "invalid range") into an OperationOutcome, as
// every other error is; its Content-Range header stays.
type rangeErrorWriter struct {
	http.ResponseWriter
	refused, written bool
}

func (w *rangeErrorWriter) WriteHeader(code int) {
	if code == http.StatusRequestedRangeNotSatisfiable {
		w.refused = true
		w.Header().Set(echo.HeaderContentType, ContentTypeFHIR)
		w.Header().Del(echo.HeaderContentLength)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *rangeErrorWriter) Write(b []byte) (int, error) {
	if !w.refused {
		return w.ResponseWriter.Write(b)
	}
	if !w.written {
		w.written = true
		body := fhir.OperationOutcome([]fhir.Issue{{Severity: "error", Code: "invalid", Message: "the Range asked for is not in the file"}})
		if _, err := w.ResponseWriter.Write(body); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// addExportRoutes registers the status and file routes of $export. They
// are not FHIR interactions (not in the CapabilityStatement) and not
// content-negotiated: a client downloading NDJSON sends Accept:
// application/fhir+ndjson.
func (s *Server) addExportRoutes(e *echo.Echo) {
	// Authenticated like every FHIR route (the manifest says
	// requiresAccessToken when Config.Auth is set, false without
	// authentication); the handlers then serve the owner only.
	// File downloads are audited (operation $export-file); status polls
	// and cancels are not.
	auth := s.authorize(route{})
	e.GET("/fhir/$export-status/:id", s.handleExportStatus, wholeSegments, auth)
	e.DELETE("/fhir/$export-status/:id", s.handleExportDelete, wholeSegments, auth)
	e.GET("/fhir/$export-file/:id/:file", s.handleExportFile, wholeSegments, s.auditRoute("operation"), auth)
}
