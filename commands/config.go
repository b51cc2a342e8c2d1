package commands

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"bucketd/live"
	"bucketd/pubsub/glob"
	"bucketd/resp"
	"bucketd/snapshot"
)

// setting is one server setting: a command-line flag (--name) and a CONFIG
// GET parameter, and a CONFIG SET one where runtime is true. The table
// settings is the one source of both: main builds its flags from it
// (RegisterFlags), CONFIG reads it. Adding a setting is one entry.
type setting struct {
	name string
	help string // the flag's usage text
	// get formats the value in cfg as CONFIG GET shows it (and as --help
	// shows the default).
	get func(cfg *Config) string
	// set parses v into cfg, or says why it cannot, in Redis's words. It
	// may leave cfg half changed when it fails: callers set a copy.
	set func(cfg *Config, v string) error
	// runtime: CONFIG SET may change it; otherwise it is set at start only.
	runtime bool
	// noFlag: a CONFIG GET parameter only, kept for Redis tools (databases,
	// save); it has no flag and no setter.
	noFlag bool
	// boolFlag: the flag may be given without a value (--bootstrap).
	boolFlag bool
}

// getBusyThreshold and setBusyThreshold serve busy-reply-threshold and its
// older name, lua-time-limit.
func getBusyThreshold(c *Config) string { return strconv.FormatInt(c.BusyReplyThreshold, 10) }

func setBusyThreshold(c *Config, v string) (err error) {
	c.BusyReplyThreshold, err = parseRange(v, 0, math.MaxInt64/int64(time.Millisecond))
	return err
}

func parseMemory(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1000 * 1000 * 1000}, {"m", 1000 * 1000}, {"k", 1000}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("argument must be a memory value")
	}
	return n * mult, nil
}

func parseYesNo(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes", "true": // true: a bool flag given alone
		return true, nil
	case "no", "false":
		return false, nil
	}
	return false, fmt.Errorf("argument must be 'yes' or 'no'")
}

// parseMemoryMin is parseMemory for the buffer limits, which Redis keeps
// at 1mb or more.
func parseMemoryMin(v string) (int64, error) {
	n, err := parseMemory(v)
	if err == nil && n < 1<<20 {
		err = fmt.Errorf("argument must be a memory value bigger than 1mb")
	}
	return n, err
}

// parseRange parses an integer in [lo, hi], with Redis's error texts.
func parseRange(v string, lo, hi int64) (int64, error) {
	n, err := parseInt(v)
	if err == nil && (n < lo || n > hi) {
		err = fmt.Errorf("argument must be between %d and %d inclusive", lo, hi)
	}
	return n, err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func parseInt(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("argument couldn't be parsed into an integer")
	}
	return n, nil
}

