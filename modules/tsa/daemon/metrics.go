package daemon

import (
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

// MetricsPath serves the Prometheus text format. As KumoMTA's daemons do,
// it is for trusted hosts only (spec tsa.md §2.1); KumoMTA's serves
// generic process metrics there, kumopolicy adds the TSA ones below.
const MetricsPath = "/metrics"

// RegexLabelMax bounds the regex label of the per-rule metrics, in runes.
const RegexLabelMax = 100

// regexLabel renders a rule's patterns as a Prometheus label value: the
// patterns as the rule's reason text shows them (one pattern as is,
// several joined by "," in parentheses), invalid UTF-8 and control
// characters replaced by U+FFFD, and cut to RegexLabelMax runes, the last
// one "…" when cut. The rule_hash label identifies the rule; this one is
// for people reading the metrics.
func regexLabel(patterns []string) string {
	s := ""
	if len(patterns) == 1 {
		s = patterns[0]
	} else {
		s = "(" + strings.Join(patterns, ",") + ")"
	}
	var b strings.Builder
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if r == utf8.RuneError || unicode.IsControl(r) {
			r = utf8.RuneError
		}
		if n == RegexLabelMax-1 && len(s) > 0 {
			b.WriteRune('…')
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// metrics is the daemon's httpapi.Metrics and its Prometheus registry.
type metrics struct {
	received     prometheus.Counter
	rejected     *prometheus.CounterVec
	batchSize    prometheus.Histogram
	batchSeconds prometheus.Histogram
	extra        httpapi.Metrics // Options.Queue.Metrics, also told; may be nil
	handler      http.Handler
}

func (m *metrics) Received() {
	m.received.Inc()
	if m.extra != nil {
		m.extra.Received()
	}
}

func (m *metrics) Rejected(reason string) {
	m.rejected.WithLabelValues(reason).Inc()
	if m.extra != nil {
		m.extra.Rejected(reason)
	}
}

func (m *metrics) Batch(size int, took time.Duration) {
	m.batchSize.Observe(float64(size))
	m.batchSeconds.Observe(took.Seconds())
	if m.extra != nil {
		m.extra.Batch(size, took)
	}
}

// rejectReasons are exported at 0 before the first rejection.
var rejectReasons = []string{
	httpapi.RejectContentEncoding, httpapi.RejectUnauthorized, httpapi.RejectContentType,
	httpapi.RejectTooLarge, httpapi.RejectBadBody, httpapi.RejectJSONSyntax, httpapi.RejectDecode,
	httpapi.RejectQueueTimeout, httpapi.RejectClientGone, httpapi.RejectShuttingDown,
}

// newMetrics builds the registry. The queue's gauges read d.queue at
// scrape time, so it may be set after this returns. maxBatch sizes the
// batch-size buckets.
func newMetrics(d *Daemon, maxBatch int, extra httpapi.Metrics) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tsa_records_received_total",
			Help: "Log records accepted by POST /publish_log_v1 (answered 200 and queued).",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tsa_records_rejected_total",
			Help: "POST /publish_log_v1 requests not answered 200, by reason.",
		}, []string{"reason"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tsa_ingest_batch_size",
			Help:    "Records per ingest batch.",
			Buckets: batchBuckets(maxBatch),
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tsa_ingest_batch_duration_seconds",
			Help:    "Time to apply an ingest batch to the automation state (persisting and publishing its events included).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10), // 100µs .. 26s
		}),
		extra: extra,
	}
	for _, r := range rejectReasons {
		m.rejected.WithLabelValues(r)
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.received, m.rejected, m.batchSize, m.batchSeconds,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tsa_ingest_queue_depth",
			Help: "Records accepted and not yet processed.",
		}, func() float64 { return float64(d.queue.Depth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tsa_ingest_queue_capacity",
			Help: "Bound of tsa_ingest_queue_depth; publishers wait while it is reached.",
		}, func() float64 { return float64(d.queue.Capacity()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tsa_persist_errors_total",
			Help: "Batches whose state could not be written to the state database.",
		}, func() float64 { return float64(d.PersistErrors()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tsa_subscribers",
			Help: "Websocket subscribers connected (/subscribe_event_v1 and /subscribe_suspension_v1).",
		}, func() float64 { return float64(d.hub.subscribers()) }),
		ruleCollector{d},
	)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true})
	return m
}

// batchBuckets are powers of two up to the batch size.
func batchBuckets(maxBatch int) []float64 {
	if maxBatch <= 0 {
		maxBatch = httpapi.DefaultBatchSize
	}
	var b []float64
	for v := 1; v < maxBatch; v *= 2 {
		b = append(b, float64(v))
	}
	return append(b, float64(maxBatch))
}

var (
	ruleLabels     = []string{"rule_hash", "regex"}
	ruleMatches    = prometheus.NewDesc("tsa_rule_matches_total", "Records whose response matched the rule, whether or not it then fired.", ruleLabels, nil)
	ruleActions    = prometheus.NewDesc("tsa_rule_actions_total", "Actions the rule applied, by kind, once per recipient domain.", append(ruleLabels[:2:2], "action"), nil)
	ruleSuspended  = prometheus.NewDesc("tsa_rule_active_suspensions", "Suspensions the rule produced that are active now, by queue kind (ready or scheduled).", append(ruleLabels[:2:2], "queue"), nil)
	ruleBounces    = prometheus.NewDesc("tsa_rule_active_bounces", "Bounces the rule produced that are active now.", ruleLabels, nil)
	ruleOverrides  = prometheus.NewDesc("tsa_rule_active_overrides", "Configuration overrides the rule produced that are active now.", ruleLabels, nil)
	ruleCollectors = []*prometheus.Desc{ruleMatches, ruleActions, ruleSuspended, ruleBounces, ruleOverrides}
)

// ruleCollector reports the per-rule metrics from the engine at scrape
// time: the rules of the current rule set and those still having active
// entries (automation.Engine.RuleStats), so the series are bounded by the
// rules loaded.
type ruleCollector struct{ d *Daemon }

func (c ruleCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range ruleCollectors {
		ch <- d
	}
}

func (c ruleCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.d.engine.RuleStats(c.d.now()) {
		re := regexLabel(s.Regex)
		ch <- constMetric(ruleMatches, prometheus.CounterValue, float64(s.Matches), s.Hash, re)
		for kind, n := range s.Actions {
			ch <- constMetric(ruleActions, prometheus.CounterValue, float64(n), s.Hash, re, kind)
		}
		ch <- constMetric(ruleSuspended, prometheus.GaugeValue, float64(s.ReadySuspensions), s.Hash, re, "ready")
		ch <- constMetric(ruleSuspended, prometheus.GaugeValue, float64(s.SchedSuspensions), s.Hash, re, "scheduled")
		ch <- constMetric(ruleBounces, prometheus.GaugeValue, float64(s.Bounces), s.Hash, re)
		ch <- constMetric(ruleOverrides, prometheus.GaugeValue, float64(s.Overrides), s.Hash, re)
	}
}

// constMetric is prometheus.NewConstMetric, an error (a label value that
// is not UTF-8, which regexLabel rules out) reported to the scrape
// instead of a panic.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

// addMetricsRoute serves GET /metrics to trusted hosts.
func (d *Daemon) addMetricsRoute(api *httpapi.Server) error {
	return api.Handle(http.MethodGet, MetricsPath, httpapi.TrustedOnly, d.metrics.handler)
}
