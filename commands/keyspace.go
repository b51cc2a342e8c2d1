package commands

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"bucketd/engine"
	"bucketd/pubsub/glob"
)

// The key space (docs/commands.md, "Key space"): Redis's key commands over records,
// each record being the key <bucket>:<key>. A name with no colon, of a
// bucket that does not exist, or whose key does not fit the bucket's key
// type names no record: a missing key, as in Redis, not an error.

// recordType is what TYPE answers for a record, and SCAN's TYPE matches.
const recordType = "record"

func keyspaceCommands() []*Command {
	const g = "keyspace"
	k := FlagKeys | FlagScript
	one := func(name string, arity int, flags Flags, since, syntax, summary string, run func(*Ctx)) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 1, Step: 1, Group: g, Since: since,
			Syntax: syntax, Summary: summary, Run: run}
	}
	many := func(name string, flags Flags, since, summary string, run func(*Ctx)) *Command {
		return &Command{Name: name, Arity: -2, Flags: flags, FirstKey: 1, LastKey: -1, Step: 1, Group: g, Since: since,
			Syntax: "key [key ...]", Summary: summary, Run: run}
	}
	expireSyntax := func(what string) string { return "key " + what + " [NX|XX|GT|LT]" }
	return []*Command{
		{Name: "scan", Arity: -2, Flags: FlagReadOnly, Group: g, Since: "2.8.0", Syntax: "cursor [MATCH pattern] [COUNT count] [TYPE type]",
			Summary: "Iterates over the records' key names.", Run: cmdScan},
		{Name: "keys", Arity: 2, Flags: FlagReadOnly, Group: g, Since: "1.0.0", Syntax: "pattern",
			Summary: "Returns every record key name that matches a pattern.", Run: cmdKeys},
		{Name: "randomkey", Arity: 1, Flags: FlagReadOnly, Group: g, Since: "1.0.0",
			Summary: "Returns a random record's key name.", Run: cmdRandomKey},
		many("exists", FlagReadOnly|FlagFast|k, "1.0.0", "Counts the named records that exist.", cmdExists),
		many("touch", FlagReadOnly|FlagFast|k, "3.2.1", "Counts the named records that exist.", cmdExists),
		many("del", FlagWrite|k, "1.0.0", "Deletes records, all in one commit.", cmdDel),
		many("unlink", FlagWrite|FlagFast|k, "4.0.0", "Deletes records, all in one commit.", cmdDel),
		one("type", 2, FlagReadOnly|FlagFast|k, "1.0.0", "key", "Returns \"record\" for a record, \"none\" for a missing key.", cmdType),
		one("get", 2, FlagReadOnly|FlagFast|k, "1.0.0", "key", "Returns a record's JSON.", cmdKeyGet),
		one("ttl", 2, FlagReadOnly|FlagFast|k, "1.0.0", "key", "Returns a record's time to live in seconds.", cmdKeyTTL(1000, false)),
		one("pttl", 2, FlagReadOnly|FlagFast|k, "2.6.0", "key", "Returns a record's time to live in milliseconds.", cmdKeyTTL(1, false)),
		one("expiretime", 2, FlagReadOnly|FlagFast|k, "7.0.0", "key", "Returns a record's expiry as a Unix time in seconds.", cmdKeyTTL(1000, true)),
		one("pexpiretime", 2, FlagReadOnly|FlagFast|k, "7.0.0", "key", "Returns a record's expiry as a Unix time in milliseconds.", cmdKeyTTL(1, true)),
		one("expire", -3, FlagWrite|FlagFast|k, "1.0.0", expireSyntax("seconds"), "Sets a record's expiry in seconds from now.", cmdKeyExpire(1000, false)),
		one("pexpire", -3, FlagWrite|FlagFast|k, "2.6.0", expireSyntax("milliseconds"), "Sets a record's expiry in milliseconds from now.", cmdKeyExpire(1, false)),
		one("expireat", -3, FlagWrite|FlagFast|k, "1.2.0", expireSyntax("unix-time-seconds"), "Sets a record's expiry as a Unix time in seconds.", cmdKeyExpire(1000, true)),
		one("pexpireat", -3, FlagWrite|FlagFast|k, "2.6.0", expireSyntax("unix-time-milliseconds"), "Sets a record's expiry as a Unix time in milliseconds.", cmdKeyExpire(1, true)),
		one("persist", 2, FlagWrite|FlagFast|k, "2.2.0", "key", "Removes a record's expiry.", cmdKeyPersist),
		{Name: "object", Arity: -2, Group: g, Since: "2.2.3", Summary: "A container for object introspection commands.", Run: cmdObjectHelp, Subs: map[string]*Command{
			"encoding": {Arity: 3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Summary: "Returns \"json\" for a record.", Run: cmdObjectEncoding},
			"freq":     {Arity: 3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Summary: "Fails: no LFU policy tracks access frequency.", Run: cmdObjectFreq},
			"idletime": {Arity: 3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Summary: "Returns the seconds since a record was last written.", Run: cmdObjectIdletime},
			"refcount": {Arity: 3, Flags: FlagReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Summary: "Returns 1 for a record.", Run: cmdObjectRefcount},
			"help":     {Arity: 2, Summary: "Returns helpful text about the different subcommands.", Run: cmdObjectHelp},
		}},
	}
}