// The error texts of client-output-buffer-limit, Redis's.
var (
	//lint:ignore ST1005 Redis's text, sent as it is
	errLimitArgs = errors.New("Wrong number of arguments in buffer limit configuration.")
	//lint:ignore ST1005 Redis's text, sent as it is
	errLimitClass = errors.New("Invalid client class specified in buffer limit configuration.")
	//lint:ignore ST1005 Redis's text, sent as it is
	errLimitValue = errors.New("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
)

// parseOutputLimits parses a client-output-buffer-limit value, "<class>
// <hard> <soft> <seconds> …" (classes normal, replica or slave, pubsub; the
// class may be left out of a single triple, which is then pub/sub's), into
// the limits of cur it names, all or none, with Redis's error texts.
func parseOutputLimits(v string, cur [3]resp.OutputLimit) ([3]resp.OutputLimit, error) {
	f := strings.Fields(v)
	if len(f) == 3 {
		f = append([]string{"pubsub"}, f...)
	}
	if len(f) == 0 || len(f)%4 != 0 {
		return cur, errLimitArgs
	}
	out := cur
	for i := 0; i < len(f); i += 4 {
		var class resp.OutputClass
		switch strings.ToLower(f[i]) {
		case "normal":
			class = resp.ClassNormal
		case "replica", "slave":
			class = resp.ClassReplica
		case "pubsub":
			class = resp.ClassPubSub
		default:
			return cur, errLimitClass
		}
		hard, err1 := parseMemory(f[i+1])
		soft, err2 := parseMemory(f[i+2])
		secs, err3 := strconv.ParseInt(f[i+3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || secs < 0 {
			return cur, errLimitValue
		}
		out[class] = resp.OutputLimit{Hard: hard, Soft: soft, SoftFor: time.Duration(secs) * time.Second}
	}
	return out, nil
}

var settings = []setting{
	{name: "port", help: "TCP port to listen on (0 picks a free one)",
		get: func(c *Config) string { return strconv.Itoa(c.Port) },
		set: func(c *Config, v string) error {
			n, err := parseRange(v, 0, 65535)
			c.Port = int(n)
			return err
		}},
	{name: "bind", help: "address to listen on",
		get: func(c *Config) string { return c.Bind },
		set: func(c *Config, v string) error { c.Bind = v; return nil }},
	{name: "dir", help: "data directory (snapshot and append-only file)",
		get: func(c *Config) string { return c.Dir },
		set: func(c *Config, v string) error { c.Dir = v; return nil }},
	{name: "databases", noFlag: true, get: func(c *Config) string { return "1" }},
	{name: "requirepass", help: "password clients must AUTH with (empty: none)", runtime: true,
		get: func(c *Config) string { return c.RequirePass },
		set: func(c *Config, v string) error { c.RequirePass = v; return nil }},
	{name: "loglevel", help: "debug|info|warn|error (Redis's verbose, notice and warning are taken too)", runtime: true,
		get: func(c *Config) string { return c.LogLevel },
		set: func(c *Config, v string) error {
			switch l := strings.ToLower(v); l {
			case "debug", "info", "warn", "error":
				c.LogLevel = l
			case "verbose":
				c.LogLevel = "debug"
			case "notice":
				c.LogLevel = "info"
			case "warning":
				c.LogLevel = "warn"
			default:
				return fmt.Errorf("argument(s) must be one of the following: debug, info, warn, error")
			}
			return nil
		}},
	{name: "ttl-interval", help: "how often expired records are swept",
		get: func(c *Config) string { return c.TTLInterval.String() },
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("argument must be a positive duration such as 1s or 100ms")
			}
			c.TTLInterval = d
			return nil
		}},
	{name: "appendonly", help: "yes|no: keep an append-only file", runtime: true,
		get: func(c *Config) string { return yesNo(c.AppendOnly) },
		set: func(c *Config, v string) (err error) { c.AppendOnly, err = parseYesNo(v); return err }},
	{name: "appendfsync", help: "always|everysec|no", runtime: true,
		get: func(c *Config) string { return c.AppendFsync },
		set: func(c *Config, v string) error {
			switch l := strings.ToLower(v); l {
			case "always", "everysec", "no":
				c.AppendFsync = l
				return nil
			}
			return fmt.Errorf("argument(s) must be one of the following: always, everysec, no")
		}},
	{name: "auto-aof-rewrite-percentage", help: "rewrite when the data files (snapshot and append-only files) have grown by this percentage since the last start-up or rewrite (0: never), as Redis 7", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.AutoAOFRewritePercentage, 10) },
		set: func(c *Config, v string) (err error) {
			c.AutoAOFRewritePercentage, err = parseRange(v, 0, math.MaxInt32)
			return err
		}},
	{name: "auto-aof-rewrite-min-size", help: "and when they are past this size", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.AutoAOFRewriteMinSize, 10) },
		set: func(c *Config, v string) (err error) { c.AutoAOFRewriteMinSize, err = parseMemory(v); return err }},
	{name: "load-huge-pages", help: "yes|no: lay the data loaded at start-up (or from a Raft snapshot) on transparent huge pages where the system gives them on request (madvise)",
		get: func(c *Config) string { return yesNo(c.LoadHugePages) },
		set: func(c *Config, v string) (err error) { c.LoadHugePages, err = parseYesNo(v); return err }},
	{name: "save", help: `Redis's save points, "<seconds> <changes> …": a snapshot (and a new append-only file) when that many changes were made in that time since the last one (empty: none)`, runtime: true,
		get: func(c *Config) string { return c.Save },
		set: func(c *Config, v string) error {
			f := strings.Fields(v)
			if len(f)%2 != 0 {
				return errInvalidSave
			}
			for _, x := range f {
				if n, err := strconv.ParseInt(x, 10, 64); err != nil || n < 0 {
					return errInvalidSave
				}
			}
			c.Save = strings.Join(f, " ")
			return nil
		}},
	{name: "cluster-id", help: "replication: the cluster's name, which Sentinel clients ask for (docs/replication.md)",
		get: func(c *Config) string { return c.ClusterID },
		set: func(c *Config, v string) error { c.ClusterID = v; return nil }},
	{name: "node-id", help: "replication: this node's name, unique in the cluster and kept across restarts",
		get: func(c *Config) string { return c.NodeID },
		set: func(c *Config, v string) error { c.NodeID = v; return nil }},
	{name: "raft-addr", help: "replication: host:port of this node's Raft transport (empty: a single node, no replication)",
		get: func(c *Config) string { return c.RaftAddr },
		set: func(c *Config, v string) error { c.RaftAddr = v; return nil }},
	{name: "bootstrap", help: "replication: start a new cluster with this node as its first member", boolFlag: true,
		get: func(c *Config) string { return yesNo(c.Bootstrap) },
		set: func(c *Config, v string) (err error) { c.Bootstrap, err = parseYesNo(v); return err }},
	{name: "join", help: "replication: host:port of a member's client port, to join its cluster through",
		get: func(c *Config) string { return c.Join },
		set: func(c *Config, v string) error { c.Join = v; return nil }},
	{name: "raft-snapshot-entries", help: "replication: log entries between Raft snapshots (0: 8192)",
		get: func(c *Config) string { return strconv.FormatInt(c.RaftSnapshotEvery, 10) },
		set: func(c *Config, v string) (err error) {
			c.RaftSnapshotEvery, err = parseRange(v, 0, math.MaxInt32)
			return err
		}},
	{name: "cluster-timeout", help: "replication: Raft's heartbeat and election timeout; a leader that dies is replaced after about twice this",
		get: func(c *Config) string { return c.ClusterTimeout.String() },
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 10*time.Millisecond {
				return fmt.Errorf("argument must be a duration of 10ms or more, such as 500ms")
			}
			c.ClusterTimeout = d
			return nil
		}},
	{name: "hz", help: "accepted for Redis tools (1 to 500); bucketd's timers do not follow it (--ttl-interval sets the expiry sweep)", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.Hz, 10) },
		set: func(c *Config, v string) (err error) {
			n, err := parseInt(v)
			c.Hz = min(max(n, 1), 500) // Redis clamps it
			return err
		}},
	{name: "enable-debug-command", help: "yes|no: allow DEBUG",
		get: func(c *Config) string { return yesNo(c.EnableDebug) },
		set: func(c *Config, v string) (err error) { c.EnableDebug, err = parseYesNo(v); return err }},
	{name: "maxclients", help: "maximum number of connected clients", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.MaxClients, 10) },
		set: func(c *Config, v string) (err error) {
			c.MaxClients, err = parseRange(v, 1, 4294967295)
			return err
		}},
	{name: "proto-max-bulk-len", help: "largest bulk string a client may send", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.ProtoMaxBulkLen, 10) },
		set: func(c *Config, v string) (err error) { c.ProtoMaxBulkLen, err = parseMemoryMin(v); return err }},
	{name: "client-query-buffer-limit", help: "largest pending command a client may send", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.QueryBufferLimit, 10) },
		set: func(c *Config, v string) (err error) { c.QueryBufferLimit, err = parseMemoryMin(v); return err }},
	{name: "client-output-buffer-limit", help: `output limits by class: "<normal|replica|pubsub> <hard> <soft> <seconds> …"`, runtime: true,
		get: func(c *Config) string {
			var parts []string
			for i, name := range []string{"normal", "slave", "pubsub"} {
				l := c.OutputLimits[i]
				parts = append(parts, fmt.Sprintf("%s %d %d %d", name, l.Hard, l.Soft, int64(l.SoftFor/time.Second)))
			}
			return strings.Join(parts, " ")
		},
		set: func(c *Config, v string) (err error) {
			c.OutputLimits, err = parseOutputLimits(v, c.OutputLimits)
			return err
		}},
	{name: "slowlog-log-slower-than", help: "microseconds; slower commands enter the slow log (-1: off)", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.SlowlogSlowerThan, 10) },
		set: func(c *Config, v string) (err error) { c.SlowlogSlowerThan, err = parseInt(v); return err }},
	{name: "slowlog-max-len", help: "slow log entries kept", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.SlowlogMaxLen, 10) },
		set: func(c *Config, v string) (err error) {
			c.SlowlogMaxLen, err = parseRange(v, 0, math.MaxInt64)
			return err
		}},
	{name: "read-time-limit", help: "milliseconds a read may scan records under a bucket's lock before it fails with TIMEOUT (0: no limit)", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.ReadTimeLimit, 10) },
		set: func(c *Config, v string) (err error) {
			c.ReadTimeLimit, err = parseRange(v, 0, math.MaxInt64/int64(time.Millisecond))
			return err
		}},
	{name: "busy-reply-threshold", help: "milliseconds a script runs before commands on its buckets get BUSY instead of waiting", runtime: true,
		get: getBusyThreshold, set: setBusyThreshold},
	{name: "lua-time-limit", help: "Redis's older name of busy-reply-threshold", runtime: true,
		get: getBusyThreshold, set: setBusyThreshold},
	{name: "query-time-limit", help: "milliseconds one run of a function query (QUERY.DEFINE … LUA|FUNCTION) may take before it is stopped and fails (0: no limit)", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.QueryTimeLimit, 10) },
		set: func(c *Config, v string) (err error) {
			c.QueryTimeLimit, err = parseRange(v, 0, math.MaxInt64/int64(time.Millisecond))
			return err
		}},
	{name: "script-max-memory", help: "bytes the live heap may grow by while scripts run before they are stopped and rolled back (0: no limit)", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.ScriptMaxMemory, 10) },
		set: func(c *Config, v string) (err error) { c.ScriptMaxMemory, err = parseMemory(v); return err }},
	{name: "gc-percent", help: "growth of the heap over the live heap, in percent, that starts a garbage collection (Go's GOGC, 10 to 10000): higher spends less CPU collecting and more memory between collections", runtime: true,
		get: func(c *Config) string { return strconv.FormatInt(c.GCPercent, 10) },
		set: func(c *Config, v string) (err error) { c.GCPercent, err = parseRange(v, 10, 10000); return err }},
	{name: "notify-keyspace-events", help: "keyspace notifications to send, Redis's class letters (e.g. KEA; empty: none)", runtime: true,
		get: func(c *Config) string { return c.NotifyKeyspaceEvents.String() },
		set: func(c *Config, v string) (err error) {
			c.NotifyKeyspaceEvents, err = live.ParseNotifyFlags(v)
			return err
		}},
	{name: "metrics-addr", help: "serve Prometheus metrics on this address (e.g. 127.0.0.1:9121); empty: off",
		get: func(c *Config) string { return c.MetricsAddr },
		set: func(c *Config, v string) error { c.MetricsAddr = v; return nil }},
	{name: "threads", help: "CPUs running bucketd's code at once: a number, 0 (Go's default: the CPUs the process may use), or auto (follow the load)",
		get: func(c *Config) string {
			if c.Threads == ThreadsAuto {
				return "auto"
			}
			return strconv.Itoa(c.Threads)
		},
		set: func(c *Config, v string) error {
			if strings.EqualFold(v, "auto") {
				c.Threads = ThreadsAuto
				return nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("argument must be auto, or 0 (Go's default) or more")
			}
			c.Threads = n
			return nil
		}},
}

