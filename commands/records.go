package commands

import (
	"errors"
	"strconv"
	"strings"

	"bucketd/engine"
	"bucketd/engine/filter"
	"bucketd/engine/query"
	"bucketd/jsonv"
)

func recordCommands() []*Command {
	const g = "bucket"
	w := FlagWrite | FlagBucket | FlagScript
	r := FlagReadOnly | FlagBucket | FlagScript
	// The syntax comes from the argument docs (docs.go).
	cmd := func(name string, arity int, flags Flags, summary string, run func(*Ctx)) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: 1, LastKey: 1, Step: 1, Group: g, Summary: summary, Run: run}
	}
	withJSON := func(c *Command, arg int) *Command {
		c.JSONArg = arg
		return c
	}
	withRecord := func(c *Command, arg int, kind DraftKind) *Command {
		c.JSONArg, c.Draft = arg, kind
		return c
	}
	return []*Command{
		withRecord(cmd("b.insert", -3, w|FlagHold, "Inserts a record; EXISTS if its key exists.", cmdInsert), 2, DraftInsert),
		cmd("b.expire", -4, w, "Sets a record's expiry in seconds from now.", cmdExpire(1000)),
		cmd("b.pexpire", -4, w, "Sets a record's expiry in milliseconds from now.", cmdExpire(1)),
		cmd("b.persist", 3, w, "Removes a record's expiry.", cmdPersist),
		cmd("b.ttl", 3, r|FlagFast, "Returns a record's time to live in seconds.", cmdTTL(1000)),
		cmd("b.pttl", 3, r|FlagFast, "Returns a record's time to live in milliseconds.", cmdTTL(1)),
		cmd("b.insertmany", 3, w|FlagHold, "Inserts several records, all or none.", cmdInsertMany),
		cmd("b.get", 3, r|FlagTracked|FlagFast|FlagHold, "Returns the record with that key.", cmdGet),
		cmd("b.mget", -3, r|FlagTracked|FlagHold, "Returns the records with those keys.", cmdMGet),
		withJSON(cmd("b.update", -4, w|FlagHold, "Merges changes into a record.", cmdUpdate), 3),
		withRecord(cmd("b.upsert", -3, w|FlagHold, "Updates the record with the record's key, or inserts it.", cmdUpsert), 2, DraftUpsert),
		cmd("b.updatemany", 4, w, "Merges changes into every matching record, all or none.", cmdUpdateMany),
		cmd("b.delete", -3, w|FlagHold, "Deletes a record.", cmdDelete),
		cmd("b.deletemany", 3, w, "Deletes every matching record.", cmdDeleteMany),
		cmd("b.clear", 2, w, "Deletes every record of the bucket.", cmdClear),
		cmd("b.all", 2, r, "Returns every record in the bucket's order.", cmdAll),
		cmd("b.where", 3, r|FlagTracked, "Returns the matching records.", cmdWhere),
		cmd("b.findone", 3, r|FlagTracked, "Returns the first matching record.", cmdFindOne),
		cmd("b.count", -2, r|FlagTracked, "Counts the (matching) records.", cmdCount),
		cmd("b.first", 3, r, "Returns the first n records.", cmdFirst),
		cmd("b.last", 3, r, "Returns the last n records.", cmdLast),
		cmd("b.paginate", -4, r, "Returns a page of records and the next cursor.", cmdPaginate),
		cmd("b.sum", -3, r|FlagTracked, "Sums a numeric field.", cmdAggregate("sum")),
		cmd("b.avg", -3, r|FlagTracked, "Averages a numeric field.", cmdAggregate("avg")),
		cmd("b.min", -3, r|FlagTracked, "Returns the smallest value of a numeric field.", cmdAggregate("min")),
		cmd("b.max", -3, r|FlagTracked, "Returns the largest value of a numeric field.", cmdAggregate("max")),
		cmd("b.groupby", -4, r|FlagTracked, "Groups records and aggregates each group.", cmdGroupBy),
		cmd("b.find", 3, r|FlagTracked, "Runs a declarative query once.", cmdFind),
	}
}

// prepared returns what Prepare parsed for argument i, or nil. A script's
// commands have none: their arguments are the script's, and looking for
// them would drop the entries of the pipeline's later commands.
func (c *Ctx) prepared(i int) *preparedArg {
	if c.script != nil || c.Sess == nil {
		return nil
	}
	return c.Sess.takePrepared(c.Args[i])
}

