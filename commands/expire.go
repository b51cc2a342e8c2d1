package commands

import (
	"strconv"
	"strings"

	"bucketd/engine"
	"bucketd/engine/schema"
)

// A record's expiry, Redis-style (docs/commands.md, "Expiry of a record"):
// the EX, PX, EXAT, PXAT and TTL options of B.INSERT and B.UPSERT, and
// B.EXPIRE, B.PEXPIRE, B.TTL, B.PTTL, B.PERSIST.

// expiryArgs parses the expiry option of B.INSERT and B.UPSERT, the
// arguments from i on: none, or one of TTL <duration with a unit>,
// EX <seconds>, PX <ms>, EXAT <unix seconds>, PXAT <unix ms>, with Redis's
// SET texts for bad values.
func expiryArgs(c *Ctx, i int) (engine.InsertOptions, bool) {
	var opts engine.InsertOptions
	switch n := len(c.Args) - i; {
	case n == 0:
		return opts, true
	case n != 2:
		c.ErrMsg("syntax error")
		return opts, false
	}
	opt, val := strings.ToUpper(c.Arg(i)), c.Arg(i+1)
	switch opt {
	case "TTL", "EX", "PX", "EXAT", "PXAT":
	default:
		c.ErrMsg("syntax error")
		return opts, false
	}
	if opt == "TTL" {
		if _, err := strconv.ParseFloat(val, 64); err == nil {
			c.ErrMsg("TTL needs a unit, as in \"10s\", \"5m\", \"1h\" or \"7d\" (or give EX seconds or PX milliseconds)")
			return opts, false
		}
		ttl, err := schema.ParseDurationArg(val)
		if err != nil {
			c.ErrMsg("invalid TTL " + strconv.Quote(val) + ": expected a positive duration with a unit, as in \"30s\", \"5m\", \"1h\" or \"7d\"")
			return opts, false
		}
		opts.TTL = ttl
		return opts, true
	}
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil {
		c.ErrMsg("value is not an integer or out of range")
		return opts, false
	}
	ms, ok := expiryMillis(opt, n)
	if !ok {
		c.ErrMsg("invalid expire time in '" + strings.ToLower(c.Arg(0)) + "' command")
		return opts, false
	}
	if opt == "EX" || opt == "PX" {
		opts.TTL = ms
	} else {
		opts.ExpiresAt = ms
	}
	return opts, true
}

// expiryMillis converts the value of EX, PX (a lifetime) or EXAT, PXAT (a
// Unix time) to milliseconds; it must be positive and keep the time an
// exact JSON number.
func expiryMillis(opt string, n int64) (int64, bool) {
	const maxMillis = 1 << 53
	unit := int64(1)
	switch opt {
	case "EX", "EXAT":
		unit = 1000
	case "PX", "PXAT":
	default:
		return 0, false
	}
	if n <= 0 || n > maxMillis/unit {
		return 0, false
	}
	return n * unit, true
}

// expireCond parses EXPIRE's options, NX, XX, GT and LT, as Redis does:
// NX excludes the others, GT excludes LT.
func expireCond(c *Ctx, i int) (engine.ExpireCond, bool) {
	var cond engine.ExpireCond
	for _, a := range c.Args[i:] {
		switch strings.ToUpper(string(a)) {
		case "NX":
			cond |= engine.ExpireNX
		case "XX":
			cond |= engine.ExpireXX
		case "GT":
			cond |= engine.ExpireGT
		case "LT":
			cond |= engine.ExpireLT
		default:
			c.ErrMsg("Unsupported option " + string(a))
			return 0, false
		}
	}
	switch {
	case cond&engine.ExpireNX != 0 && cond != engine.ExpireNX:
		c.ErrMsg("NX and XX, GT or LT options at the same time are not compatible")
		return 0, false
	case cond&engine.ExpireGT != 0 && cond&engine.ExpireLT != 0:
		c.ErrMsg("GT and LT options at the same time are not compatible")
		return 0, false
	}
	return cond, true
}

// cmdExpire is B.EXPIRE (unit 1000: seconds) and B.PEXPIRE (unit 1: ms).
func cmdExpire(unit int64) func(*Ctx) {
	return func(c *Ctx) {
		n, err := strconv.ParseInt(c.Arg(3), 10, 64)
		if err != nil {
			c.ErrMsg("value is not an integer or out of range")
			return
		}
		cond, ok := expireCond(c, 4)
		if !ok {
			return
		}
		const maxMillis = 1 << 53
		if n > maxMillis/unit || n < -maxMillis/unit {
			c.ErrMsg("invalid expire time in '" + strings.ToLower(c.Arg(0)) + "' command")
			return
		}
		done, err := c.S.store.ExpireIn(c.Tx, c.Arg(1), c.Arg(2), n*unit, cond)
		if err != nil {
			c.Err(err)
			return
		}
		c.W.Int(int64(boolInt(done)))
	}
}

func cmdPersist(c *Ctx) {
	done, err := c.S.store.Expire(c.Tx, c.Arg(1), c.Arg(2), 0, engine.ExpireAlways)
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Int(int64(boolInt(done)))
}

// cmdTTL is B.TTL (unit 1000) and B.PTTL (unit 1).
func cmdTTL(unit int64) func(*Ctx) {
	return func(c *Ctx) {
		rec, err := c.S.store.GetBytes(c.Tx, c.Args[1], c.Args[2])
		writeTTL(c, rec, err, unit, false)
	}
}

// writeTTL answers TTL and PTTL (at false: the time left, rounded as Redis
// rounds it) or EXPIRETIME and PEXPIRETIME (the Unix time), in seconds
// (unit 1000) or milliseconds: -2 without the record, -1 without an
// expiry.
func writeTTL(c *Ctx, rec *engine.Record, err error, unit int64, at bool) {
	switch {
	case err != nil:
		c.Err(err)
	case rec == nil:
		c.W.Int(-2)
	case rec.ExpiresAt == 0:
		c.W.Int(-1)
	case at:
		c.W.Int(rec.ExpiresAt / unit)
	default:
		left := max(rec.ExpiresAt-c.S.store.Now(), 0)
		c.W.Int((left + unit/2) / unit)
	}
}
