package ereferral

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/adapter/internal/oauthcc"
)

var _ socialrx.Poller = (*Client)(nil)

// MaxPollPages bounds the pages one ChangedTasks call reads; the rest is
// read by the next poll, from the newest lastUpdated reached.
const MaxPollPages = 20

// ChangedTasks reads the Tasks changed on a platform since a time (see
// socialrx.Poller): GET {address}/Task?_lastUpdated=gt{since}&_sort=_lastUpdated&_count=100,
// then the Bundle's next links on the same server. Entries that are not
// Tasks (included resources, OperationOutcomes) are skipped.
func (c *Client) ChangedTasks(ctx context.Context, ep socialrx.Endpoint, since string) ([][]byte, string, error) {
	base := strings.TrimRight(ep.Address, "/")
	q := url.Values{"_sort": {"_lastUpdated"}, "_count": {"100"}}
	if since != "" {
		q.Set("_lastUpdated", "ge"+since) // ge, not gt: a change in the same instant as the last one seen is not missed; applying a Task again changes nothing
	}
	next := base + "/Task?" + q.Encode()
	newest := since
	var tasks [][]byte
	for page := 0; next != "" && page < MaxPollPages; page++ {
		h := make(http.Header)
		h.Set("Accept", fhirJSON)
		resp, err := c.caller.Do(ctx, ep.ID, oauthcc.Request{Method: http.MethodGet, URL: next, Header: h})
		if err != nil {
			return nil, since, err
		}
		if e := oauthcc.Classify(resp, c.now()); e != nil {
			return nil, since, e
		}
		if resp.Truncated {
			return nil, since, socialrx.UnreadableAnswer(resp.StatusCode, "too large")
		}
		var b struct {
			ResourceType string `json:"resourceType"`
			Link         []struct {
				Relation string `json:"relation"`
				URL      string `json:"url"`
			} `json:"link"`
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if json.Unmarshal(resp.Body, &b) != nil || b.ResourceType != "Bundle" {
			return nil, since, socialrx.UnreadableAnswer(resp.StatusCode, "not a search Bundle")
		}
		for _, e := range b.Entry {
			var r struct {
				ResourceType string `json:"resourceType"`
				Meta         struct {
					LastUpdated string `json:"lastUpdated"`
				} `json:"meta"`
			}
			if json.Unmarshal(e.Resource, &r) != nil || r.ResourceType != "Task" {
				continue
			}
			tasks = append(tasks, e.Resource)
			if later(r.Meta.LastUpdated, newest) {
				newest = r.Meta.LastUpdated
			}
		}
		next = ""
		for _, l := range b.Link {
			if l.Relation == "next" && sameServer(l.URL, base) {
				next = l.URL
			}
		}
	}
	return tasks, newest, nil
}

// later reports whether FHIR instant a is after b ("" is before all).
// Instants of one server share a format; compare as times when both parse.
func later(a, b string) bool {
	if a == "" {
		return false
	}
	if b == "" {
		return true
	}
	ta, errA := parseInstant(a)
	tb, errB := parseInstant(b)
	if errA != nil || errB != nil {
		return a > b
	}
	return ta.After(tb)
}

// sameServer keeps next links on the Endpoint's host, so a platform cannot
// send socialrx's token elsewhere.
func sameServer(link, base string) bool {
	l, err1 := url.Parse(link)
	b, err2 := url.Parse(base)
	return err1 == nil && err2 == nil && l.Scheme == b.Scheme && l.Host == b.Host
}

func parseInstant(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