// RegisterFlags defines a flag on fs for every setting that has one,
// writing into cfg, whose values are the defaults --help shows.
func RegisterFlags(fs *flag.FlagSet, cfg *Config) {
	for i := range settings {
		if st := &settings[i]; !st.noFlag {
			fs.Var(flagValue{st, cfg}, st.name, st.help)
		}
	}
}

// flagValue is a setting seen as a flag.Value.
type flagValue struct {
	st  *setting
	cfg *Config
}

func (f flagValue) String() string {
	if f.cfg == nil {
		return "" // the zero value, which flag uses to tell defaults apart
	}
	return f.st.get(f.cfg)
}

func (f flagValue) Set(v string) error { return f.st.set(f.cfg, v) }

// IsBoolFlag lets a yes/no flag be given alone (flag.boolFlag).
func (f flagValue) IsBoolFlag() bool { return f.st.boolFlag }

func findSetting(name string) *setting {
	for i := range settings {
		if settings[i].name == name {
			return &settings[i]
		}
	}
	return nil
}

func cmdConfigGet(c *Ctx) {
	cfg := c.S.Config()
	seen := map[string]bool{}
	var out []string
	for _, a := range c.Args[2:] {
		pat := strings.ToLower(string(a))
		for i := range settings {
			p := &settings[i]
			if !seen[p.name] && glob.Match(pat, p.name) {
				seen[p.name] = true
				out = append(out, p.name, p.get(&cfg))
			}
		}
	}
	c.W.Map(len(out) / 2)
	for _, s := range out {
		c.W.BulkString(s)
	}
}

