// Package hsds reads Open Referral HSDS 3.0 datasets into a
// mapping.HSDSDirectory: JSON files of single objects or arrays, API list
// pages ({"contents": [...]}, *_list.json, followed page by page over
// HTTP), NDJSON, and the tabular package (datapackage.json and its CSVs),
// from a file, a directory or an http(s) URL. It only reads: what the
// objects become in FHIR is mapping's (mapping/hsds_in.go), and writing them
// is the caller's.
//
// A record that cannot be read (bad JSON on one NDJSON line, a CSV row of
// the wrong width, an object of unknown kind) is recorded as rejected in the
// directory and the rest is read; only an unreadable source (missing file,
// HTTP error, a datapackage.json that is not JSON) fails the read.
package hsds

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/socialrx/socialrx/mapping"
)

// MaxDownloadBytes bounds one HTTP response (a page of a list).
const MaxDownloadBytes = 256 << 20

// MaxPages bounds the list pages one import follows (a server that never
// says it is on its last page would otherwise be read for ever). 10,000
// pages of the usual 50 to 1,000 records is more than a province's
// directory.
const MaxPages = 10000

// maxPages is MaxPages, lowered by tests.
var maxPages = MaxPages

// Read reads the dataset at src (a file, a directory or an http(s) URL) into
// d. client is used for URLs (nil: a client with a 60 s timeout).
func Read(ctx context.Context, src string, d *mapping.HSDSDirectory, client *http.Client) error {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		return readURL(ctx, src, d, client)
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		if filepath.Base(src) == "datapackage.json" {
			return readTabular(src, d)
		}
		return readFile(src, d)
	}
	if _, err := os.Stat(filepath.Join(src, "datapackage.json")); err == nil {
		return readTabular(filepath.Join(src, "datapackage.json"), d)
	}
	var files []string
	err = filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".ndjson")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		if err := readFile(f, d); err != nil {
			return err
		}
	}
	return nil
}

func readFile(path string, d *mapping.HSDSDirectory) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return readStream(f, filepath.Base(path), kindFromName(filepath.Base(path)), d)
}

// readStream reads JSON (an object, an array, a list page) or NDJSON.
func readStream(r io.Reader, name, kind string, d *mapping.HSDSDirectory) error {
	br := bufio.NewReaderSize(r, 1<<20)
	if strings.HasSuffix(name, ".ndjson") {
		return readNDJSON(br, name, kind, d)
	}
	body, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	_, err = readJSON(body, name, kind, d)
	return err
}

func readNDJSON(br *bufio.Reader, name, kind string, d *mapping.HSDSDirectory) error {
	line := 0
	for {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			line++
			addObject(json.RawMessage(bytes.TrimSpace(b)), name+":"+strconv.Itoa(line), kind, d)
		} else if len(b) > 0 {
			line++
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// page is an HSDS API list page.
type page struct {
	Contents   []json.RawMessage `json:"contents"`
	TotalPages int               `json:"total_pages"`
	PageNumber int               `json:"page_number"`
	LastPage   *bool             `json:"last_page"`
}

// readJSON reads one JSON document; more reports a list page that is not
// the last.
func readJSON(body []byte, name, kind string, d *mapping.HSDSDirectory) (more bool, err error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return false, nil
	}
	switch body[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			d.Reject(name, kindOr(kind), "", "not a JSON array of objects: "+jsonErr(err))
			return false, nil
		}
		for i, it := range items {
			addObject(it, name+"#"+strconv.Itoa(i+1), kind, d)
		}
		return false, nil
	case '{':
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(body, &probe); err != nil {
			d.Reject(name, kindOr(kind), "", "not JSON: "+jsonErr(err))
			return false, nil
		}
		if _, ok := probe["contents"]; ok {
			var p page
			if err := json.Unmarshal(body, &p); err != nil {
				d.Reject(name, kindOr(kind), "", "not an HSDS list page: "+jsonErr(err))
				return false, nil
			}
			for i, it := range p.Contents {
				addObject(it, name+"#"+strconv.Itoa(i+1), kind, d)
			}
			more = (p.LastPage != nil && !*p.LastPage) || (p.LastPage == nil && p.PageNumber > 0 && p.PageNumber < p.TotalPages)
			return more && len(p.Contents) > 0, nil
		}
		addObject(body, name, kind, d)
		return false, nil
	}
	d.Reject(name, kindOr(kind), "", "not JSON (an object, an array or a list page)")
	return false, nil
}

