// Command bucketd is a Redis-protocol server of schema-checked JSON record
// buckets, with change events on pub/sub, reactive queries, transactions,
// TTL and persistence. Run it and talk to it with redis-cli or any Redis
// client library. `bucketd check --dir D [--fix]` verifies (and repairs) a
// data directory without a server (docs/persistence.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"bucketd/commands"
	"bucketd/cpus"
	"bucketd/engine"
	"bucketd/resp"
	"bucketd/snapshot"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(runCheck(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version" || os.Args[1] == "-v") {
		fmt.Println(versionLine())
		return
	}
	os.Exit(run(os.Args[1:], os.Stderr))
}

// announceAddr is the client address a replicated node gives the others
// (where followers forward writes, what ROLE and Sentinel clients get):
// --bind and the port, or, when --bind listens everywhere, the host of
// --raft-addr.
func announceAddr(cfg commands.Config, port int) string {
	host := cfg.Bind
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host, _, _ = net.SplitHostPort(cfg.RaftAddr)
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// versionLine is what --version prints, as redis-server -v does: the
// version, the Redis version it speaks and the Go it was built with.
func versionLine() string {
	return "bucketd v=" + commands.Version + " redis_version=" + commands.RedisVersion + " go=" + runtime.Version()
}

func parseFlags(args []string, stderr io.Writer) (commands.Config, error) {
	cfg := commands.DefaultConfig()
	fs := flag.NewFlagSet("bucketd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	commands.RegisterFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return cfg, nil
}

func run(args []string, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "bucketd:", err)
		return 2
	}
	level, _ := zerolog.ParseLevel(cfg.LogLevel)
	zerolog.SetGlobalLevel(level)
	log := zerolog.New(stderr).With().Timestamp().Logger()
	var tuner *cpus.Tuner
	switch {
	case cfg.Threads == commands.ThreadsAuto:
		tuner = cpus.New(0, log)
		if tuner.Start() {
			defer tuner.Stop()
		} else {
			log.Info().Msg("cannot read CPU times here: --threads auto runs on all CPUs")
			tuner = nil
		}
	case cfg.Threads > 0:
		runtime.GOMAXPROCS(cfg.Threads)
	}

	if cfg.MaxClients, err = resp.FitMaxClients(cfg.MaxClients, log); err != nil {
		fmt.Fprintln(stderr, "bucketd:", err)
		return 1
	}
	addr := net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			fmt.Fprintf(stderr, "address %s is in use: is another server (Redis?) running? use --port\n", addr)
		} else {
			fmt.Fprintf(stderr, "cannot listen on %s: %v\n", addr, err)
		}
		return 1
	}

	cfg.Port = ln.Addr().(*net.TCPAddr).Port // --port 0: the port picked
	store := engine.New(engine.Options{Log: log})
	srv := commands.New(cfg, store, log)
	srv.SetTuner(tuner)
	var persist *snapshot.Persistence
	clustered := cfg.RaftAddr != ""
	if clustered {
		// A replicated node's data is its Raft log and snapshots
		// (docs/replication.md): no append-only file.
		cfg.AppendOnly = false
		srv.SetConfigAppendOnly(false)
	}
	if cfg.AppendOnly {
		persist, err = snapshot.Open(store, srv.QueryPersistence(), snapshot.Options{Dir: cfg.Dir, Fsync: cfg.AppendFsync, Log: log, Functions: srv.FunctionPersistence(),
			AutoRewriteMinSize: cfg.AutoAOFRewriteMinSize, AutoRewritePercent: cfg.AutoAOFRewritePercentage, HugePages: cfg.LoadHugePages})
		if err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "cannot load the data in %s: %v\n", cfg.Dir, err)
			log.Error().Err(err).Str("dir", cfg.Dir).Msg("cannot load the data; refusing to start")
			return 1
		}
		srv.SetPersistence(persist)
	}
	netSrv := resp.NewServer(srv, log)
	srv.Attach(netSrv)
	if clustered {
		lock, err := snapshot.LockDir(cfg.Dir)
		if err == nil {
			defer lock.Unlock()
			err = srv.StartCluster(announceAddr(cfg, ln.Addr().(*net.TCPAddr).Port))
		}
		if err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "cannot start the replicated node: %v\n", err)
			log.Error().Err(err).Msg("cannot start the replicated node; refusing to start")
			return 1
		}
	}
	if cfg.MetricsAddr != "" {
		maddr, err := srv.ServeMetrics(cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "cannot serve metrics on %s: %v\n", cfg.MetricsAddr, err)
			return 1
		}
		log.Info().Str("metrics_addr", maddr).Msg("serving Prometheus metrics on /metrics")
	}

	type stopReq struct {
		who  string
		save bool
	}
	stop := make(chan stopReq, 1)
	srv.OnShutdown(func(save bool) {
		select {
		case stop <- stopReq{"SHUTDOWN", save}:
		default:
		}
	})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	ttlDone := make(chan struct{})
	go func() {
		t := time.NewTicker(cfg.TTLInterval)
		defer t.Stop()
		for {
			select {
			case <-ttlDone:
				return
			case <-t.C:
				if n := srv.Cluster(); n == nil || n.Writable() {
					store.PurgeExpired() // on a replicated node, the leader's deletes reach the others
				}
			}
		}
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- netSrv.Serve(ln) }()
	ready := log.Info().Str("addr", ln.Addr().String()).Str("version", commands.Version).Bool("appendonly", cfg.AppendOnly)
	if n := srv.Cluster(); n != nil {
		ready = ready.Str("node_id", n.ID()).Str("raft_addr", n.RaftAddr())
	}
	ready.Msg("ready to accept connections")
	if !cfg.AppendOnly && !clustered {
		log.Info().Msg("appendonly is off: data lives in memory only and is lost when the server stops")
	}
	if engine.Verifying() {
		log.Warn().Msg("verify mode (BUCKETD_VERIFY=1): drafted writes are checked against plain ones and read buffers poisoned after use; slower, for tests")
	}

	code := 0
	save := false
	select {
	case sig := <-sigs:
		log.Info().Str("signal", sig.String()).Msg("shutting down")
	case req := <-stop:
		save = req.save
		log.Info().Str("by", req.who).Bool("save", save).Msg("shutting down")
	case err := <-serveErr:
		log.Error().Err(err).Msg("accept loop failed; shutting down")
		code = 1
	}
	close(ttlDone)
	// A script that loops would keep its connection, and the shutdown,
	// waiting: stop them all first (they roll back).
	srv.StopScripts()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := netSrv.Shutdown(ctx); err != nil {
		log.Warn().Err(err).Msg("connections did not finish in time; closed them")
	}
	srv.Close()
	if n := srv.Cluster(); n != nil {
		if err := n.Close(); err != nil {
			log.Warn().Err(err).Msg("stopping raft")
		}
	}
	if persist := srv.Persistence(); persist != nil { // CONFIG SET appendonly may have changed it
		if err := persist.Close(save); err != nil {
			log.Error().Err(err).Msg("flushing the append-only file failed")
			code = 1
		}
	}
	log.Info().Msg("bye")
	return code
}