// missingKey reports whether err only says that a key names no record:
// its bucket does not exist, or its key does not fit the bucket's key.
func missingKey(err error) bool {
	var nb *engine.NoBucketError
	var ae *engine.ArgError
	return errors.As(err, &nb) || errors.As(err, &ae)
}

// keyRecord returns the record a key name names, or nil.
func keyRecord(c *Ctx, name []byte) (*engine.Record, error) {
	bucket, key, ok := engine.SplitKeyName(string(name))
	if !ok {
		return nil, nil
	}
	rec, err := c.S.store.Get(c.Tx, bucket, key)
	if missingKey(err) {
		return nil, nil
	}
	return rec, err
}

// keyBuckets returns the buckets named by key names, for EXEC's locks and
// a script's declared buckets.
func keyBuckets(names [][]byte) []string {
	var out []string
	for _, n := range names {
		if bucket, _, ok := engine.SplitKeyName(string(n)); ok {
			out = append(out, bucket)
		}
	}
	return out
}

func cmdExists(c *Ctx) {
	n := 0
	for _, a := range c.Args[1:] {
		rec, err := keyRecord(c, a)
		if err != nil {
			c.Err(err)
			return
		}
		if rec != nil {
			n++
		}
	}
	c.W.Int(int64(n))
}

func cmdType(c *Ctx) {
	rec, err := keyRecord(c, c.Args[1])
	switch {
	case err != nil:
		c.Err(err)
	case rec == nil:
		c.W.Simple("none")
	default:
		c.W.Simple(recordType)
	}
}

func cmdKeyGet(c *Ctx) {
	rec, err := keyRecord(c, c.Args[1])
	if err != nil {
		c.Err(err)
		return
	}
	writeRecord(c, rec)
}

// cmdDel is DEL and UNLINK: the named records go in one commit (inside
// the caller's transaction, if any), through the ordinary delete: events,
// queries and the append-only file see each.
func cmdDel(c *Ctx) {
	type target struct{ bucket, key string }
	var targets []target
	for _, a := range c.Args[1:] {
		if bucket, key, ok := engine.SplitKeyName(string(a)); ok {
			targets = append(targets, target{bucket, key})
		}
	}
	t, own := c.Tx, (*engine.Tx)(nil)
	if t == nil && len(targets) > 1 {
		var err error
		if own, err = c.S.store.Begin(keyBuckets(c.Args[1:])); err != nil {
			c.Err(err)
			return
		}
		own.SetOrigin(c.Conn.ID())
		t = own
	}
	n := 0
	for _, x := range targets {
		found, err := c.S.store.Delete(t, x.bucket, x.key, -1)
		if err != nil && !missingKey(err) {
			if own != nil {
				own.Rollback()
			}
			c.Err(err)
			return
		}
		if found {
			n++
		}
	}
	if own != nil {
		if err := own.Commit(); err != nil {
			c.Err(err)
			return
		}
	}
	c.W.Int(int64(n))
}

// cmdKeyTTL is TTL and PTTL (at false) and EXPIRETIME and PEXPIRETIME (at
// true), in seconds (unit 1000) or milliseconds: -2 for a missing key, -1
// for a record without an expiry.
func cmdKeyTTL(unit int64, at bool) func(*Ctx) {
	return func(c *Ctx) {
		rec, err := keyRecord(c, c.Args[1])
		writeTTL(c, rec, err, unit, at)
	}
}