func kindOr(k string) string {
	if k == "" {
		return "record"
	}
	return k
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + te.Field + " has the wrong JSON type"
	}
	return "cannot be read"
}

// kindFromName guesses the object kind from a file name
// (organizations.json, service_list.json, services.ndjson...): "" when it
// does not say.
func kindFromName(name string) string {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(name, ".ndjson"), ".json"))
	switch {
	case strings.HasPrefix(n, "service_at_location"):
		return "service_at_location"
	case strings.HasPrefix(n, "organization"):
		return "organization"
	case strings.HasPrefix(n, "service"):
		return "service"
	case strings.HasPrefix(n, "location"):
		return "location"
	}
	return ""
}

// sniff tells the kind of an object by its fields when its file name does
// not.
func sniff(o map[string]json.RawMessage) string {
	has := func(k string) bool { _, ok := o[k]; return ok }
	switch {
	case has("service") && has("location"), has("service_id") && has("location_id"):
		return "service_at_location"
	case has("latitude"), has("longitude"), has("location_type"), has("addresses"):
		return "location"
	case has("organization_id"), has("organization"), has("service_at_locations"), has("eligibility_description"), has("fees_description"):
		return "service"
	case has("website"), has("tax_status"), has("organization_identifiers"), has("services"), has("legal_status"):
		return "organization"
	}
	return ""
}

func addObject(raw json.RawMessage, src, kind string, d *mapping.HSDSDirectory) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		d.Reject(src, kindOr(kind), "", "not a JSON object: "+jsonErr(err))
		return
	}
	if kind == "" {
		kind = sniff(probe)
	}
	var id string
	_ = json.Unmarshal(probe["id"], &id)
	fail := func(err error) { d.Reject(src, kind, id, "cannot be read: "+jsonErr(err)) }
	switch kind {
	case "organization":
		if v, ok := decodeRecord[mapping.HSDSOrganization](raw, fail); ok {
			d.AddOrganization(src, v)
		}
	case "service":
		if v, ok := decodeRecord[mapping.HSDSService](raw, fail); ok {
			d.AddService(src, v)
		}
	case "location":
		if v, ok := decodeRecord[mapping.HSDSLocation](raw, fail); ok {
			d.AddLocation(src, v)
		}
	case "service_at_location":
		v, ok := decodeRecord[mapping.HSDSServiceAtLocation](raw, fail)
		if !ok {
			return
		}
		if v.ServiceID == "" {
			// The compiled service_at_location nests its service.
			var nested struct {
				Service *mapping.HSDSService `json:"service"`
			}
			if json.Unmarshal(raw, &nested) == nil && nested.Service != nil {
				v.ServiceID = nested.Service.ID
				d.AddService(src, *nested.Service)
			}
		}
		d.AddServiceAtLocation(src, v)
	default:
		d.Reject(src, "record", id, "not an HSDS organization, service, location or service_at_location")
	}
}

// decodeRecord decodes one HSDS record as T; on an error it calls fail
// (which rejects the record) and reports false.
func decodeRecord[T any](raw []byte, fail func(error)) (T, bool) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		fail(err)
		return v, false
	}
	return v, true
}

// readURL reads a JSON document, an NDJSON stream or list pages from an
// http(s) URL; list pages are followed with ?page=N+1 while the page says
// it is not the last.
func readURL(ctx context.Context, src string, d *mapping.HSDSDirectory, client *http.Client) error {
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	u, err := url.Parse(src)
	if err != nil {
		// A *url.Error quotes the whole URL, credentials included.
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("not a valid URL: %w", ue.Err)
		}
		return errors.New("not a valid URL")
	}
	kind := kindFromName(filepath.Base(u.Path))
	if kind == "" {
		kind = kindFromName(strings.TrimSuffix(filepath.Base(u.Path), "s"))
	}
	for pageNo := 1; ; pageNo++ {
		if pageNo > maxPages {
			return fmt.Errorf("GET %s: more than %d pages; import the directory in parts (a URL with filters, or a downloaded file)", redact(u), maxPages)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json, application/x-ndjson")
		resp, err := client.Do(req)
		if err != nil {
			// A *url.Error quotes the whole URL, credentials included.
			var ue *url.Error
			if errors.As(err, &ue) {
				return fmt.Errorf("GET %s: %w", redact(u), ue.Err)
			}
			return err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDownloadBytes+1))
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %d", redact(u), resp.StatusCode)
		}
		if len(body) > MaxDownloadBytes {
			return fmt.Errorf("GET %s: response larger than %d bytes", redact(u), MaxDownloadBytes)
		}
		name := redact(u)
		if strings.HasSuffix(u.Path, ".ndjson") || strings.Contains(resp.Header.Get("Content-Type"), "ndjson") {
			return readNDJSON(bufio.NewReader(bytes.NewReader(body)), name+".ndjson", kind, d)
		}
		more, err := readJSON(body, name, kind, d)
		if err != nil || !more {
			return err
		}
		q := u.Query()
		q.Set("page", strconv.Itoa(pageNo+1))
		u.RawQuery = q.Encode()
	}
}