func cmdConfigSet(c *Ctx) {
	if len(c.Args)%2 != 0 {
		c.W.Error("ERR wrong number of arguments for 'config|set' command")
		return
	}
	c.S.cfgMu.Lock()
	next := c.S.cfg
	seen := map[string]bool{}
	for i := 2; i < len(c.Args); i += 2 {
		name := strings.ToLower(c.Arg(i))
		p := findSetting(name)
		if p != nil && !p.runtime && p.get != nil && p.get(&next) == c.Arg(i+1) {
			continue // set to the value it has: nothing changes, as Redis accepts it
		}
		if p == nil || !p.runtime {
			c.S.cfgMu.Unlock()
			if p != nil {
				c.W.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - can't set immutable config")
				return
			}
			c.W.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + abbreviate(c.Args[i]) + "'")
			return
		}
		if seen[name] {
			c.S.cfgMu.Unlock()
			c.W.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - duplicate parameter")
			return
		}
		seen[name] = true
		if err := p.set(&next, c.Arg(i+1)); err != nil {
			c.S.cfgMu.Unlock()
			c.W.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + err.Error())
			return
		}
	}
	if next.AppendOnly != c.S.cfg.AppendOnly {
		// Turned on or off: that can fail (the directory, the disk), and
		// then nothing changes.
		if err := c.S.setAppendOnly(next); err != nil {
			c.S.cfgMu.Unlock()
			c.W.Error("ERR CONFIG SET failed (possibly related to argument 'appendonly') - " + oneLine(err.Error()))
			return
		}
	}
	c.S.cfg = next
	c.S.cfgMu.Unlock()
	c.S.applyNetConfig()
	c.S.applyLogLevel()
	c.W.OK()
}

// errInvalidSave is Redis's text for a bad save setting.
//
//lint:ignore ST1005 Redis's text, sent as it is
var errInvalidSave = errors.New("Invalid save parameters")

// savePoints parses a canonical save setting.
func savePoints(v string) []snapshot.SavePoint {
	f := strings.Fields(v)
	var out []snapshot.SavePoint
	for i := 0; i+1 < len(f); i += 2 {
		sec, _ := strconv.ParseInt(f[i], 10, 64)
		ch, _ := strconv.ParseInt(f[i+1], 10, 64)
		out = append(out, snapshot.SavePoint{Seconds: sec, Changes: ch})
	}
	return out
}

func cmdConfigResetStat(c *Ctx) {
	c.S.resetStats()
	c.W.OK()
}

func cmdConfigRewrite(c *Ctx) {
	c.W.Error("ERR The server is running without a config file")
}

func cmdConfigHelp(c *Ctx) {
	lines := []string{
		"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
		"RESETSTAT", "    Reset statistics reported by the INFO command.",
		"REWRITE", "    Rewrite the configuration file (bucketd has none).",
		"HELP", "    Print this help.",
	}
	c.helpLines(lines)
}