// cmdKeyExpire is EXPIRE and PEXPIRE (at false: from now) and EXPIREAT and
// PEXPIREAT (a Unix time), in seconds (unit 1000) or milliseconds, with
// Redis's checks in Redis's order: the options, then the number. A time in
// the past deletes the record, as in Redis.
func cmdKeyExpire(unit int64, at bool) func(*Ctx) {
	return func(c *Ctx) {
		cond, ok := expireCond(c, 3)
		if !ok {
			return
		}
		n, err := strconv.ParseInt(c.Arg(2), 10, 64)
		if err != nil {
			c.ErrMsg("value is not an integer or out of range")
			return
		}
		const maxMillis = 1 << 53
		if n > maxMillis/unit || n < -maxMillis/unit {
			c.ErrMsg("invalid expire time in '" + strings.ToLower(c.Arg(0)) + "' command")
			return
		}
		if at {
			expireKey(c, max(n*unit, 1), false, cond) // in the past: the record goes
		} else {
			expireKey(c, n*unit, true, cond)
		}
	}
}

func cmdKeyPersist(c *Ctx) { expireKey(c, 0, false, engine.ExpireAlways) }

// expireKey sets the expiry of the record named by argument 1 to when (0:
// none; in the past: it goes), counted from the write's clock when fromNow
// (engine.Store.ExpireIn), and replies 1 when it did, 0 otherwise.
func expireKey(c *Ctx, when int64, fromNow bool, cond engine.ExpireCond) {
	bucket, key, ok := engine.SplitKeyName(c.Arg(1))
	if !ok {
		c.W.Int(0)
		return
	}
	expire := c.S.store.Expire
	if fromNow {
		expire = c.S.store.ExpireIn
	}
	done, err := expire(c.Tx, bucket, key, when, cond)
	switch {
	case missingKey(err):
		c.W.Int(0)
	case err != nil:
		c.Err(err)
	default:
		c.W.Int(int64(boolInt(done)))
	}
}