// RedactSource is src as messages may show it: a file or directory as
// given; an http(s) URL without its user info (user:password@) and its
// query's values (an API key), as the reject report names it; a URL that
// cannot be parsed as "an http(s) URL", never echoed.
func RedactSource(src string) string {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return src
	}
	u, err := url.Parse(src)
	if err != nil {
		return "an http(s) URL"
	}
	return redact(u)
}

// redact is u without its query's values and user info, for reports.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	if p := c.Query().Get("page"); p != "" {
		c.RawQuery = "page=" + p
	} else {
		c.RawQuery = ""
	}
	return c.String()
}

// datapackage is the part of a Frictionless data package socialrx reads.
type datapackage struct {
	Resources []struct {
		Name string `json:"name"`
		Path string `json:"path"`
	} `json:"resources"`
}

// tabularOrder is the order the tabular files are read in: parents first
// (not needed by the directory, which attaches children at the end, but it
// makes the report read top-down).
var tabularOrder = []string{"organization", "location", "service", "service_at_location", "address", "phone",
	"schedule", "language", "taxonomy_term", "attribute", "unit", "service_capacity"}

func readTabular(path string, d *mapping.HSDSDirectory) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var dp datapackage
	if err := json.Unmarshal(b, &dp); err != nil {
		return fmt.Errorf("%s: not a data package: %s", filepath.Base(path), jsonErr(err))
	}
	files := map[string]string{}
	for _, r := range dp.Resources {
		p := r.Path
		if p == "" || filepath.IsAbs(p) || strings.Contains(p, "..") || strings.Contains(p, "://") {
			continue
		}
		files[r.Name] = filepath.Join(filepath.Dir(path), filepath.FromSlash(p))
	}
	for _, name := range tabularOrder {
		f, ok := files[name]
		if !ok {
			continue
		}
		if err := readCSV(f, name, d); err != nil {
			return err
		}
	}
	return nil
}

func readCSV(path, object string, d *mapping.HSDSDirectory) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			d.Reject(filepath.Base(path), object, "", "the data package lists this file but it is missing")
			return nil
		}
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		d.Reject(filepath.Base(path), object, "", "the header row cannot be read")
		return nil
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	name := filepath.Base(path)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := r.FieldPos(0)
		src := name + ":" + strconv.Itoa(line)
		if err != nil {
			d.Reject(src, object, "", "the row cannot be read as CSV")
			continue
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			if i < len(rec) && rec[i] != "" {
				row[h] = rec[i]
			}
		}
		addRow(row, src, object, d)
	}
}

// addRow adds one CSV row (all cells strings) of the named HSDS table.
func addRow(row map[string]string, src, object string, d *mapping.HSDSDirectory) {
	raw, _ := json.Marshal(row)
	into := func(v any) bool {
		if err := json.Unmarshal(raw, v); err != nil {
			d.Reject(src, object, row["id"], "cannot be read: "+jsonErr(err))
			return false
		}
		return true
	}
	switch object {
	case "organization", "service", "location", "service_at_location":
		addObject(raw, src, object, d)
	case "address":
		var v mapping.HSDSAddress
		if into(&v) {
			d.AddAddress(src, v)
		}
	case "phone":
		var v mapping.HSDSPhone
		if into(&v) {
			d.AddPhone(src, v)
		}
	case "schedule":
		var v mapping.HSDSSchedule
		if into(&v) {
			d.AddSchedule(src, v)
		}
	case "language":
		var v mapping.HSDSLanguage
		if into(&v) {
			d.AddLanguage(src, v)
		}
	case "attribute":
		var v mapping.HSDSAttribute
		if into(&v) {
			d.AddAttribute(src, v)
		}
	case "taxonomy_term":
		var v mapping.HSDSTaxonomyTerm
		if into(&v) {
			d.AddTaxonomyTerm(v)
		}
	case "unit":
		d.AddUnit(row["id"], row["name"])
	case "service_capacity":
		var v mapping.HSDSCapacity
		if into(&v) {
			d.AddCapacity(src, v)
		}
	}
}