// objectArg parses argument i as a JSON object.
func objectArg(c *Ctx, i int) (*jsonv.Object, bool) {
	var obj *jsonv.Object
	var err error
	if p := c.prepared(i); p != nil {
		obj, err = p.obj, p.err
	} else {
		obj, err = jsonv.ParseObject(c.Args[i])
	}
	if err != nil {
		c.Err(err)
		return nil, false
	}
	return obj, true
}

// recordArg parses argument i, a whole record for bucket argument 1, into
// a draft (engine.Store.Draft), which Prepare may have made already.
func recordArg(c *Ctx, i int) (*engine.Draft, bool) {
	if p := c.prepared(i); p != nil {
		if p.err != nil {
			c.Err(p.err)
			return nil, false
		}
		return &p.draft, true
	}
	d := new(engine.Draft)
	if err := c.S.store.Draft(d, c.Args[1], c.Args[i], c.Cmd.Draft == DraftInsert); err != nil {
		c.Err(err)
		return nil, false
	}
	return d, true
}

// filterArg parses argument i as a filter.
func filterArg(c *Ctx, i int) (*filter.Filter, bool) {
	f, err := filter.ParseJSON(c.Args[i])
	if err != nil {
		var syn *jsonv.SyntaxError
		if errors.As(err, &syn) {
			c.Err(syn)
		} else {
			c.ErrMsg(err.Error())
		}
		return nil, false
	}
	if c.query != nil {
		c.query.tr.Filter(c.Arg(1), f, string(c.Args[i]))
	}
	return f, true
}

// optionalFilter parses argument i as a filter if it is present.
func optionalFilter(c *Ctx, i int) (*filter.Filter, bool) {
	if len(c.Args) <= i {
		if c.query != nil {
			c.query.tr.Whole(c.Arg(1))
		}
		return nil, true
	}
	return filterArg(c, i)
}

// intArg parses argument i as a non-negative integer.
func intArg(c *Ctx, i int) (int64, bool) {
	n, err := strconv.ParseInt(c.Arg(i), 10, 64)
	if err != nil || n < 0 {
		c.ErrMsg("value is not an integer or out of range")
		return 0, false
	}
	return n, true
}

// ifVersion parses an optional trailing IFVERSION n starting at argument i;
// -1 means none.
func ifVersion(c *Ctx, i int) (int64, bool) {
	switch len(c.Args) - i {
	case 0:
		return -1, true
	case 2:
		if strings.EqualFold(c.Arg(i), "ifversion") {
			return intArg(c, i+1)
		}
	}
	c.ErrMsg("syntax error")
	return 0, false
}

func writeRecord(c *Ctx, rec *engine.Record) {
	if rec == nil {
		c.W.Null()
		return
	}
	c.W.BulkJSON(rec)
}

func writeRecords(c *Ctx, recs []*engine.Record) {
	c.W.Array(len(recs))
	for _, r := range recs {
		writeRecord(c, r)
	}
}

func cmdInsert(c *Ctx) {
	opts, ok := expiryArgs(c, 3)
	if !ok {
		return
	}
	d, ok := recordArg(c, 2)
	if !ok {
		return
	}
	rec, err := c.S.store.InsertDraft(c.Tx, c.Arg(1), d, opts)
	if err != nil {
		c.Err(err)
		return
	}
	writeRecord(c, rec)
}

func cmdInsertMany(c *Ctx) {
	v, err := jsonv.Parse(c.Args[2])
	if err != nil {
		c.Err(err)
		return
	}
	arr, ok := v.([]jsonv.Value)
	if !ok {
		c.ErrMsg("invalid JSON: expected an array of record objects")
		return
	}
	objs := make([]*jsonv.Object, len(arr))
	for i, e := range arr {
		o, ok := e.(*jsonv.Object)
		if !ok {
			c.ErrMsg("invalid JSON: element " + strconv.Itoa(i) + " is not an object")
			return
		}
		objs[i] = o
	}
	recs, err := c.S.store.InsertMany(c.Tx, c.Arg(1), objs)
	if err != nil {
		c.Err(err)
		return
	}
	writeRecords(c, recs)
}

