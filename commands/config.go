package commands

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"bucketd/pubsub/glob"
	"bucketd/resp"
)

// param is one CONFIG GET/SET parameter.
type param struct {
	name string
	get  func(cfg *Config) string
	// set changes cfg; nil means the parameter is read-only at run time.
	set func(cfg *Config, v string) error
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
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, fmt.Errorf("argument must be 'yes' or 'no'")
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

// ParseOutputLimit parses a client-output-buffer-limit value: "pubsub 32mb
// 8mb 60" (the class may be omitted for the pub/sub class). Other classes
// are accepted and ignored, as bucketd bounds only pub/sub clients.
func ParseOutputLimit(v string, cur resp.OutputLimit) (resp.OutputLimit, error) {
	f := strings.Fields(v)
	if len(f) == 3 {
		f = append([]string{"pubsub"}, f...)
	}
	if len(f) == 0 || len(f)%4 != 0 {
		return cur, fmt.Errorf("wrong number of arguments")
	}
	out := cur
	for i := 0; i < len(f); i += 4 {
		class := strings.ToLower(f[i])
		if class != "normal" && class != "pubsub" && class != "replica" && class != "slave" {
			return cur, fmt.Errorf("invalid client class %q", f[i])
		}
		hard, err1 := parseMemory(f[i+1])
		soft, err2 := parseMemory(f[i+2])
		secs, err3 := strconv.ParseInt(f[i+3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || secs < 0 {
			return cur, fmt.Errorf("invalid limits")
		}
		if class == "pubsub" {
			out = resp.OutputLimit{Hard: hard, Soft: soft, SoftSeconds: time.Duration(secs) * time.Second}
		}
	}
	return out, nil
}

var params = []param{
	{name: "port", get: func(c *Config) string { return strconv.Itoa(c.Port) }},
	{name: "bind", get: func(c *Config) string { return c.Bind }},
	{name: "dir", get: func(c *Config) string { return c.Dir }},
	{name: "databases", get: func(c *Config) string { return "1" }},
	{name: "requirepass", get: func(c *Config) string { return c.RequirePass },
		set: func(c *Config, v string) error { c.RequirePass = v; return nil }},
	{name: "loglevel", get: func(c *Config) string { return c.LogLevel },
		set: func(c *Config, v string) error {
			switch strings.ToLower(v) {
			case "debug", "info", "warn", "warning", "error", "verbose", "notice":
				c.LogLevel = strings.ToLower(v)
				return nil
			}
			return fmt.Errorf("argument(s) must be one of the following: debug, info, warn, error")
		}},
	{name: "ttl-interval", get: func(c *Config) string { return c.TTLInterval.String() }},
	{name: "appendonly", get: func(c *Config) string { return yesNo(c.AppendOnly) }},
	{name: "appendfsync", get: func(c *Config) string { return c.AppendFsync }},
	{name: "save", get: func(c *Config) string { return "" }},
	{name: "enable-debug-command", get: func(c *Config) string { return yesNo(c.EnableDebug) }},
	{name: "maxclients", get: func(c *Config) string { return strconv.FormatInt(c.MaxClients, 10) },
		set: func(c *Config, v string) error {
			n, err := parseInt(v)
			if err == nil && n < 1 {
				err = fmt.Errorf("argument must be between 1 and 4294967295 inclusive")
			}
			if err == nil {
				c.MaxClients = n
			}
			return err
		}},
	{name: "proto-max-bulk-len", get: func(c *Config) string { return strconv.FormatInt(c.ProtoMaxBulkLen, 10) },
		set: func(c *Config, v string) error {
			n, err := parseMemory(v)
			if err == nil && n < 1<<20 {
				err = fmt.Errorf("argument must be a memory value bigger than 1mb")
			}
			if err == nil {
				c.ProtoMaxBulkLen = n
			}
			return err
		}},
	{name: "client-query-buffer-limit", get: func(c *Config) string { return strconv.FormatInt(c.QueryBufferLimit, 10) },
		set: func(c *Config, v string) error {
			n, err := parseMemory(v)
			if err == nil && n < 1<<20 {
				err = fmt.Errorf("argument must be a memory value bigger than 1mb")
			}
			if err == nil {
				c.QueryBufferLimit = n
			}
			return err
		}},
	{name: "client-output-buffer-limit", get: func(c *Config) string {
		l := c.PubSubLimit
		return fmt.Sprintf("normal 0 0 0 slave 268435456 67108864 60 pubsub %d %d %d", l.Hard, l.Soft, int64(l.SoftSeconds/time.Second))
	}, set: func(c *Config, v string) error {
		l, err := ParseOutputLimit(v, c.PubSubLimit)
		if err == nil {
			c.PubSubLimit = l
		}
		return err
	}},
	{name: "slowlog-log-slower-than", get: func(c *Config) string { return strconv.FormatInt(c.SlowlogSlowerThan, 10) },
		set: func(c *Config, v string) error {
			n, err := parseInt(v)
			if err == nil {
				c.SlowlogSlowerThan = n
			}
			return err
		}},
	{name: "slowlog-max-len", get: func(c *Config) string { return strconv.FormatInt(c.SlowlogMaxLen, 10) },
		set: func(c *Config, v string) error {
			n, err := parseInt(v)
			if err == nil && n < 0 {
				err = fmt.Errorf("argument must be between 0 and 9223372036854775807 inclusive")
			}
			if err == nil {
				c.SlowlogMaxLen = n
			}
			return err
		}},
}

func findParam(name string) *param {
	for i := range params {
		if params[i].name == name {
			return &params[i]
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
		for i := range params {
			p := &params[i]
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
		p := findParam(name)
		if p == nil || p.set == nil {
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
	c.S.cfg = next
	c.S.cfgMu.Unlock()
	c.S.applyNetConfig()
	c.S.applyLogLevel()
	c.W.OK()
}

func cmdConfigResetStat(c *Ctx) {
	c.S.stats.commands.Store(0)
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
	c.W.Array(len(lines))
	for _, l := range lines {
		c.W.Simple(l)
	}
}
