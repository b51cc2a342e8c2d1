package commands

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"bucketd/engine"
	"bucketd/resp"
)

// infoSection writes one INFO section's fields.
type infoSection struct {
	name  string
	title string
	write func(s *Server, b *strings.Builder)
	// notDefault leaves it out of INFO and INFO default, as Redis does
	// with commandstats and latencystats (INFO all and everything have it).
	notDefault bool
}

var infoSections = []infoSection{
	{name: "server", title: "Server", write: infoServer},
	{name: "clients", title: "Clients", write: infoClients},
	{name: "memory", title: "Memory", write: infoMemory},
	{name: "persistence", title: "Persistence", write: infoPersistence},
	{name: "stats", title: "Stats", write: infoStats},
	{name: "replication", title: "Replication", write: infoReplication},
	{name: "cpu", title: "CPU", write: infoCPU},
	{name: "errorstats", title: "Errorstats", write: infoErrorStats},
	{name: "keyspace", title: "Keyspace", write: infoKeyspace},
	{name: "buckets", title: "Buckets", write: infoBuckets},
	{name: "queries", title: "Queries", write: infoQueries},
	{name: "commandstats", title: "Commandstats", write: infoCommandStats, notDefault: true},
	{name: "latencystats", title: "Latencystats", write: infoLatencyStats, notDefault: true},
}

func field(b *strings.Builder, name string, v any) {
	b.WriteString(name)
	b.WriteByte(':')
	fmt.Fprint(b, v)
	b.WriteString("\r\n")
}

func infoServer(s *Server, b *strings.Builder) {
	cfg := s.Config()
	up := time.Since(s.started)
	field(b, "redis_version", RedisVersion)
	field(b, "bucketd_version", Version)
	field(b, "redis_mode", "standalone")
	field(b, "os", runtime.GOOS+" "+runtime.GOARCH)
	field(b, "arch_bits", strconv.Itoa(32<<(^uint(0)>>63)))
	field(b, "go_version", runtime.Version())
	field(b, "process_id", os.Getpid())
	field(b, "run_id", s.runID)
	field(b, "tcp_port", cfg.Port)
	field(b, "server_time_usec", time.Now().UnixMicro())
	field(b, "uptime_in_seconds", int64(up/time.Second))
	field(b, "uptime_in_days", int64(up/(24*time.Hour)))
	field(b, "ttl_interval_ms", cfg.TTLInterval.Milliseconds())
	field(b, "threads", runtime.GOMAXPROCS(0))
	if s.tuner != nil {
		field(b, "threads_mode", "auto")
		field(b, "threads_changes", s.tuner.Changes())
	} else if s.Config().Threads > 0 {
		field(b, "threads_mode", "fixed")
	} else {
		field(b, "threads_mode", "default")
	}
}

func infoClients(s *Server, b *strings.Builder) {
	n, pubsubClients := 0, 0
	if s.net != nil {
		for _, c := range s.net.Conns() {
			n++
			if sess, ok := c.Session.(*Session); ok && sess.subs.nChannels.Load()+sess.subs.nPatterns.Load() > 0 {
				pubsubClients++
			}
		}
	}
	field(b, "connected_clients", n)
	field(b, "maxclients", s.Config().MaxClients)
	var maxIn, maxOut int64
	if s.net != nil {
		maxIn = s.net.RecentMaxInputBuffer()
		for _, c := range s.net.Conns() {
			maxOut = max(maxOut, int64(c.Pending()))
		}
	}
	field(b, "client_recent_max_input_buffer", maxIn)
	field(b, "client_recent_max_output_buffer", maxOut)
	field(b, "pubsub_clients", pubsubClients)
	field(b, "blocked_clients", s.pause.waiting.Load())
	field(b, "tracking_clients", s.tracking.Clients())
}

func infoMemory(s *Server, b *strings.Builder) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	field(b, "used_memory", ms.HeapAlloc)
	field(b, "used_memory_human", humanBytes(int64(ms.HeapAlloc)))
	field(b, "used_memory_rss", rss())
	field(b, "used_memory_rss_human", humanBytes(rss()))
	field(b, "used_memory_peak", ms.HeapSys)
	field(b, "total_system_memory", totalMemory())
	field(b, "maxmemory", 0)
	field(b, "maxmemory_policy", "noeviction")
	field(b, "gc_runs", ms.NumGC)
	field(b, "gc_percent", int64(runtimeMetric("/gc/gogc:percent")))
	// The chunks of the subscribers' output queues, now and at the peak.
	queued, queuedPeak := resp.OutputQueueMemory()
	field(b, "mem_pubsub_output", queued)
	field(b, "mem_pubsub_output_peak", queuedPeak)
	scripts, scriptBytes := s.scripts.Stats()
	libs, funcs := s.scripts.LibraryCounts()
	field(b, "number_of_cached_scripts", scripts)
	field(b, "used_memory_scripts_eval", scriptBytes)
	field(b, "number_of_functions", funcs)
	field(b, "number_of_libraries", libs)
}