func cmdGet(c *Ctx) {
	if c.query != nil {
		c.query.tr.Keys(c.Arg(1), c.Args[2:3])
	}
	rec, err := c.S.store.GetBytes(c.Tx, c.Args[1], c.Args[2])
	if err != nil {
		c.Err(err)
		return
	}
	writeRecord(c, rec)
}

func cmdMGet(c *Ctx) {
	if c.query != nil {
		c.query.tr.Keys(c.Arg(1), c.Args[2:])
	}
	keys := make([]string, len(c.Args)-2)
	for i := range keys {
		keys[i] = c.Arg(i + 2)
	}
	recs, err := c.S.store.MGet(c.Tx, c.Arg(1), keys)
	if err != nil {
		c.Err(err)
		return
	}
	writeRecords(c, recs)
}

func cmdUpdate(c *Ctx) {
	ver, ok := ifVersion(c, 4)
	if !ok {
		return
	}
	changes, ok := objectArg(c, 3)
	if !ok {
		return
	}
	rec, err := c.S.store.Update(c.Tx, c.Arg(1), c.Arg(2), changes, ver)
	if err != nil {
		c.Err(err)
		return
	}
	writeRecord(c, rec)
}

func cmdUpsert(c *Ctx) {
	opts, ok := expiryArgs(c, 3)
	if !ok {
		return
	}
	d, ok := recordArg(c, 2)
	if !ok {
		return
	}
	rec, err := c.S.store.UpsertDraftWith(c.Tx, c.Arg(1), d, opts)
	if err != nil {
		c.Err(err)
		return
	}
	writeRecord(c, rec)
}

func cmdUpdateMany(c *Ctx) {
	f, ok := filterArg(c, 2)
	if !ok {
		return
	}
	changes, ok := objectArg(c, 3)
	if !ok {
		return
	}
	n, err := c.reads().UpdateMany(c.Tx, c.Arg(1), f, changes)
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Int(int64(n))
}

func cmdDelete(c *Ctx) {
	ver, ok := ifVersion(c, 3)
	if !ok {
		return
	}
	found, err := c.S.store.Delete(c.Tx, c.Arg(1), c.Arg(2), ver)
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Int(int64(boolInt(found)))
}

func cmdDeleteMany(c *Ctx) {
	f, ok := filterArg(c, 2)
	if !ok {
		return
	}
	n, err := c.reads().DeleteMany(c.Tx, c.Arg(1), f)
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Int(int64(n))
}

func cmdClear(c *Ctx) {
	n, err := c.S.store.Clear(c.Tx, c.Arg(1))
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Int(int64(n))
}

func cmdAll(c *Ctx) {
	recs, err := c.reads().All(c.Tx, c.Arg(1))
	if err != nil {
		c.Err(err)
		return
	}
	writeRecords(c, recs)
}

func cmdWhere(c *Ctx) {
	f, ok := filterArg(c, 2)
	if !ok {
		return
	}
	recs, err := c.reads().Where(c.Tx, c.Arg(1), f)
	if err != nil {
		c.Err(err)
		return
	}
	writeRecords(c, recs)
}

func cmdFindOne(c *Ctx) {
	f, ok := filterArg(c, 2)
	if !ok {
		return
	}
	rec, err := c.reads().FindOne(c.Tx, c.Arg(1), f)
	if err != nil {
		c.Err(err)
		return
	}
	writeRecord(c, rec)
}

func cmdCount(c *Ctx) {
	if len(c.Args) > 3 {
		c.ErrMsg("syntax error")
		return
	}
	f, ok := optionalFilter(c, 2)
	if !ok {
		return
	}
	n, err := c.reads().Count(c.Tx, c.Arg(1), f)
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Int(int64(n))
}

func cmdFirst(c *Ctx) { edge(c, false) }

func cmdLast(c *Ctx) { edge(c, true) }

func edge(c *Ctx, last bool) {
	n, ok := intArg(c, 2)
	if !ok {
		return
	}
	var recs []*engine.Record
	var err error
	if last {
		recs, err = c.S.store.Last(c.Tx, c.Arg(1), int(min(n, 1<<31)))
	} else {
		recs, err = c.S.store.First(c.Tx, c.Arg(1), int(min(n, 1<<31)))
	}
	if err != nil {
		c.Err(err)
		return
	}
	writeRecords(c, recs)
}

