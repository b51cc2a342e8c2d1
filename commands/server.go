package commands

import (
	"crypto/rand"
	"encoding/hex"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"bucketd/cluster"
	"bucketd/cpus"
	"bucketd/engine"
	"bucketd/live"
	"bucketd/pubsub"
	"bucketd/resp"
	"bucketd/script"
	"bucketd/snapshot"
	"bucketd/tracking"
)

// Version is bucketd's version.
const Version = "0.1.0"

// RedisVersion is the Redis protocol level bucketd speaks; HELLO and INFO
// report it as the version so that client libraries enable Redis 7
// behaviour.
const RedisVersion = "7.2.0"

// Config is the server's configuration: the flags, several of which CONFIG
// SET can change at run time.
type Config struct {
	Port        int
	Bind        string
	Dir         string
	RequirePass string
	LogLevel    string
	TTLInterval time.Duration
	AppendOnly  bool
	AppendFsync string
	EnableDebug bool

	// Replication (docs/replication.md): all empty, a single node.
	ClusterID         string
	NodeID            string
	RaftAddr          string
	Bootstrap         bool
	Join              string // a member's client address to join through
	RaftSnapshotEvery int64  // log entries between Raft snapshots; 0: Raft's default
	ClusterTimeout    time.Duration

	// AutoAOFRewritePercentage and AutoAOFRewriteMinSize start a rewrite
	// when the append-only file has grown by the percentage over the last
	// snapshot and passed the size (0 percent: never).
	AutoAOFRewritePercentage int64
	AutoAOFRewriteMinSize    int64
	// LoadHugePages lets the loads of start-up and of a Raft snapshot lay
	// the heap on huge pages where the system gives them on request
	// (docs/persistence.md).
	LoadHugePages bool

	MaxClients int64

	ProtoMaxBulkLen  int64
	QueryBufferLimit int64
	// OutputLimits are the output buffer limits of the classes normal,
	// replica and pub/sub (resp.OutputClass).
	OutputLimits [3]resp.OutputLimit

	SlowlogSlowerThan int64 // microseconds; negative disables
	SlowlogMaxLen     int64

	MetricsAddr string // Prometheus endpoint; empty: off

	ReadTimeLimit int64 // milliseconds a scanning read may hold a bucket's lock; 0: none

	BusyReplyThreshold int64 // milliseconds a script runs before others get BUSY
	QueryTimeLimit     int64 // milliseconds a function query's run may take; 0: none
	ScriptMaxMemory    int64 // bytes of live-heap growth a script may cause; 0: none

	// GCPercent is Go's GOGC: the growth of the heap over the live heap,
	// in percent, that starts a garbage collection.
	GCPercent int64

	NotifyKeyspaceEvents live.NotifyFlags // classes of keyspace notifications sent

	// Save is Redis's save points ("3600 1 300 100"; empty: none), in
	// canonical form; Hz is accepted for Redis tools and drives nothing.
	Save string
	Hz   int64

	// Threads is how many CPUs run the server's code at once (Go's
	// GOMAXPROCS); 0, the default, leaves Go's own choice (the CPUs the
	// process may use, container limits included), ThreadsAuto lets a
	// cpus.Tuner follow the load. It is set at start only.
	Threads int
}

// ThreadsAuto is Config.Threads for --threads auto.
const ThreadsAuto = -1

// DefaultConfig returns the defaults, as Redis has them where Redis has
// the same setting.
func DefaultConfig() Config {
	lim := resp.DefaultLimits()
	return Config{
		Port:        6379,
		Bind:        "127.0.0.1",
		Dir:         "./data",
		LogLevel:    "info",
		TTLInterval: time.Second,
		AppendOnly:  true,
		AppendFsync: "everysec",
		Hz:          10,

		AutoAOFRewritePercentage: 100,
		AutoAOFRewriteMinSize:    64 << 20,
		LoadHugePages:            true,
		MaxClients:               10000,
		ProtoMaxBulkLen:          lim.MaxBulk,
		QueryBufferLimit:         int64(lim.QueryBuffer),
		OutputLimits:             [3]resp.OutputLimit{resp.ClassReplica: resp.DefaultReplicaLimit, resp.ClassPubSub: resp.DefaultPubSubLimit},
		SlowlogSlowerThan:        10000,
		SlowlogMaxLen:            128,
		ReadTimeLimit:            5000,
		BusyReplyThreshold:       5000,
		QueryTimeLimit:           1000,
		ScriptMaxMemory:          256 << 20,
		GCPercent:                200,
		Threads:                  0,
		ClusterTimeout:           500 * time.Millisecond,
	}
}

// Server runs commands against the store: it is the resp.Handler of the
// network server.
type Server struct {
	log      zerolog.Logger
	store    *engine.Store
	hub      *pubsub.Hub
	shardHub *pubsub.Hub // shard channels (SSUBSCRIBE, SPUBLISH)
	table    *Table
	net      *resp.Server

	started  time.Time
	runID    string
	stats    counters
	errors   errorStats // INFO errorstats (cmdstats.go)
	slowlog  slowLog
	events   *live.Events
	monitors monitors        // connections in MONITOR mode (monitor.go)
	pause    pause           // CLIENT PAUSE (clientmode.go)
	tracking *tracking.Table // CLIENT TRACKING (tracking.go)
	keyspace *live.Keyspace
	queries  *live.Manager
	scripts  *script.Engine
	fnMu     sync.Mutex // orders function library changes and their logging

	busyThreshold atomic.Int64                         // busy-reply-threshold in ms, read at each script's start
	queryLimit    atomic.Int64                         // query-time-limit in ms, read at each function query's run
	persistPtr    atomic.Pointer[snapshot.Persistence] // nil: appendonly no (pers)
	cluster       *cluster.Node                        // nil: a single node (replication.go)
	ops           opsSampler
	metrics       *metrics    // nil unless --metrics-addr
	tuner         *cpus.Tuner // nil unless --threads auto

	cfgMu sync.RWMutex // guards cfg
	cfg   Config

	shutdownMu sync.Mutex // guards onShutdown
	onShutdown func(save bool)
}

