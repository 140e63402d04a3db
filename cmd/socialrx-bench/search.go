package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/schollz/progressbar/v3"
)

// searchQueries are the work lists and look-ups a practice and a navigator
// run (README: "Try it", "Warm hand-offs", "Consent", "Derived facts"); %d
// is an encounter number (its patient's health card number ends with it).
var searchQueries = []string{
	"Task?code=http://socialrx.dev/fhir/CodeSystem/task-code|follow-up&due-date=le2026-12-31&_count=50",
	"Task?status=requested&_count=50",
	"Task?work-list=consent-needed",
	"Task?delivery-state=failed",
	"ServiceRequest?prescription-form=warm-handoff&_count=50",
	"Patient?identifier=https://health.gov.on.ca/ohip|90000%d",
	"ServiceRequest?subject:Patient.identifier=https://health.gov.on.ca/ohip|90000%d",
	"Task?subject:Patient.identifier=https://health.gov.on.ca/ohip|90000%d&_count=20",
}

// latencies is what a scenario's requests measured.
type latencies struct {
	p50, p99 float64 // ms
	n        int
}

// searches runs each query n times (mixed, from clients goroutines) and,
// as the baseline, as many reads of one resource by id (the cheapest
// request: ids from the Patients the server holds).
func searches(ctx context.Context, base string, encounters, n, clients int, progress io.Writer) (search, read latencies, err error) {
	st, body, err := call(ctx, "GET", base+"/Patient?_count=200&_elements=id", "")
	if err != nil || st != http.StatusOK {
		return search, read, fmt.Errorf("list Patients: %d %.200s %v", st, body, err)
	}
	ids := patientIDs(body)
	if len(ids) == 0 {
		return search, read, fmt.Errorf("no Patient to read")
	}
	total := n * len(searchQueries)
	urls := make([]string, 0, total)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range total {
		q := searchQueries[i%len(searchQueries)]
		if strings.Contains(q, "%d") {
			q = fmt.Sprintf(q, 1+rng.IntN(encounters))
		}
		urls = append(urls, base+"/"+q)
	}
	reads := make([]string, total)
	for i := range reads {
		reads[i] = base + "/Patient/" + ids[i%len(ids)]
	}
	if search, err = timeRequests(ctx, urls, clients, newBar(progress, total, "search")); err != nil {
		return search, read, err
	}
	read, err = timeRequests(ctx, reads, clients, newBar(progress, total, "read"))
	return search, read, err
}

// patientIDs picks the ids out of a searchset Bundle's entries.
func patientIDs(bundle []byte) []string {
	var b struct {
		Entry []struct {
			Resource struct {
				ID string `json:"id"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(bundle, &b) != nil {
		return nil
	}
	var ids []string
	for _, e := range b.Entry {
		if e.Resource.ID != "" {
			ids = append(ids, e.Resource.ID)
		}
	}
	return ids
}

// timeRequests GETs every url once, from clients goroutines; each must
// answer 200.
func timeRequests(ctx context.Context, urls []string, clients int, bar *progressbar.ProgressBar) (latencies, error) {
	lat, _, err := runClients(ctx, len(urls), clients, bar, func(i int) error {
		st, body, err := call(ctx, "GET", urls[i], "")
		if err == nil && st != http.StatusOK {
			err = fmt.Errorf("GET %s: status %d: %.300s", urls[i], st, body)
		}
		return err
	})
	if err != nil {
		return latencies{}, err
	}
	return latencies{p50: quantileMs(lat, 0.5), p99: quantileMs(lat, 0.99), n: len(lat)}, nil
}
