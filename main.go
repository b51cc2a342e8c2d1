// Command bucketd is a Redis-protocol server of schema-checked JSON record
// buckets, with change events on pub/sub, reactive queries, transactions,
// TTL and persistence. Run it and talk to it with redis-cli or any Redis
// client library.
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
	"strings"
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
	os.Exit(run(os.Args[1:], os.Stderr))
}

// yesNoFlag is a Redis-style yes|no flag.
type yesNoFlag struct{ v *bool }

func (f yesNoFlag) String() string {
	if f.v != nil && *f.v {
		return "yes"
	}
	return "no"
}

func (f yesNoFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "yes":
		*f.v = true
	case "no":
		*f.v = false
	default:
		return errors.New("must be yes or no")
	}
	return nil
}

// memFlag is a Redis-style memory size flag (512mb, 1gb, 1048576).
type memFlag struct{ v *int64 }

func (f memFlag) String() string {
	if f.v == nil {
		return ""
	}
	return strconv.FormatInt(*f.v, 10)
}

func (f memFlag) Set(s string) error {
	l, err := commands.ParseOutputLimit("pubsub "+s+" 0 0", resp.OutputLimit{})
	if err != nil {
		return errors.New("must be a memory size such as 512mb")
	}
	*f.v = l.Hard
	return nil
}

// threadsFlag is --threads: "auto" or a number of CPUs (0: all of them).
type threadsFlag struct{ v *int }

func (f threadsFlag) String() string {
	if f.v == nil {
		return "" // the zero value, so that -help prints the default
	}
	if *f.v == commands.ThreadsAuto {
		return "auto"
	}
	return strconv.Itoa(*f.v)
}

func (f threadsFlag) Set(s string) error {
	if strings.EqualFold(s, "auto") {
		*f.v = commands.ThreadsAuto
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return errors.New(`must be auto, or 0 (all CPUs) or more`)
	}
	*f.v = n
	return nil
}

// outputLimitFlag is client-output-buffer-limit's value.
type outputLimitFlag struct{ v *resp.OutputLimit }

func (f outputLimitFlag) String() string { return "pubsub 32mb 8mb 60" }

func (f outputLimitFlag) Set(s string) error {
	l, err := commands.ParseOutputLimit(s, *f.v)
	if err != nil {
		return err
	}
	*f.v = l
	return nil
}

func parseFlags(args []string, stderr io.Writer) (commands.Config, error) {
	cfg := commands.DefaultConfig()
	fs := flag.NewFlagSet("bucketd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.Port, "port", cfg.Port, "TCP port to listen on (0 picks a free one)")
	fs.StringVar(&cfg.Bind, "bind", cfg.Bind, "address to listen on")
	fs.StringVar(&cfg.Dir, "dir", cfg.Dir, "data directory (snapshot and append-only file)")
	fs.StringVar(&cfg.RequirePass, "requirepass", "", "password clients must AUTH with (empty: none)")
	fs.StringVar(&cfg.LogLevel, "loglevel", cfg.LogLevel, "debug|info|warn|error")
	fs.DurationVar(&cfg.TTLInterval, "ttl-interval", cfg.TTLInterval, "how often expired records are swept")
	fs.Var(yesNoFlag{&cfg.AppendOnly}, "appendonly", "yes|no: keep an append-only file")
	fs.StringVar(&cfg.AppendFsync, "appendfsync", cfg.AppendFsync, "always|everysec|no")
	fs.Var(yesNoFlag{&cfg.EnableDebug}, "enable-debug-command", "yes|no: allow DEBUG")
	fs.Int64Var(&cfg.MaxClients, "maxclients", cfg.MaxClients, "maximum number of connected clients")
	fs.Var(memFlag{&cfg.ProtoMaxBulkLen}, "proto-max-bulk-len", "largest bulk string a client may send")
	fs.Var(memFlag{&cfg.QueryBufferLimit}, "client-query-buffer-limit", "largest pending command a client may send")
	fs.Var(outputLimitFlag{&cfg.PubSubLimit}, "client-output-buffer-limit", `pub/sub output limit: "pubsub <hard> <soft> <seconds>"`)
	fs.Int64Var(&cfg.SlowlogSlowerThan, "slowlog-log-slower-than", cfg.SlowlogSlowerThan, "microseconds; slower commands enter the slow log (-1: off)")
	fs.Int64Var(&cfg.SlowlogMaxLen, "slowlog-max-len", cfg.SlowlogMaxLen, "slow log entries kept")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9121); empty: off")
	fs.Var(threadsFlag{&cfg.Threads}, "threads", "CPUs running bucketd's code at once: auto (follow the load), or a number (0: all)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch cfg.AppendFsync {
	case "always", "everysec", "no":
	default:
		return cfg, fmt.Errorf("--appendfsync must be always, everysec or no")
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return cfg, fmt.Errorf("--loglevel must be debug, info, warn or error")
	}
	if cfg.TTLInterval <= 0 {
		return cfg, fmt.Errorf("--ttl-interval must be positive")
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
	if cfg.AppendOnly {
		persist, err = snapshot.Open(store, srv.QueryPersistence(), snapshot.Options{Dir: cfg.Dir, Fsync: cfg.AppendFsync, Log: log})
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
				store.PurgeExpired()
			}
		}
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- netSrv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Str("version", commands.Version).
		Bool("appendonly", cfg.AppendOnly).Msg("ready to accept connections")
	if !cfg.AppendOnly {
		log.Info().Msg("appendonly is off: data lives in memory only and is lost when the server stops")
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := netSrv.Shutdown(ctx); err != nil {
		log.Warn().Err(err).Msg("connections did not finish in time; closed them")
	}
	srv.Close()
	if persist != nil {
		if err := persist.Close(save); err != nil {
			log.Error().Err(err).Msg("flushing the append-only file failed")
			code = 1
		}
	}
	log.Info().Msg("bye")
	return code
}