func cmdPaginate(c *Ctx) {
	if !strings.EqualFold(c.Arg(2), "limit") || (len(c.Args) != 4 && len(c.Args) != 6) {
		c.ErrMsg("syntax error")
		return
	}
	limit, ok := intArg(c, 3)
	if !ok {
		return
	}
	if limit == 0 {
		c.ErrMsg("LIMIT must be a positive integer")
		return
	}
	after, hasAfter := "", false
	if len(c.Args) == 6 {
		if !strings.EqualFold(c.Arg(4), "after") {
			c.ErrMsg("syntax error")
			return
		}
		after, hasAfter = c.Arg(5), true
	}
	p, err := c.reads().Paginate(c.Tx, c.Arg(1), int(min(limit, 1<<31)), after, hasAfter)
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Array(3)
	writeRecords(c, p.Records)
	c.W.Int(int64(boolInt(p.HasMore)))
	writeKey(c, p.Next)
}

// writeKey writes a cursor key as a bulk string (numbers in JSON form), or
// nil.
func writeKey(c *Ctx, k jsonv.Value) {
	switch v := k.(type) {
	case nil:
		c.W.Null()
	case string:
		c.W.BulkString(v)
	default:
		c.W.Bulk(jsonv.Marshal(v))
	}
}

func cmdAggregate(fn string) func(*Ctx) {
	return func(c *Ctx) {
		if len(c.Args) > 4 {
			c.ErrMsg("syntax error")
			return
		}
		f, ok := optionalFilter(c, 3)
		if !ok {
			return
		}
		v, has, err := c.reads().Aggregate(c.Tx, c.Arg(1), fn, c.Arg(2), f)
		if err != nil {
			c.Err(err)
			return
		}
		if !has {
			c.W.Null()
			return
		}
		c.W.Double(v)
	}
}

func cmdGroupBy(c *Ctx) {
	fields := strings.Split(c.Arg(2), ",")
	for _, f := range fields {
		if f == "" {
			c.ErrMsg("syntax error: empty group field")
			return
		}
	}
	fn := strings.ToLower(c.Arg(3))
	next := 4
	field := ""
	switch {
	case fn != "count":
		if len(c.Args) <= next {
			c.ErrMsg(fn + " needs a field to aggregate")
			return
		}
		field = c.Arg(next)
		next++
	case len(c.Args) > next && !looksLikeObject(c.Args[next]):
		// count takes an optional field too, which changes nothing: it
		// counts the records of each group.
		field = c.Arg(next)
		next++
	}
	if len(c.Args) > next+1 {
		c.ErrMsg("syntax error")
		return
	}
	f, ok := optionalFilter(c, next)
	if !ok {
		return
	}
	out, err := c.reads().GroupBy(c.Tx, c.Arg(1), fields, fn, field, f, nil)
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Bulk(out)
}

func cmdFind(c *Ctx) {
	v, err := jsonv.Parse(c.Args[2])
	if err != nil {
		c.Err(err)
		return
	}
	q, err := query.ParseForBucket(v, c.Arg(1))
	if err != nil {
		c.ErrMsg(err.Error())
		return
	}
	if c.query != nil {
		text := "the filter of a B.FIND"
		if o, ok := v.(*jsonv.Object); ok {
			if f, ok := o.Get("filter"); ok {
				text = string(jsonv.Marshal(f))
			}
		}
		c.query.tr.Filter(c.Arg(1), q.Filter, text)
	}
	out, err := c.reads().Find(c.Tx, q, nil)
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Bulk(out)
}

// looksLikeObject reports whether an argument starts like a JSON object,
// telling an optional filter from an optional field name.
func looksLikeObject(a []byte) bool {
	for _, ch := range a {
		switch ch {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

// reads returns the store's scanning reads, stopped early when the client
// disconnects while they run (besides the store's read-time-limit).
func (c *Ctx) reads() engine.Limited { return c.S.store.Limit(c.readLimit()) }

// readLimit stops a read when the command's client has gone.
func (c *Ctx) readLimit() engine.ReadLimit {
	if c.script != nil {
		return engine.ReadLimit{Cancelled: c.script.stopped}
	}
	if c.query != nil {
		return engine.ReadLimit{Cancelled: c.query.stopped}
	}
	if c.Conn == nil {
		return engine.ReadLimit{}
	}
	return engine.ReadLimit{Cancelled: c.Conn.Gone}
}
