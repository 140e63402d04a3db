package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/fhir/search"
)

// metrics are the Prometheus metrics of one Server. They are registered on
// the Server's registry (one Server per registry).
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	storeErrors *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "socialrx_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "socialrx_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "socialrx_store_errors_total",
			Help: "Errors returned by the store, by operation and socialrx error code.",
		}, []string{"op", "code"}),
	}
	reg.MustRegister(m.requests, m.duration, m.storeErrors)
	return m
}

// observe records one finished request.
func (m *metrics) observe(method, route string, status int, took time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(took.Seconds())
}

// storeError counts a store error (nil is not counted).
func (m *metrics) storeError(op string, err error) {
	if err != nil {
		m.storeErrors.WithLabelValues(op, socialrx.ErrorCode(err)).Inc()
	}
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// metricMethod bounds the method label to the standard methods.
func metricMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// instrumentedStore counts the errors of a Store and of its transactions.
// Errors returned by a Transact callback (the server's own refusals) are not
// store errors and are not counted. Every search the server runs passes
// here, so it also applies the configured search limits (lim) before the
// store does: a search beyond them is EINVALID, not counted as a store error.
type instrumentedStore struct {
	socialrx.Store
	m   *metrics
	lim search.Limits
}

// checkSearch refuses a search beyond lim (see search.CheckLimits).
func checkSearch(req socialrx.SearchRequest, lim search.Limits) error {
	issues := search.CheckLimits(req.Params, lim)
	if len(issues) == 0 {
		return nil
	}
	err := &socialrx.Error{Code: socialrx.EINVALID, Message: "search " + req.Type + ": " + issues[0].Message}
	for _, i := range issues {
		err.Issues = append(err.Issues, socialrx.Issue(i))
	}
	return err
}

func (s *instrumentedStore) Read(ctx context.Context, typ, id string) (*socialrx.Resource, error) {
	r, err := s.Store.Read(ctx, typ, id)
	s.m.storeError("read", err)
	return r, err
}

func (s *instrumentedStore) VRead(ctx context.Context, typ, id string, version int64) (*socialrx.Resource, error) {
	r, err := s.Store.VRead(ctx, typ, id, version)
	s.m.storeError("vread", err)
	return r, err
}

func (s *instrumentedStore) History(ctx context.Context, req socialrx.HistoryRequest) (*socialrx.HistoryPage, error) {
	p, err := s.Store.History(ctx, req)
	s.m.storeError("history", err)
	return p, err
}

func (s *instrumentedStore) Search(ctx context.Context, req socialrx.SearchRequest) (*socialrx.SearchResult, error) {
	if err := checkSearch(req, s.lim); err != nil {
		return nil, err
	}
	r, err := s.Store.Search(ctx, req)
	s.m.storeError("search", err)
	return r, err
}

func (s *instrumentedStore) Ping(ctx context.Context) error {
	err := s.Store.Ping(ctx)
	s.m.storeError("ping", err)
	return err
}

func (s *instrumentedStore) Transact(ctx context.Context, fn func(tx socialrx.Tx) error) error {
	var fnErr error
	err := s.Store.Transact(ctx, func(tx socialrx.Tx) error {
		fnErr = fn(&instrumentedTx{Tx: tx, m: s.m, lim: s.lim})
		return fnErr
	})
	if err != nil && (fnErr == nil || !errors.Is(err, fnErr)) {
		s.m.storeError("transact", err)
	}
	return err
}

// instrumentedTx counts the errors of a Tx.
type instrumentedTx struct {
	socialrx.Tx
	m   *metrics
	lim search.Limits
}

func (t *instrumentedTx) Read(ctx context.Context, typ, id string) (*socialrx.Resource, error) {
	r, err := t.Tx.Read(ctx, typ, id)
	t.m.storeError("read", err)
	return r, err
}

func (t *instrumentedTx) Search(ctx context.Context, req socialrx.SearchRequest) (*socialrx.SearchResult, error) {
	if err := checkSearch(req, t.lim); err != nil {
		return nil, err
	}
	r, err := t.Tx.Search(ctx, req)
	t.m.storeError("search", err)
	return r, err
}

// Prefetch reads ahead where the store can (socialrx.PrefetchTx).
func (t *instrumentedTx) Prefetch(refs []string, got func(socialrx.Resource)) {
	if pf, ok := t.Tx.(socialrx.PrefetchTx); ok {
		pf.Prefetch(refs, got)
	}
}

// MatchMany runs the conditional searches with one statement where the
// store can (socialrx.MatchManyTx), each checked as Search checks it.
func (t *instrumentedTx) MatchMany(ctx context.Context, reqs []socialrx.SearchRequest) ([]*socialrx.SearchResult, error) {
	mm, ok := t.Tx.(socialrx.MatchManyTx)
	if !ok {
		return make([]*socialrx.SearchResult, len(reqs)), nil
	}
	send := make([]socialrx.SearchRequest, len(reqs))
	for i, req := range reqs {
		if checkSearch(req, t.lim) == nil {
			send[i] = req
		}
	}
	r, err := mm.MatchMany(ctx, send)
	t.m.storeError("search", err)
	return r, err
}

func (t *instrumentedTx) Create(ctx context.Context, typ, id string, body []byte) (*socialrx.Resource, error) {
	r, err := t.Tx.Create(ctx, typ, id, body)
	t.m.storeError("create", err)
	return r, err
}

func (t *instrumentedTx) CreateNew(ctx context.Context, typ, id string, body []byte) (*socialrx.Resource, error) {
	r, err := t.Tx.CreateNew(ctx, typ, id, body)
	t.m.storeError("create", err)
	return r, err
}

func (t *instrumentedTx) Update(ctx context.Context, typ, id string, body []byte, ifMatch int64) (*socialrx.Resource, bool, error) {
	r, created, err := t.Tx.Update(ctx, typ, id, body, ifMatch)
	t.m.storeError("update", err)
	return r, created, err
}

func (t *instrumentedTx) Delete(ctx context.Context, typ, id string, ifMatch int64) (*socialrx.Resource, error) {
	r, err := t.Tx.Delete(ctx, typ, id, ifMatch)
	t.m.storeError("delete", err)
	return r, err
}
