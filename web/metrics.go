package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are leadhub's Prometheus metrics. All of them live in the registry
// given to NewMetrics; nothing is registered globally.
type Metrics struct {
	reg *prometheus.Registry

	inboundTotal   *prometheus.CounterVec
	filingSeconds  prometheus.Histogram
	filedTotal     prometheus.Counter
	wsConnections  prometheus.Gauge
	wsReads        *prometheus.CounterVec
	wsDropped      prometheus.Counter
	outboundTotal  *prometheus.CounterVec
	webhookTotal   *prometheus.CounterVec
	groupRecreated prometheus.Counter
	queue          *queueCollector
}

// NewMetrics creates leadhub's metrics and registers them, together with the
// Go runtime and process collectors, in reg (a fresh registry: registering
// twice panics). A nil reg gets a new registry.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		reg: reg,
		inboundTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadhub_inbound_total",
			Help: "Webhook requests by channel and result; reason is the error code of a rejection.",
		}, []string{"channel", "result", "reason"}),
		filingSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "leadhub_filing_seconds",
			Help:    "Duration of one successful filing transaction (a batch of envelopes).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		filedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leadhub_filed_total",
			Help: "Envelopes committed by filing transactions.",
		}),
		wsConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "leadhub_ws_connections",
			Help: "Operator websockets currently connected.",
		}),
		wsReads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadhub_ws_db_reads_total",
			Help: "Database reads the websockets caused: the instance's one reader following the events (follow), " +
				"where cards' conversations are (places), and sockets replaying what they missed (replay).",
		}, []string{"kind"}),
		wsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leadhub_ws_slow_closed_total",
			Help: "Websockets closed because they fell too far behind.",
		}),
		outboundTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadhub_outbound_total",
			Help: "Reply delivery attempts by channel and outcome (sent, retry, failed).",
		}, []string{"channel", "outcome"}),
		webhookTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadhub_webhook_deliveries_total",
			Help: "Outgoing webhook delivery attempts by outcome (delivered, retry, failed).",
		}, []string{"outcome"}),
		groupRecreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leadhub_queue_group_recreated_total",
			Help: "Times the Redis consumer group had to be recreated (the stream was lost).",
		}),
		queue: &queueCollector{
			depth: prometheus.NewDesc("leadhub_queue_depth",
				"Envelopes accepted and not yet acknowledged.", nil, nil),
			oldest: prometheus.NewDesc("leadhub_queue_oldest_age_seconds",
				"Age of the oldest unacknowledged envelope, 0 when the queue is empty.", nil, nil),
			dead: prometheus.NewDesc("leadhub_queue_dead",
				"Dead letters waiting for an operator.", nil, nil),
			pending: prometheus.NewDesc("leadhub_queue_pending",
				"Envelopes delivered to a worker and not acknowledged (in hand, or failed and waiting for a retry).", nil, nil),
			oldestPending: prometheus.NewDesc("leadhub_queue_oldest_pending_age_seconds",
				"Age of the oldest pending envelope since it was accepted, 0 when none is pending.", nil, nil),
		},
	}
	reg.MustRegister(
		m.inboundTotal, m.filingSeconds, m.filedTotal, m.wsConnections, m.wsReads, m.wsDropped,
		m.outboundTotal, m.webhookTotal, m.groupRecreated, m.queue,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry the metrics live in, for adding more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// SetQueueStats sets where the queue gauges come from. stats is called once
// per scrape with a 1 s timeout; while it is unset or failing, the queue
// gauges are absent rather than a misleading 0.
func (m *Metrics) SetQueueStats(stats func(ctx context.Context) (inbox.QueueStats, error)) {
	m.queue.mu.Lock()
	m.queue.stats = stats
	m.queue.mu.Unlock()
}

// ObserveFiling records one filing transaction of n envelopes; it fits
// inbox.WorkerOptions.OnFiled.
func (m *Metrics) ObserveFiling(n int, d time.Duration) {
	m.filingSeconds.Observe(d.Seconds())
	m.filedTotal.Add(float64(n))
}

// OutboundResult counts one reply delivery attempt; it fits
// inbox.OutboundOptions.OnResult.
func (m *Metrics) OutboundResult(channelID, outcome string) {
	m.outboundTotal.WithLabelValues(channelID, outcome).Inc()
}

// WebhookResult counts one outgoing webhook attempt; it fits
// inbox.WebhookOptions.OnResult.
func (m *Metrics) WebhookResult(outcome string) {
	m.webhookTotal.WithLabelValues(outcome).Inc()
}

// GroupRecreated counts a recreated Redis consumer group.
func (m *Metrics) GroupRecreated() { m.groupRecreated.Inc() }

func (m *Metrics) inbound(channel, result, reason string) {
	m.inboundTotal.WithLabelValues(channel, result, reason).Inc()
}

// queueCollector asks the queue once per scrape for all its gauges, where
// a GaugeFunc each would ask once each.
type queueCollector struct {
	depth, oldest, dead, pending, oldestPending *prometheus.Desc

	mu    sync.Mutex
	stats func(ctx context.Context) (inbox.QueueStats, error)
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
	ch <- c.dead
	ch <- c.pending
	ch <- c.oldestPending
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	stats := c.stats
	c.mu.Unlock()
	if stats == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := stats(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(st.Depth))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, st.OldestAge.Seconds())
	ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(st.Dead))
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(c.oldestPending, prometheus.GaugeValue, st.OldestPendingAge.Seconds())
}
