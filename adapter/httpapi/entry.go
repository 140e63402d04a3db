package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/workflow"
	"github.com/socialrx/socialrx/fhir"
)

// opKind is what one Bundle entry asks for.
type opKind int

const (
	opRead opKind = iota + 1
	opVRead
	opSearch
	opCreate
	opUpdate
	opDelete
	opPatch
)

func (k opKind) isRead() bool { return k == opRead || k == opVRead || k == opSearch }

// op is one transaction or batch entry: what parseOp found in the entry,
// then what the store transaction resolved and did (reset on a retry).
type op struct {
	index    int
	path     string // "Bundle.entry[i]"
	fullURL  string
	kind     opKind
	typ, id  string
	vid      int64
	cond     url.Values // ifNoneExist, conditional update or search parameters
	ifMatch  int64
	none     noneMatch // request.ifNoneMatch of an update
	body     []byte    // the decoded resource (create, update)
	bodyID   string
	warnings []fhir.Issue
	// notices are the workflow's warnings about the write (a prescription
	// to an inactive, stale or full program): in response.outcome whatever
	// the Prefer header says, since the client has no other way to see them.
	notices []fhir.Issue
	view    subset          // _summary/_elements of a search entry
	patch   jsonpatch.Patch // a PATCH entry's JSON Patch
	// sites are the references of body (fhir.References), found once
	// outside the store transaction (references); sitesErr its error.
	sites    []fhir.RefSite
	sitesErr error
	sitesSet bool

	// Set inside the store transaction.
	target    string             // id written (assigned, matched or from the URL)
	existing  *socialrx.Resource // ifNoneExist matched this resource
	rewritten []byte             // body with references resolved
	res       *socialrx.Resource
	code      int    // HTTP status of the entry
	result    []byte // searchset Bundle of a search entry
	// matched is the answer of the ifNoneExist search, when the
	// transaction's conditions were searched together (matchCreates).
	matched *matchAnswer
}

// reset clears what a previous attempt of the store transaction set.
func (o *op) reset() {
	o.target, o.existing, o.rewritten, o.res, o.code, o.result, o.matched = "", nil, nil, nil, 0, nil, nil
}

// fail returns err located at this entry: issues without a path get the
// entry's path; element paths of the entry's resource type are placed under
// the entry's resource; other paths outside the Bundle (a search parameter
// name) get the entry's path and keep theirs in the message.
func (o *op) fail(err error) error {
	if err == nil {
		return nil
	}
	var e *socialrx.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%s: %w", o.path, err)
	}
	out := &socialrx.Error{Code: e.Code, Message: fmt.Sprintf("entry %d: %s", o.index, e.Message)}
	for _, i := range e.Issues {
		switch {
		case i.Path == "":
			i.Path = o.path
		case i.Path == o.path || strings.HasPrefix(i.Path, o.path+"."):
			// Already this entry's (Bundle.entry[1].request.url), also
			// when the entry's resource is itself a Bundle.
		case o.typ != "" && (i.Path == o.typ || strings.HasPrefix(i.Path, o.typ+".")):
			// An element path in this entry's resource, e.g. from the
			// store's ingest: ServiceRequest.subject ->
			// Bundle.entry[5].resource.subject.
			i.Path = o.path + ".resource" + strings.TrimPrefix(i.Path, o.typ)
		case !strings.HasPrefix(i.Path, "Bundle"):
			i.Message = i.Path + ": " + i.Message
			i.Path = o.path
		}
		out.Issues = append(out.Issues, i)
	}
	if len(out.Issues) == 0 {
		out.Issues = []socialrx.Issue{{Severity: socialrx.SeverityError, Code: issueCode(e.Code), Path: o.path, Message: e.Message}}
	}
	var fe *forbiddenErr
	if errors.As(err, &fe) {
		// Still a scope's 403: its challenge names the scope.
		return &forbiddenErr{se: out, scope: fe.scope}
	}
	return out
}

