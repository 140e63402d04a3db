package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/labstack/echo/v4"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/fhir"
)

// jsonPatchType is the media type of a JSON Patch (RFC 6902), the patch
// format R4 names for JSON (http.html#patch).
const jsonPatchType = "application/json-patch+json"

// maxPatchOps bounds the operations of one patch (as --max-bundle-entries
// bounds a Bundle's entries).
const maxPatchOps = 1000

// handlePatch answers PATCH /fhir/:type/:id with a JSON Patch: applied, in
// the write's transaction, to the current version, whose result is then
// an update like a PUT of it (R4 rules, the workflow, If-Match; the answer
// as for an update). The patch library (evanphx/json-patch) keeps the
// members it does not touch as they were, numbers' digits included. A
// patch that is not a JSON Patch is 400; one whose test fails, whose path
// is missing, or whose result changes the id or the type or breaks a rule
// is 422, and nothing is written. FHIRPath Patch (a Parameters body) is
// not supported (415).
func (s *Server) handlePatch(c echo.Context) error {
	typ, id := c.Param("type"), c.Param("id")
	if err := checkTypeID(typ, id); err != nil {
		return err
	}
	if err := checkWritable(typ); err != nil {
		return err
	}
	r := c.Request()
	if mt, _, _ := strings.Cut(r.Header.Get(echo.HeaderContentType), ";"); !strings.EqualFold(strings.TrimSpace(mt), jsonPatchType) {
		return errorf(socialrx.EUNSUPPORTED, "PATCH takes a JSON Patch: Content-Type %s (FHIRPath Patch is not supported)", jsonPatchType)
	}
	ifMatch, err := ifMatchOf(r)
	if err != nil {
		return err
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	patch, err := jsonpatch.DecodePatch(body)
	if err != nil || len(patch) == 0 {
		return errorf(socialrx.EINVALID, "the body is not a JSON Patch (RFC 6902): an array of operations")
	}
	if len(patch) > maxPatchOps {
		return errorf(socialrx.ETOOLARGE, "a patch may have at most %d operations", maxPatchOps)
	}
	ctx := r.Context()
	var res *socialrx.Resource
	var warnings []fhir.Issue
	err = s.wf.Transact(ctx, func(tx *workflow.Tx) error {
		var notices []fhir.Issue
		if res, warnings, notices, err = s.applyPatch(ctx, tx, typ, id, patch, ifMatch); err != nil {
			return err
		}
		warnings = append(warnings, notices...)
		return s.auditWrite(ctx, c, tx, "patch", typ, id, res)
	})
	if err != nil {
		return err
	}
	noteOf(c).written = true
	setVersionHeaders(c, res)
	c.Response().Header().Set(echo.HeaderLocation, versionURL(s.baseURL(r), res))
	return s.writeWrite(c, http.StatusOK, res, "updated", warnings)
}

// applyPatch applies patch to the current version of typ/id in tx and
// stores the result as an update of that version (R4 rules, the workflow,
// ifMatch when not 0). warnings are the result's R4 warnings, notices the
// workflow's about the write.
func (s *Server) applyPatch(ctx context.Context, tx socialrx.ResourceTx, typ, id string, patch jsonpatch.Patch, ifMatch int64) (res *socialrx.Resource, warnings, notices []fhir.Issue, err error) {
	cur, err := tx.Read(ctx, typ, id)
	if err != nil {
		return nil, nil, nil, err
	}
	if ifMatch != 0 && cur.VersionID != ifMatch {
		return nil, nil, nil, errorf(socialrx.EPRECONDITION, "If-Match: %s/%s is at version %d", typ, id, cur.VersionID)
	}
	// A copy operation can double the document each time (copy the root
	// into itself): the growth copies may cause, and the result, are
	// bounded by the body limit, as a PUT of it would be.
	opts := jsonpatch.NewApplyOptions()
	opts.AccumulatedCopySizeLimit = s.cfg.MaxBodyBytes
	patched, err := patch.ApplyWithOptions(cur.Body, opts)
	if err != nil {
		return nil, nil, nil, patchFailed(err)
	}
	if int64(len(patched)) > s.cfg.MaxBodyBytes {
		return nil, nil, nil, errorf(socialrx.ETOOLARGE, "the patched resource is over %d bytes, the request body limit", s.cfg.MaxBodyBytes)
	}
	d, issues := fhir.Decode(patched, typ)
	if fhir.HasErrors(issues) {
		// The patch was well-formed; what it made is not a valid
		// resource: 422 whatever the issue.
		if e, ok := workflow.ResourceError(issues).(*socialrx.Error); ok {
			e.Code, e.Message = socialrx.EUNPROCESSABLE, "the patched resource is not valid"
			return nil, nil, nil, e
		}
		return nil, nil, nil, errorf(socialrx.EUNPROCESSABLE, "the patched resource is not valid")
	}
	if d == nil {
		return nil, nil, nil, errorf(socialrx.EUNPROCESSABLE, "the patched resource is not a %s", typ)
	}
	if d.ID != id {
		return nil, nil, nil, issueError(socialrx.EUNPROCESSABLE, typ+".id", "a patch may not change or remove the id")
	}
	if res, _, err = tx.Update(ctx, typ, id, d.Body, cur.VersionID); err != nil {
		return nil, nil, nil, err
	}
	return res, warningsOf(issues), takeWarnings(tx), nil
}

// bundlePatch reads the patch of a Bundle entry: R4 carries a JSON Patch
// as a Binary resource (contentType application/json-patch+json, the
// patch in data, base64). FHIRPath Patch (a Parameters resource) is not
// supported.
func bundlePatch(resource []byte) (jsonpatch.Patch, error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		ContentType  string `json:"contentType"`
		Data         []byte `json:"data"` // base64 in JSON
	}
	if len(resource) == 0 || string(resource) == "null" {
		return nil, errorf(socialrx.EINVALID, "a PATCH entry needs its patch as entry.resource: a Binary with contentType %s", jsonPatchType)
	}
	if err := json.Unmarshal(resource, &b); err != nil {
		return nil, errorf(socialrx.EINVALID, "a PATCH entry's resource must be a Binary with contentType %s and the patch in data (base64)", jsonPatchType)
	}
	switch {
	case b.ResourceType == "Parameters":
		return nil, errorf(socialrx.EUNSUPPORTED, "FHIRPath Patch is not supported: give a JSON Patch as a Binary with contentType %s", jsonPatchType)
	case b.ResourceType != "Binary":
		return nil, errorf(socialrx.EINVALID, "a PATCH entry's resource must be a Binary, not %q", b.ResourceType)
	}
	if mt, _, _ := strings.Cut(b.ContentType, ";"); !strings.EqualFold(strings.TrimSpace(mt), jsonPatchType) {
		return nil, errorf(socialrx.EUNSUPPORTED, "a PATCH entry's Binary must have contentType %s (FHIRPath Patch is not supported)", jsonPatchType)
	}
	patch, err := jsonpatch.DecodePatch(b.Data)
	if err != nil || len(patch) == 0 {
		return nil, errorf(socialrx.EINVALID, "the Binary's data is not a JSON Patch (RFC 6902): an array of operations, base64")
	}
	if len(patch) > maxPatchOps {
		return nil, errorf(socialrx.ETOOLARGE, "a patch may have at most %d operations", maxPatchOps)
	}
	return patch, nil
}

// patchFailed is the 422 of a patch that cannot be applied (a test that
// does not hold, a path that does not exist), or the 413 of one whose
// copies grow the resource past the body limit.
func patchFailed(err error) error {
	var tooBig *jsonpatch.AccumulatedCopySizeError
	switch {
	case errors.As(err, &tooBig):
		return errorf(socialrx.ETOOLARGE, "the patch's copy operations grow the resource past the request body limit")
	case errors.Is(err, jsonpatch.ErrTestFailed):
		return errorf(socialrx.EUNPROCESSABLE, "the patch's test operation failed: the resource is not as the patch expects")
	case errors.Is(err, jsonpatch.ErrMissing):
		return errorf(socialrx.EUNPROCESSABLE, "the patch names a path the resource does not have")
	}
	return errorf(socialrx.EUNPROCESSABLE, "the patch cannot be applied to the resource")
}
