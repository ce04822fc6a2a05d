package adminapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
)

// The log-hook pipeline's metrics on /metrics (Config.LogHookStats):
//
//	kumopolicy_log_hook_received_total{hook}    records submitted to the hook
//	kumopolicy_log_hook_skipped_total{hook}     disabled by per_record, or received as LogRecord
//	kumopolicy_log_hook_dropped_total{hook}     no recipients, bad sender, handler or queue error
//	kumopolicy_log_hook_declined_total{hook}    should_enqueue_log_record said no
//	kumopolicy_log_hook_enqueued_total{hook}    routed to a queue
//	kumopolicy_log_queue_delivered_total{queue} sends that succeeded
//	kumopolicy_log_queue_transient_failures_total{queue}  transient failures (each attempt)
//	kumopolicy_log_queue_permanent_failures_total{queue}  permanent failures and expirations
//	kumopolicy_log_queue_expired_total{queue}   of those, messages past max_age
//	kumopolicy_log_queue_queued{queue}          messages waiting now (in flight included)
var (
	hookMetrics = []struct {
		desc *prometheus.Desc
		get  func(loghook.HookStats) uint64
	}{
		{hookDesc("received", "log records submitted to the log hook"), func(s loghook.HookStats) uint64 { return s.Received }},
		{hookDesc("skipped", "log records the hook skipped (disabled by per_record, or received as LogRecord)"), func(s loghook.HookStats) uint64 { return s.Skipped }},
		{hookDesc("dropped", "log records the hook dropped (no recipients, bad sender, handler or queue error)"), func(s loghook.HookStats) uint64 { return s.Dropped }},
		{hookDesc("declined", "log records should_enqueue_log_record declined"), func(s loghook.HookStats) uint64 { return s.Declined }},
		{hookDesc("enqueued", "log records the hook routed to a queue"), func(s loghook.HookStats) uint64 { return s.Enqueued }},
	}
	queueMetrics = []struct {
		desc *prometheus.Desc
		get  func(loghook.QueueStats) uint64
	}{
		{queueDesc("delivered_total", "log hook queue sends that succeeded"), func(s loghook.QueueStats) uint64 { return s.Delivered }},
		{queueDesc("transient_failures_total", "log hook queue transient failures, each attempt"), func(s loghook.QueueStats) uint64 { return s.Transient }},
		{queueDesc("permanent_failures_total", "log hook queue permanent failures, expirations included"), func(s loghook.QueueStats) uint64 { return s.Permanent }},
		{queueDesc("expired_total", "log hook queue messages dropped past max_age"), func(s loghook.QueueStats) uint64 { return s.Expired }},
	}
	queueQueued = prometheus.NewDesc("kumopolicy_log_queue_queued", "log hook queue messages waiting now, in flight included", []string{"queue"}, nil)
)

func hookDesc(what, help string) *prometheus.Desc {
	return prometheus.NewDesc("kumopolicy_log_hook_"+what+"_total", help, []string{"hook"}, nil)
}

func queueDesc(what, help string) *prometheus.Desc {
	return prometheus.NewDesc("kumopolicy_log_queue_"+what, help, []string{"queue"}, nil)
}

// logHookCollector reports a pipeline's Stats at each scrape.
type logHookCollector struct{ stats func() loghook.Stats }

func (c logHookCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range hookMetrics {
		ch <- m.desc
	}
	for _, m := range queueMetrics {
		ch <- m.desc
	}
	ch <- queueQueued
}

func (c logHookCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	for name, hs := range s.Hooks {
		for _, m := range hookMetrics {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(m.get(hs)), name)
		}
	}
	for name, qs := range s.Queues {
		for _, m := range queueMetrics {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(m.get(qs)), name)
		}
		ch <- prometheus.MustNewConstMetric(queueQueued, prometheus.GaugeValue, float64(qs.Queued), name)
	}
}