// parseOp checks one entry without touching the store: method, URL,
// conditional headers and the resource (decoded with paths under the entry).
func (s *Server) parseOp(base string, i int, e fhir.Entry) (*op, error) {
	o := &op{index: i, path: e.Path, fullURL: e.FullURL}
	if o.path == "" {
		o.path = fmt.Sprintf("Bundle.entry[%d]", i)
	}
	if e.Request == nil {
		return nil, o.fail(issueError(socialrx.EINVALID, o.path+".request", "entry.request is required"))
	}
	urlPath := o.path + ".request.url"
	raw := strings.TrimSpace(e.Request.URL)
	raw = strings.TrimPrefix(raw, base+"/")
	raw = relativeEntryURL(raw)
	raw = strings.TrimPrefix(raw, "/")
	if raw == "" {
		if strings.TrimSpace(e.Request.URL) != "" {
			// The base itself: a Bundle posted to the base is not an
			// entry's interaction.
			return nil, o.fail(issueError(socialrx.EINVALID, urlPath, "entry.request.url names the base; an entry's url starts with a resource type (a Bundle inside a Bundle is not run)"))
		}
		return nil, o.fail(issueError(socialrx.EINVALID, urlPath, "entry.request.url is required"))
	}
	p, query, hasQuery := strings.Cut(raw, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, o.fail(issueError(socialrx.EINVALID, urlPath, "malformed query in entry.request.url"))
	}
	segs := strings.Split(p, "/")
	o.typ = segs[0]
	at := func(err error, path string) error {
		if err == nil {
			return nil
		}
		return o.fail(atIssuePath(err, path))
	}
	if o.typ == "metadata" || strings.HasPrefix(o.typ, "$") || strings.HasPrefix(o.typ, "_") {
		return nil, at(errorf(socialrx.ENOTALLOWED, "system-level interactions are not supported in a bundle entry"), urlPath)
	}
	if err := checkType(o.typ); err != nil {
		return nil, at(err, urlPath)
	}
	withID := func(kind opKind) error {
		o.kind, o.id = kind, segs[1]
		if !fhir.ValidID(o.id) {
			return at(errorf(socialrx.EINVALID, "invalid resource id"), urlPath)
		}
		return nil
	}
	ifMatch := func() error {
		if e.Request.IfMatch == "" {
			return nil
		}
		o.ifMatch, err = parseVersionTag("ifMatch", e.Request.IfMatch)
		return at(err, o.path+".request.ifMatch")
	}

	method := strings.ToUpper(strings.TrimSpace(e.Request.Method))
	switch {
	case method == http.MethodPost && len(segs) == 1 && !hasQuery:
		o.kind = opCreate
		if e.Request.IfNoneExist != "" {
			o.cond, err = conditionalParams(e.Request.IfNoneExist, o.typ, "ifNoneExist")
			if err != nil {
				return nil, at(err, o.path+".request.ifNoneExist")
			}
		}
	case method == http.MethodPut && len(segs) == 2 && !hasQuery:
		if err := withID(opUpdate); err != nil {
			return nil, err
		}
	case method == http.MethodPut && len(segs) == 1 && hasQuery:
		o.kind = opUpdate
		if o.cond = searchParamsOnly(q); len(o.cond) == 0 {
			return nil, at(errorf(socialrx.EINVALID, "conditional update needs search parameters"), urlPath)
		}
	case method == http.MethodDelete && len(segs) == 2 && !hasQuery:
		if err := withID(opDelete); err != nil {
			return nil, err
		}
	case method == http.MethodDelete && len(segs) == 1:
		o.kind = opDelete
		if o.cond = searchParamsOnly(q); len(o.cond) == 0 {
			return nil, at(errorf(socialrx.EINVALID, "conditional delete needs search parameters"), urlPath)
		}
	case (method == http.MethodGet || method == http.MethodHead) && len(segs) == 1:
		o.kind, o.cond = opSearch, q
		if o.view, err = subsetOf(q, true); err != nil {
			return nil, at(err, urlPath)
		}
	case (method == http.MethodGet || method == http.MethodHead) && len(segs) == 2 && segs[1] != "_history":
		if err := withID(opRead); err != nil {
			return nil, err
		}
	case (method == http.MethodGet || method == http.MethodHead) && len(segs) == 4 && segs[2] == "_history":
		if err := withID(opVRead); err != nil {
			return nil, err
		}
		if o.vid, err = strconv.ParseInt(segs[3], 10, 64); err != nil || o.vid < 1 {
			return nil, at(errorf(socialrx.EINVALID, "version id must be a positive integer"), urlPath)
		}
	case method == http.MethodPatch && len(segs) == 2 && !hasQuery:
		if err := withID(opPatch); err != nil {
			return nil, err
		}
		if o.patch, err = bundlePatch(e.Resource); err != nil {
			return nil, at(err, o.path+".resource")
		}
	case method == http.MethodPatch:
		return nil, at(errorf(socialrx.EINVALID, "entry.request.url does not fit PATCH: a patch names one resource, Type/id"), urlPath)
	case method == http.MethodPost || method == http.MethodPut || method == http.MethodDelete || method == http.MethodGet || method == http.MethodHead:
		return nil, at(errorf(socialrx.EINVALID, "entry.request.url does not fit %s", method), urlPath)
	default:
		return nil, at(errorf(socialrx.EINVALID, "unknown entry.request.method"), o.path+".request.method")
	}
	if err := ifMatch(); err != nil {
		return nil, err
	}
	if o.kind == opUpdate {
		if o.none, err = parseNoneMatch("ifNoneMatch", e.Request.IfNoneMatch); err != nil {
			return nil, at(err, o.path+".request.ifNoneMatch")
		}
	}
	if o.kind == opCreate || o.kind == opUpdate || o.kind == opDelete || o.kind == opPatch {
		if err := checkWritable(o.typ); err != nil {
			return nil, at(err, urlPath)
		}
	}
	if o.kind != opCreate && o.kind != opUpdate {
		return o, nil
	}

	if len(e.Resource) == 0 || string(e.Resource) == "null" {
		return nil, at(errorf(socialrx.EINVALID, "entry.resource is required for %s", method), o.path+".resource")
	}
	d, issues := fhir.DecodeAt(e.Resource, o.typ, o.path+".resource")
	if fhir.HasErrors(issues) {
		return nil, o.fail(workflow.ResourceError(issues))
	}
	if d == nil {
		return nil, at(errorf(socialrx.EINVALID, "invalid resource"), o.path+".resource")
	}
	o.body, o.bodyID, o.warnings = d.Body, d.ID, warningsOf(issues)
	if o.cond == nil && o.kind == opUpdate && o.bodyID != o.id {
		return nil, at(errorf(socialrx.EINVALID, "resource id must be present and equal the id in entry.request.url"), o.path+".resource.id")
	}
	return o, nil
}

