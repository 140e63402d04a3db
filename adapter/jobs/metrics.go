package jobs

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the delivery counters on /metrics (Config.Registry):
//
//	socialrx_outbound_attempts_total{destination, outcome}
//	    outcome: delivered | retried | failed (dead-lettered) | cancelled (no longer needed)
//	socialrx_outbound_send_seconds{destination}
//	    the time of one send (build + HTTP), any outcome
//	socialrx_platform_polls_total{outcome}  ok | failed
//
// They carry no ids: labels are bounded.
type metrics struct {
	attempts *prometheus.CounterVec
	send     *prometheus.HistogramVec
	polls    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "socialrx_outbound_attempts_total",
			Help: "Delivery attempts of outbox messages by destination (platform, emr) and outcome (delivered, retried, failed, cancelled).",
		}, []string{"destination", "outcome"}),
		send: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "socialrx_outbound_send_seconds",
			Help:    "Time of one delivery attempt (building the message and the HTTP call), by destination.",
			Buckets: prometheus.DefBuckets,
		}, []string{"destination"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "socialrx_platform_polls_total",
			Help: "Polls of hl7-fhir-rest platforms by outcome (ok, failed).",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.send, m.polls)
	}
	return m
}

func (m *metrics) attempt(destination, outcome string, took time.Duration) {
	m.attempts.WithLabelValues(destination, outcome).Inc()
	m.send.WithLabelValues(destination).Observe(took.Seconds())
}