// New returns a server for store with configuration cfg. Call Attach
// before serving.
func New(cfg Config, store *engine.Store, log zerolog.Logger) *Server {
	id := make([]byte, 20)
	rand.Read(id)
	s := &Server{
		log:      log,
		store:    store,
		hub:      pubsub.NewHub(),
		shardHub: pubsub.NewShardHub(),
		cfg:      cfg,
		started:  time.Now(),
		runID:    hex.EncodeToString(id),
	}
	s.slowlog.configure(cfg)
	s.events = live.NewEvents(s.hub)
	store.AddObserver(s.events)
	s.keyspace = live.NewKeyspace(s.hub)
	s.keyspace.SetFlags(cfg.NotifyKeyspaceEvents)
	store.AddObserver(s.keyspace)
	s.tracking = tracking.New(s.findTarget)
	store.AddObserver(s.tracking)
	s.scripts = script.New(script.Options{Log: log, MaxMemory: cfg.ScriptMaxMemory})
	s.queries = live.New(live.Options{Store: store, Hub: s.hub, Log: log, Revoke: s.revokeQueryChannel, Runner: queryRunner{s}})
	s.queries.OnDefinitionChange = s.queryDefined
	store.AddObserver(s.queries)
	s.busyThreshold.Store(cfg.BusyReplyThreshold)
	s.queryLimit.Store(cfg.QueryTimeLimit)
	s.table = NewTable()
	s.register()
	return s
}

// Attach connects the server to the network layer that serves it and
// applies the limits of the configuration to it.
func (s *Server) Attach(n *resp.Server) {
	s.net = n
	s.applyNetConfig()
	s.ops.start(s.stats.commands.Load)
}

// SetTuner gives INFO the tuner that sets the number of threads under
// --threads auto (nil: the number is fixed). Call it before serving.
func (s *Server) SetTuner(t *cpus.Tuner) { s.tuner = t }

// OnShutdown sets what SHUTDOWN calls (main stops the process).
func (s *Server) OnShutdown(fn func(save bool)) {
	s.shutdownMu.Lock()
	s.onShutdown = fn
	s.shutdownMu.Unlock()
}

// Table returns the command table.
func (s *Server) Table() *Table { return s.table }

// Hub returns the pub/sub hub.
func (s *Server) Hub() *pubsub.Hub { return s.hub }

// Config returns a copy of the configuration in force.
func (s *Server) Config() Config {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return s.cfg
}

// SetConfigAppendOnly records whether the append-only file is on, for
// CONFIG GET and INFO (main turns it off on a replicated node).
func (s *Server) SetConfigAppendOnly(on bool) {
	s.cfgMu.Lock()
	s.cfg.AppendOnly = on
	s.cfgMu.Unlock()
}

// applyNetConfig pushes the settings CONFIG SET may change to the parts
// that read them on hot paths.
func (s *Server) applyNetConfig() {
	cfg := s.Config()
	s.slowlog.configure(cfg)
	s.store.SetReadTimeLimit(time.Duration(cfg.ReadTimeLimit) * time.Millisecond)
	s.scripts.SetMaxMemory(cfg.ScriptMaxMemory)
	debug.SetGCPercent(int(cfg.GCPercent))
	s.busyThreshold.Store(cfg.BusyReplyThreshold)
	s.queryLimit.Store(cfg.QueryTimeLimit)
	s.keyspace.SetFlags(cfg.NotifyKeyspaceEvents)
	if p := s.pers(); p != nil {
		p.SetPolicy(cfg.AppendFsync)
		p.SetSavePoints(savePoints(cfg.Save))
		p.SetAutoRewrite(cfg.AutoAOFRewriteMinSize, cfg.AutoAOFRewritePercentage)
	}
	if s.net == nil {
		return
	}
	s.net.SetLimits(resp.Limits{MaxBulk: cfg.ProtoMaxBulkLen, QueryBuffer: int(cfg.QueryBufferLimit)})
	for class, l := range cfg.OutputLimits {
		s.net.SetOutputLimit(resp.OutputClass(class), l)
	}
	s.net.MaxClients.Store(cfg.MaxClients)
}

// Opened prepares a new connection: the resp.Handler entry point.
func (s *Server) Opened(conn *resp.Conn) {
	s.session(conn)
	conn.Authed = s.Config().RequirePass == ""
}

// register fills the command table.
func (s *Server) register() {
	for _, group := range [][]*Command{
		connectionCommands(),
		serverCommands(),
		bucketCommands(),
		recordCommands(),
		txCommands(),
		pubsubCommands(),
		persistCommands(),
		storeCommands(),
		keyspaceCommands(),
		queryCommands(),
		scriptCommands(),
		debugCommands(),
		memoryCommands(),
		replicationCommands(),
	} {
		for _, c := range group {
			s.table.Add(c)
		}
	}
	s.table.CheckDocs() // argument docs for a command the table lacks: a panic at start
}