// resolveTarget picks the id a write entry acts on: a new id for a create
// (or the one resource its ifNoneExist matches), the match of a conditional
// update, or the id in the URL.
func (s *Server) resolveTarget(ctx context.Context, tx socialrx.ResourceTx, o *op) error {
	switch o.kind {
	case opCreate:
		if a := o.matched; a != nil {
			if a.err != nil {
				return atIssuePath(a.err, o.path+".request.ifNoneExist")
			}
			if a.m != nil {
				o.existing, o.target = a.m, a.m.ID
				return nil
			}
		} else if o.cond != nil {
			m, err := s.matchOne(ctx, tx, o.typ, o.cond, "ifNoneExist")
			if err != nil {
				return atIssuePath(err, o.path+".request.ifNoneExist")
			}
			if m != nil {
				o.existing, o.target = m, m.ID
				return nil
			}
		}
		o.target = newResourceID()
	case opUpdate:
		if o.cond == nil {
			o.target = o.id
			return nil
		}
		id, err := s.conditionalTarget(ctx, tx, o.typ, o.cond, o.bodyID, o.path+".resource.id")
		if err != nil {
			return atIssuePath(err, o.path+".request.url")
		}
		o.target = id
	case opPatch:
		o.target = o.id
	case opDelete:
		if o.cond == nil {
			o.target = o.id
			return nil
		}
		// Conditional delete: the one match, or nothing to delete (R4:
		// an ordinary delete of what matched); several are 412.
		m, err := s.matchOne(ctx, tx, o.typ, o.cond, "conditional delete")
		if err != nil {
			return atIssuePath(err, o.path+".request.url")
		}
		if m != nil {
			o.target = m.ID
		}
	}
	return nil
}