func infoPersistence(s *Server, b *strings.Builder) {
	field(b, "loading", 0)
	infoPersistenceFields(s, func(name string, v any) { field(b, name, v) })
}

func infoStats(s *Server, b *strings.Builder) {
	field(b, "total_connections_received", s.netStat(func() int64 { return s.net.TotalConnections.Load() }))
	field(b, "total_commands_processed", s.stats.commands.Load())
	field(b, "instantaneous_ops_per_sec", s.ops.rate())
	field(b, "expired_keys", s.store.Expired())
	field(b, "evicted_keys", s.store.Evicted())
	field(b, "reads_timed_out", s.store.ReadsTimedOut())
	field(b, "reads_cancelled", s.store.ReadsCancelled())
	field(b, "reads_or_as_in", s.store.ReadsOrAsIn())
	field(b, "rejected_connections", s.netStat(func() int64 { return s.net.RejectedConnections.Load() }))
	field(b, "pubsub_channels", s.hub.NumChannels())
	field(b, "pubsub_patterns", s.hub.NumPat())
	field(b, "pubsub_messages_delivered", s.hub.Delivered())
	field(b, "pubsub_settle_timeouts", s.netStat(func() int64 { return s.net.SettleTimeouts.Load() }))
	field(b, "events_published", s.events.Published())
	runs, failed, killed := s.scripts.Counters()
	field(b, "scripts_run", runs)
	field(b, "scripts_failed", failed)
	field(b, "scripts_killed", killed)
	field(b, "total_error_replies", s.errors.total.Load())
	field(b, "tracking_total_keys", s.tracking.Keys())
	field(b, "tracking_invalidations", s.tracking.Sent())
	field(b, "client_output_buffer_limit_disconnections", s.netStat(func() int64 { return s.net.OutputLimitDisconnections.Load() }))
	if engine.Verifying() {
		field(b, "verify_failures", engine.VerifyFailures())
	}
}

func infoKeyspace(s *Server, b *strings.Builder) {
	total, expiring := 0, 0
	var ttlSum int64
	for _, name := range s.store.List() {
		if info, err := s.store.Info(name); err == nil {
			total += info.Records
			expiring += info.Expiring
			ttlSum += info.AvgTTL * int64(info.Expiring)
		}
	}
	if total > 0 {
		avg := int64(0)
		if expiring > 0 {
			avg = ttlSum / int64(expiring)
		}
		field(b, "db0", fmt.Sprintf("keys=%d,expires=%d,avg_ttl=%d", total, expiring, avg))
	}
}

func infoBuckets(s *Server, b *strings.Builder) {
	names := s.store.List()
	restarts := s.store.Restarts()
	field(b, "buckets", len(names))
	field(b, "failed_buckets", len(s.store.FailedBuckets()))
	for _, name := range names {
		info, err := s.store.Info(name)
		if err != nil {
			continue
		}
		field(b, "bucket_"+name, fmt.Sprintf("records=%d,indexes=%d,memory=%d,restarts=%d", info.Records, len(info.Indexes), info.MemoryBytes, restarts[name]))
	}
}

func infoQueries(s *Server, b *strings.Builder) {
	qs := s.queries.Stats()
	field(b, "queries_defined", qs.Defined)
	field(b, "query_channels", qs.Channels)
	field(b, "query_subscriptions", qs.ActiveSubscriptions)
	field(b, "query_evaluations", qs.Evaluations)
	field(b, "query_full_reads", qs.FullReads)
	field(b, "query_results_published", qs.Published)
	field(b, "query_function_runs", qs.Runs)
	field(b, "query_function_reruns", qs.Reruns)
	field(b, "query_skipped_changes", qs.SkippedChanges)
}

func (s *Server) netStat(f func() int64) int64 {
	if s.net == nil {
		return 0
	}
	return f()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 2, 64) + "G"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 2, 64) + "M"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 2, 64) + "K"
	}
	return strconv.FormatInt(n, 10) + "B"
}

// rss reads the process's resident set size from /proc (0 elsewhere).
func rss() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func totalMemory() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// InfoText builds the INFO reply for the given sections ("" or "default":
// the default set; "all" or "everything": all of them).
func (s *Server) InfoText(sections []string) string {
	want := map[string]bool{}
	all, def := false, len(sections) == 0
	for _, sec := range sections {
		sec = strings.ToLower(sec)
		switch sec {
		case "all", "everything":
			all = true
		case "default":
			def = true
		}
		want[sec] = true
	}
	var b strings.Builder
	for _, sec := range infoSections {
		if !all && !want[sec.name] && !(def && !sec.notDefault) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + sec.title + "\r\n")
		sec.write(s, &b)
	}
	return b.String()
}

func cmdInfo(c *Ctx) {
	var secs []string
	for _, a := range c.Args[1:] {
		secs = append(secs, string(a))
	}
	c.W.Verbatim("txt", c.S.InfoText(secs))
}
