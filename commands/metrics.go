package commands

import (
	"context"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics serves Prometheus metrics on --metrics-addr. Per-command series
// are resolved once per command, so a command pays two atomic adds and a
// histogram bucket search, and nothing at all when metrics are off.
type metrics struct {
	reg     *prometheus.Registry
	calls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
	byCmd   map[*Command]cmdMetrics
	srv     *http.Server
}

type cmdMetrics struct {
	calls   prometheus.Counter
	latency prometheus.Observer
}

// ServeMetrics starts the Prometheus endpoint (/metrics, and Go's profiler
// under /debug/pprof/) on addr and returns the address it listens on.
func (s *Server) ServeMetrics(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	m := &metrics{reg: prometheus.NewRegistry(), byCmd: map[*Command]cmdMetrics{}}
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bucketd_commands_total", Help: "Commands run, by name."}, []string{"command"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bucketd_command_duration_seconds", Help: "Command latency, by name.",
		Buckets: prometheus.ExponentialBuckets(1e-6, 4, 12)}, []string{"command"})
	var all []*Command
	for _, c := range s.table.Sorted() {
		all = append(all, c)
		all = append(all, sortedSubs(c)...)
	}
	for _, c := range all {
		m.byCmd[c] = cmdMetrics{calls: m.calls.WithLabelValues(c.Name), latency: m.latency.WithLabelValues(c.Name)}
	}
	m.reg.MustRegister(m.calls, m.latency, &storeCollector{s: s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	// Go's profiler, for the performance work of bench/: CPU and
	// allocation profiles of the live server.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go m.srv.Serve(ln)
	s.metrics = m
	return ln.Addr().String(), nil
}

func (s *Server) closeMetrics() {
	if s.metrics != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.metrics.srv.Shutdown(ctx)
	}
}

// observe records one run of cmd.
func (m *metrics) observe(cmd *Command, d time.Duration) {
	if cm, ok := m.byCmd[cmd]; ok {
		cm.calls.Inc()
		cm.latency.Observe(d.Seconds())
	}
}

var (
	descRecords     = prometheus.NewDesc("bucketd_bucket_records", "Records in a bucket.", []string{"bucket"}, nil)
	descMemory      = prometheus.NewDesc("bucketd_bucket_memory_bytes", "Estimated memory of a bucket.", []string{"bucket"}, nil)
	descRestarts    = prometheus.NewDesc("bucketd_bucket_restarts_total", "Supervisor restarts of a bucket.", []string{"bucket"}, nil)
	descEvents      = prometheus.NewDesc("bucketd_events_published_total", "Change events committed.", nil, nil)
	descDelivered   = prometheus.NewDesc("bucketd_pubsub_messages_delivered_total", "Pub/sub messages handed to subscribers.", nil, nil)
	descSubscribers = prometheus.NewDesc("bucketd_pubsub_subscribers", "Connections subscribed to channels or patterns.", nil, nil)
	descDisconnects = prometheus.NewDesc("bucketd_output_buffer_limit_disconnections_total", "Subscribers disconnected for passing the output buffer limit.", nil, nil)
	descClients     = prometheus.NewDesc("bucketd_connected_clients", "Connected clients.", nil, nil)
	descAOFLag      = prometheus.NewDesc("bucketd_aof_unsynced_bytes", "Bytes appended to the append-only file but not yet known to be on disk.", nil, nil)
	descAOFSize     = prometheus.NewDesc("bucketd_aof_size_bytes", "Bytes of the data files, snapshot and append-only files (INFO persistence aof_current_size).", nil, nil)
	descQueries     = prometheus.NewDesc("bucketd_live_query_subscriptions", "Subscriptions to reactive query channels.", nil, nil)
	descThreads     = prometheus.NewDesc("bucketd_threads", "CPUs running the server's code at once (GOMAXPROCS).", nil, nil)
	descThreadMoves = prometheus.NewDesc("bucketd_threads_changes_total", "Changes of the number of threads by --threads auto.", nil, nil)
)

// storeCollector reads the store's figures at scrape time.
type storeCollector struct{ s *Server }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRecords, descMemory, descRestarts, descEvents, descDelivered, descSubscribers, descDisconnects, descClients, descAOFLag, descAOFSize, descQueries, descThreads, descThreadMoves} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	restarts := s.store.Restarts()
	for _, name := range s.store.List() {
		info, err := s.store.Info(name)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descRecords, prometheus.GaugeValue, float64(info.Records), name)
		ch <- prometheus.MustNewConstMetric(descMemory, prometheus.GaugeValue, float64(info.MemoryBytes), name)
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(restarts[name]), name)
	}
	ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(s.events.Published()))
	ch <- prometheus.MustNewConstMetric(descDelivered, prometheus.CounterValue, float64(s.hub.Delivered()))
	subs, clients := 0, 0
	if s.net != nil {
		for _, conn := range s.net.Conns() {
			clients++
			if sess, ok := conn.Session.(*Session); ok && sess.subs.nChannels.Load()+sess.subs.nPatterns.Load() > 0 {
				subs++
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(descSubscribers, prometheus.GaugeValue, float64(subs))
	ch <- prometheus.MustNewConstMetric(descClients, prometheus.GaugeValue, float64(clients))
	ch <- prometheus.MustNewConstMetric(descDisconnects, prometheus.CounterValue, float64(s.netStat(func() int64 { return s.net.OutputLimitDisconnections.Load() })))
	if p := s.pers(); p != nil {
		ch <- prometheus.MustNewConstMetric(descAOFLag, prometheus.GaugeValue, float64(p.Unsynced()))
		ch <- prometheus.MustNewConstMetric(descAOFSize, prometheus.GaugeValue, float64(p.Info().CurrentSize))
	}
	ch <- prometheus.MustNewConstMetric(descQueries, prometheus.GaugeValue, float64(s.queries.Stats().ActiveSubscriptions))
	ch <- prometheus.MustNewConstMetric(descThreads, prometheus.GaugeValue, float64(runtime.GOMAXPROCS(0)))
	if s.tuner != nil {
		ch <- prometheus.MustNewConstMetric(descThreadMoves, prometheus.CounterValue, float64(s.tuner.Changes()))
	}
}