// duplicateFullURLs refuses a transaction or batch in which two entries
// share a fullUrl (R4 bdl-7: a fullUrl is unique in every Bundle but a
// history, or else the entries' meta.versionId differ): every later entry
// is named, with the first that has the fullUrl. A batch is refused as
// bdl-7 says, so entries that share a fullUrl with different versionIds
// pass; a transaction is refused on the fullUrl alone, since its fullUrls
// are what its references resolve to (two entries, one urn:uuid).
func duplicateFullURLs(typ string, entries []fhir.Entry) error {
	earlier := map[string][]int{} // fullUrl -> the entries that had it
	versions := map[int]string{}  // meta.versionId, read only for entries whose fullUrl repeats
	version := func(i int) string {
		v, ok := versions[i]
		if !ok {
			v = versionIDOf(entries[i].Resource)
			versions[i] = v
		}
		return v
	}
	var issues []socialrx.Issue
	for i, e := range entries {
		if e.FullURL == "" {
			continue
		}
		prev := earlier[e.FullURL]
		earlier[e.FullURL] = append(prev, i)
		j := -1
		for _, k := range prev {
			if typ == "transaction" || version(k) == version(i) {
				j = k
				break
			}
		}
		if j < 0 {
			continue
		}
		issues = append(issues, socialrx.Issue{Severity: socialrx.SeverityError, Code: "invalid",
			Path: fmt.Sprintf("Bundle.entry[%d].fullUrl", i), Message: fmt.Sprintf("fullUrl is also that of Bundle.entry[%d]", j)})
	}
	if issues == nil {
		return nil
	}
	return &socialrx.Error{Code: socialrx.EINVALID, Message: "duplicate fullUrl in a " + typ, Issues: issues}
}

// versionIDOf is the meta.versionId of a resource as written, "" when it
// has none or cannot be read (the entry then fails on its own).
func versionIDOf(resource []byte) string {
	var r struct {
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
	}
	if len(resource) == 0 || json.Unmarshal(resource, &r) != nil {
		return ""
	}
	return r.Meta.VersionID
}

// atIssuePath gives err's pathless issues (or a first issue) the path.
func atIssuePath(err error, path string) error {
	var e *socialrx.Error
	if !errors.As(err, &e) {
		return err
	}
	out := &socialrx.Error{Code: e.Code, Message: e.Message}
	for _, i := range e.Issues {
		if i.Path == "" || !strings.HasPrefix(i.Path, "Bundle") {
			if i.Path != "" {
				i.Message = i.Path + ": " + i.Message
			}
			i.Path = path
		}
		out.Issues = append(out.Issues, i)
	}
	if len(out.Issues) == 0 {
		out.Issues = []socialrx.Issue{{Severity: socialrx.SeverityError, Code: issueCode(e.Code), Path: path, Message: e.Message}}
	}
	return out
}

// rewriteReferences resolves the references of a write entry: a fullUrl of
// another entry (urn:uuid:, urn:oid: or absolute) becomes Type/id; a
// conditional reference (Type?params) becomes the one resource it matches
// (none: 400, several: 412); a urn: naming no entry is a 400. fullURLs is nil
// in a batch, where entries cannot refer to one another.
func (s *Server) rewriteReferences(ctx context.Context, tx socialrx.ResourceTx, o *op, fullURLs map[string]string) error {
	if o.kind != opCreate && o.kind != opUpdate || o.existing != nil {
		return nil
	}
	o.rewritten = o.body
	sites, err := o.references()
	if err != nil {
		return err
	}
	repl := map[string]string{}
	for _, site := range sites {
		ref := site.Reference
		if _, done := repl[ref]; done {
			continue
		}
		if to, ok := fullURLs[ref]; ok {
			repl[ref] = to
			continue
		}
		path := o.path + ".resource"
		if rest, ok := strings.CutPrefix(site.Path, o.typ); ok {
			path += rest
		}
		pr, err := fhir.ParseReference(ref)
		if err != nil {
			continue // Decode checked the syntax; leave what it allowed
		}
		switch pr.Kind {
		case fhir.RefURN:
			return issueError(socialrx.EINVALID, path, "reference %s names no entry of this bundle", ref)
		case fhir.RefConditional:
			to, err := s.resolveConditional(ctx, tx, pr)
			if err != nil {
				return atIssuePath(err, path)
			}
			repl[ref] = to
		}
	}
	if len(repl) == 0 {
		return nil
	}
	o.rewritten, err = fhir.RewriteReferences(o.body, func(ref string) (string, bool) {
		to, ok := repl[ref]
		return to, ok
	})
	if err != nil {
		return fmt.Errorf("rewrite references: %w", err)
	}
	return nil
}