// bucketFilter returns what a key pattern says of the buckets it can
// match, from its literal prefix: a prefix with a colon names one bucket,
// one without starts the bucket's name. nil: any bucket.
func bucketFilter(pattern string) func(string) bool {
	lit := pattern
	if i := strings.IndexAny(pattern, `*?[\`); i >= 0 {
		lit = pattern[:i]
	}
	if bucket, _, ok := strings.Cut(lit, ":"); ok {
		return func(name string) bool { return name == bucket }
	}
	if lit == "" {
		return nil
	}
	return func(name string) bool { return strings.HasPrefix(name, lit) }
}

// cmdScan is SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. COUNT
// is the number of records looked at (10 by default), as Redis counts the
// slots it visits: a call may return fewer keys, or none, before the scan
// ends with cursor 0.
func cmdScan(c *Ctx) {
	cursor, err := strconv.ParseUint(c.Arg(1), 10, 64)
	if err != nil {
		c.ErrMsg("invalid cursor")
		return
	}
	count, pattern, typ := int64(10), "", ""
	for i := 2; i < len(c.Args); i += 2 {
		opt := strings.ToLower(c.Arg(i))
		if i+1 >= len(c.Args) {
			c.ErrMsg("syntax error")
			return
		}
		switch opt {
		case "match":
			pattern = c.Arg(i + 1)
		case "count":
			n, err := strconv.ParseInt(c.Arg(i+1), 10, 64)
			if err != nil {
				c.ErrMsg("value is not an integer or out of range")
				return
			}
			if n < 1 {
				c.ErrMsg("syntax error")
				return
			}
			count = min(n, math.MaxInt32)
		case "type":
			typ = strings.ToLower(c.Arg(i + 1))
		default:
			c.ErrMsg("syntax error")
			return
		}
	}
	var keys [][]byte
	next := uint64(0)
	if typ == "" || typ == recordType {
		var want func(string) bool
		if pattern != "" {
			want = bucketFilter(pattern)
		}
		next, err = c.S.store.Scan(cursor, int(count), want, func(bucket string, rec *engine.Record) {
			name := engine.AppendKeyName(nil, bucket, rec.Key())
			if pattern == "" || glob.Match(pattern, string(name)) {
				keys = append(keys, name)
			}
		})
		if err != nil {
			c.Err(err)
			return
		}
	}
	c.W.Array(2)
	c.W.BulkString(strconv.FormatUint(next, 10))
	c.W.Array(len(keys))
	for _, k := range keys {
		c.W.Bulk(k)
	}
}

func cmdKeys(c *Ctx) {
	pattern := c.Arg(1)
	var keys [][]byte
	err := c.S.store.Each(bucketFilter(pattern), func(bucket string, rec *engine.Record) bool {
		name := engine.AppendKeyName(nil, bucket, rec.Key())
		if glob.Match(pattern, string(name)) {
			keys = append(keys, name)
		}
		return true
	})
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Array(len(keys))
	for _, k := range keys {
		c.W.Bulk(k)
	}
}

func cmdRandomKey(c *Ctx) {
	bucket, rec, err := c.S.store.Random()
	switch {
	case err != nil:
		c.Err(err)
	case rec == nil:
		c.W.Null()
	default:
		c.W.Bulk(engine.AppendKeyName(nil, bucket, rec.Key()))
	}
}

// objectRecord returns the record OBJECT's key argument names, replying
// null when there is none.
func objectRecord(c *Ctx) *engine.Record {
	rec, err := keyRecord(c, c.Args[2])
	switch {
	case err != nil:
		c.Err(err)
		return nil
	case rec == nil:
		c.W.Null()
	}
	return rec
}

func cmdObjectEncoding(c *Ctx) {
	if objectRecord(c) != nil {
		c.W.BulkString("json")
	}
}

func cmdObjectFreq(c *Ctx) {
	if objectRecord(c) != nil {
		c.ErrMsg("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
	}
}

// cmdObjectIdletime answers the seconds since the record was last written:
// bucketd does not track reads.
func cmdObjectIdletime(c *Ctx) {
	if rec := objectRecord(c); rec != nil {
		c.W.Int(max(c.S.store.Now()-rec.UpdatedAt, 0) / 1000)
	}
}

func cmdObjectRefcount(c *Ctx) {
	if objectRecord(c) != nil {
		c.W.Int(1)
	}
}

func cmdObjectHelp(c *Ctx) {
	c.helpLines([]string{
		"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"ENCODING <key>", "    Return the kind of internal representation used in order to store the value", "    associated with a <key>: \"json\" for a record.",
		"FREQ <key>", "    Fails: bucketd tracks no access frequency (no LFU policy).",
		"IDLETIME <key>", "    Return the idle time of the <key>: the seconds since the record was last written.",
		"REFCOUNT <key>", "    Return the reference count of the object stored at <key>: 1 for a record.",
		"HELP", "    Print this help.",
	})
}

// cmdMemoryUsage is MEMORY USAGE key [SAMPLES count]: the record's
// estimated heap bytes, or null.
func cmdMemoryUsage(c *Ctx) {
	switch len(c.Args) {
	case 3:
	case 5:
		if !strings.EqualFold(c.Arg(3), "samples") {
			c.ErrMsg("syntax error")
			return
		}
		if _, err := strconv.ParseInt(c.Arg(4), 10, 64); err != nil {
			c.ErrMsg("value is not an integer or out of range")
			return
		}
	default:
		c.ErrMsg("syntax error")
		return
	}
	rec, err := keyRecord(c, c.Args[2])
	switch {
	case err != nil:
		c.Err(err)
	case rec == nil:
		c.W.Null()
	default:
		c.W.Int(rec.MemSize())
	}
}

// redisHints name, for the commands of Redis's data types that a user
// tries first, the bucketd commands that do the job; an unknown command's
// error carries its hint (unknownCommand).
var redisHints = func() map[string]string {
	m := map[string]string{}
	for _, h := range []struct{ names, hint string }{
		{"set setnx setex psetex mset msetnx getset getex getdel append setrange",
			"bucketd keeps JSON records in buckets: B.INSERT or B.UPSERT writes one, GET bucket:key or B.GET reads it"},
		{"incr incrby decr decrby incrbyfloat",
			`B.UPDATE bucket key '{"$inc":{"field":1}}' adds to a record's field`},
		{"mget", "B.MGET bucket key [key ...] reads several records of a bucket"},
		{"hset hmset hsetnx hincrby hincrbyfloat hdel",
			"a record is a JSON object: B.INSERT or B.UPSERT writes one, B.UPDATE changes some of its fields"},
		{"hget hgetall hmget hkeys hvals hexists hlen hstrlen hscan",
			"a record is a JSON object: B.GET bucket key returns its fields"},
		{"lpush rpush lpop rpop lrange llen lindex lset lrem ltrim blpop brpop",
			"a bucket is an ordered collection: B.INSERT adds a record, B.FIRST, B.LAST and B.PAGINATE read them in order"},
		{"sadd srem smembers sismember scard sinter sunion sdiff",
			"a bucket's keys are a set: B.INSERT adds, B.DELETE removes, EXISTS bucket:key tests, B.ALL lists"},
		{"zadd zrem zrange zrangebyscore zrevrange zscore zcard zrank zincrby",
			"records sorted by a number field: B.FIND with sort and limit, B.WHERE with $gt and $lt, an index on the field"},
		{"xadd xrange xread xreadgroup xlen",
			"every change of a bucket is an event: PSUBSCRIBE bucket.<name>.*"},
	} {
		for _, n := range strings.Fields(h.names) {
			m[n] = h.hint
		}
	}
	return m
}()
