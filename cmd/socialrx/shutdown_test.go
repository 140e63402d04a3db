package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShutdownFinishesInFlight sends a create whose body arrives slowly, asks
// the server to shut down while the handler is still reading it, and checks
// that the request completes, that Close waits for it, and that the resource
// is in the database afterwards.
func TestShutdownFinishesInFlight(t *testing.T) {
	db := sqliteDatabase(t)
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = db
	cfg.ShutdownTimeout = 20 * time.Second
	m := NewMain(cfg, nil)
	active := make(chan struct{}, 16)
	m.connState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateActive {
			active <- struct{}{}
		}
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	body := `{"resourceType":"Patient","active":true,"name":[{"family":"InFlight"}]}`
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/fhir/Patient", pr)
	req.Header.Set("Content-Type", "application/fhir+json")
	type result struct {
		status   int
		location string
		err      error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode, location: resp.Header.Get("Location")}
	}()
	half := len(body) / 2
	if _, err := pw.Write([]byte(body[:half])); err != nil {
		t.Fatal(err)
	}

	// Wait until the server has read the request line and headers.
	select {
	case <-active:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the request")
	}

	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	// Close must wait for the request: it cannot have returned while the
	// body is still incomplete.
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a request was in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := pw.Write([]byte(body[half:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()

	r := <-done
	if r.err != nil || r.status != http.StatusCreated {
		t.Fatalf("in-flight create: status %d, err %v; want 201", r.status, r.err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}

	// The resource is in the database after shutdown.
	i := strings.Index(r.location, "/fhir/Patient/")
	if i < 0 {
		t.Fatalf("Location %q", r.location)
	}
	id := strings.Split(r.location[i+len("/fhir/Patient/"):], "/")[0]
	s, err := OpenStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Read(context.Background(), "Patient", id)
	if err != nil {
		t.Fatalf("read after shutdown: %v", err)
	}
	var p struct{ Name []struct{ Family string } }
	json.Unmarshal(res.Body, &p)
	if len(p.Name) != 1 || p.Name[0].Family != "InFlight" {
		t.Errorf("stored Patient name = %+v, want family InFlight", p.Name)
	}
}