// references returns the references of the entry's body, found once.
func (o *op) references() ([]fhir.RefSite, error) {
	if !o.sitesSet {
		o.sites, o.sitesErr = fhir.References(o.body)
		if o.sitesErr != nil {
			o.sitesErr = fmt.Errorf("references: %w", o.sitesErr)
		}
		o.sitesSet = true
	}
	return o.sites, o.sitesErr
}

// prefetchRefs returns the relative literal references (Type/id) of the
// transaction's write entries: resources the Bundle names but does not
// carry, which the workflow may read while ingesting it (the program's
// Endpoint of a warm hand-off). The store transaction reads them ahead,
// with its first statement (socialrx.PrefetchTx).
func prefetchRefs(ops []*op) []string {
	var out []string
	for _, o := range ops {
		if o.kind != opCreate && o.kind != opUpdate {
			continue
		}
		sites, err := o.references()
		if err != nil {
			continue // rewriteReferences reports it
		}
		for _, site := range sites {
			if pr, err := fhir.ParseReference(site.Reference); err == nil && pr.Kind == fhir.RefRelative && pr.Version == "" {
				out = append(out, pr.Type+"/"+pr.ID)
			}
		}
	}
	return out
}

// resolveConditional resolves Type?params to Type/id of its one match.
func (s *Server) resolveConditional(ctx context.Context, tx socialrx.ResourceTx, pr fhir.Reference) (string, error) {
	if err := checkType(pr.Type); err != nil {
		return "", err
	}
	q, err := url.ParseQuery(pr.Query)
	if err != nil || len(searchParamsOnly(q)) == 0 {
		return "", errorf(socialrx.EINVALID, "conditional reference is not a valid search")
	}
	if err := permitSearch(ctx, pr.Type, searchParamsOnly(q)); err != nil {
		return "", err
	}
	m, err := s.matchOne(ctx, tx, pr.Type, searchParamsOnly(q), "conditional reference")
	if err != nil {
		return "", err
	}
	if m == nil {
		return "", errorf(socialrx.EINVALID, "conditional reference matched no resource")
	}
	return pr.Type + "/" + m.ID, nil
}

// reader is what a read entry needs: a Tx, or the Store itself.
type reader interface {
	Read(ctx context.Context, typ, id string) (*socialrx.Resource, error)
	Search(ctx context.Context, req socialrx.SearchRequest) (*socialrx.SearchResult, error)
}

// execute performs the entry in tx.
func (s *Server) execute(ctx context.Context, tx socialrx.ResourceTx, base string, o *op) error {
	var err error
	switch o.kind {
	case opCreate:
		if o.existing != nil {
			o.res, o.code = o.existing, http.StatusOK
			return nil
		}
		o.res, err = tx.CreateNew(ctx, o.typ, o.target, o.rewritten) // o.target was minted (prepare)
		o.code = http.StatusCreated
		o.notices = takeWarnings(tx) // assigned: a retried transaction runs this again
	case opUpdate:
		if err := o.none.check(ctx, tx, o.typ, o.target); err != nil {
			return err
		}
		var created bool
		o.res, created, err = tx.Update(ctx, o.typ, o.target, o.rewritten, o.ifMatch)
		o.code = http.StatusOK
		if created {
			o.code = http.StatusCreated
		}
		o.notices = takeWarnings(tx) // assigned: a retried transaction runs this again
	case opPatch:
		o.res, o.warnings, o.notices, err = s.applyPatch(ctx, tx, o.typ, o.target, o.patch, o.ifMatch)
		o.code = http.StatusOK
	case opDelete:
		o.res, err = nil, nil
		if o.target != "" { // "": a conditional delete that matched nothing
			o.res, err = tx.Delete(ctx, o.typ, o.target, o.ifMatch)
		}
		o.code = http.StatusOK
		if o.res == nil {
			o.code = http.StatusNoContent
		}
	default:
		return s.read(ctx, tx, base, o)
	}
	return err
}

// read performs a read, vread or search entry with rd: the Store (batch)
// or a Tx (transaction). A vread inside a store transaction can serve only
// the current version (Tx has no VRead).
func (s *Server) read(ctx context.Context, rd reader, base string, o *op) error {
	var err error
	o.code = http.StatusOK
	switch o.kind {
	case opRead:
		o.res, err = rd.Read(ctx, o.typ, o.id)
	case opVRead:
		if st, ok := rd.(socialrx.Store); ok {
			o.res, err = st.VRead(ctx, o.typ, o.id, o.vid)
			break
		}
		o.res, err = rd.Read(ctx, o.typ, o.id)
		if err == nil && o.res.VersionID != o.vid {
			o.res = nil
			err = errorf(socialrx.ENOTALLOWED, "only the current version can be read in a transaction; use a batch or GET")
		}
	case opSearch:
		params := url.Values{}
		for k, v := range o.cond {
			if k != "_format" && k != "_pretty" {
				params[k] = v
			}
		}
		sr, err := rd.Search(ctx, socialrx.SearchRequest{Type: o.typ, Params: params})
		if err != nil {
			return err
		}
		visible(ctx, sr)
		b, err := s.searchBundle(base, o.typ, params, sr, o.view)
		if err != nil {
			return err
		}
		o.result, err = marshal(b)
		return err
	}
	return err
}

// responseEntry is the transaction-response or batch-response entry of a
// successful entry. Writes carry the resource when ret is representation;
// reads always do.
func (o *op) responseEntry(base, ret string) bundleEntry {
	e := bundleEntry{Response: &entryResponse{Status: status(o.code)}}
	if o.res != nil {
		e.FullURL = resourceURL(base, o.res.Type, o.res.ID)
		e.Response.Etag = etag(o.res.VersionID)
		if !o.res.LastUpdated.IsZero() {
			e.Response.LastModified = o.res.LastUpdated.UTC().Format(fhir.InstantFormat)
		}
		if o.kind == opCreate || o.kind == opUpdate {
			e.Response.Location = versionURL(base, o.res)
		}
		if o.kind.isRead() || ret == returnRepresentation {
			e.Resource = o.res.Body
		}
	}
	if o.kind == opSearch {
		e.Resource = o.result
	}
	switch {
	case ret == returnOperationOutcome && len(o.warnings)+len(o.notices) > 0:
		e.Response.Outcome = fhir.OperationOutcome(append(append([]fhir.Issue(nil), o.warnings...), o.notices...))
	case len(o.notices) > 0:
		e.Response.Outcome = fhir.OperationOutcome(o.notices)
	}
	return e
}

// relativeEntryURL turns an absolute entry.request.url that names another
// base (e.g. "http://hl7.org/fhir/us/sdc/Questionnaire/54127-6", as in the
// R4 example Bundle ussg-fht) into its part relative to that base,
// "Questionnaire/54127-6": the path from the first segment that is an R4
// resource type. FHIR allows absolute request URLs; a server stores what it
// is sent under its own base. Anything else is returned unchanged, and is
// refused later with the entry's path.
func relativeEntryURL(raw string) string {
	if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i, seg := range segs {
		if !fhir.Known(seg) {
			continue
		}
		rel := strings.Join(segs[i:], "/")
		if u.RawQuery != "" {
			rel += "?" + u.RawQuery
		}
		return rel
	}
	return raw
}
