package commands

import (
	"bucketd/engine"
	"bucketd/jsonv"
)

func bucketCommands() []*Command {
	const g = "bucket"
	return []*Command{
		{Name: "bucket.define", Arity: 3, Flags: FlagWrite | FlagNoMulti, FirstKey: 1, LastKey: 1, Step: 1, Group: g, Summary: "Defines a bucket: key, schema, indexes, ttl, maxSize, persistent, ordered.", Run: cmdBucketDefine},
		{Name: "bucket.drop", Arity: 2, Flags: FlagWrite | FlagNoMulti, FirstKey: 1, LastKey: 1, Step: 1, Group: g, Summary: "Drops a bucket with its records and indexes.", Run: cmdBucketDrop},
		{Name: "bucket.list", Arity: 1, Flags: FlagReadOnly | FlagScript, Group: g, Summary: "Lists the bucket names, sorted.", Run: cmdBucketList},
		{Name: "bucket.info", Arity: 2, Flags: FlagReadOnly | FlagBucket | FlagScript, FirstKey: 1, LastKey: 1, Step: 1, Group: g, Summary: "Describes a bucket as JSON.", Run: cmdBucketInfo},
		{Name: "bucket.alter", Arity: 3, Flags: FlagWrite | FlagNoMulti, FirstKey: 1, LastKey: 1, Step: 1, Group: g, Summary: "Adds fields or indexes to a bucket, or changes its TTL.", Run: cmdBucketAlter},
	}
}

func cmdBucketDefine(c *Ctx) {
	if err := c.S.store.Define(c.Arg(1), c.Args[2]); err != nil {
		c.Err(err)
		return
	}
	c.S.queries.BucketChanged(c.Arg(1))
	c.W.OK()
}

func cmdBucketDrop(c *Ctx) {
	name := c.Arg(1)
	dropped, err := c.S.store.Drop(name)
	if err != nil {
		c.Err(err)
		return
	}
	if dropped {
		c.S.queries.BucketDropped(name)
		c.S.tracking.Dropped(name)
		c.W.Int(1)
		return
	}
	c.W.Int(0)
}

func cmdBucketList(c *Ctx) {
	names := c.S.store.List()
	c.W.Array(len(names))
	for _, n := range names {
		c.W.BulkString(n)
	}
}

func cmdBucketInfo(c *Ctx) {
	info, err := c.S.store.InfoIn(c.Tx, c.Arg(1))
	if err != nil {
		c.Err(err)
		return
	}
	c.W.Bulk(bucketInfoJSON(info))
}

// bucketInfoJSON encodes BUCKET.INFO's reply.
func bucketInfoJSON(info engine.BucketInfo) []byte {
	b := []byte(`{"name":`)
	b = jsonv.AppendString(b, info.Name)
	b = append(b, `,"definition":`...)
	b = append(b, info.Definition.JSON()...)
	b = append(b, `,"records":`...)
	b = jsonv.AppendNumber(b, float64(info.Records))
	b = append(b, `,"indexes":[`...)
	for i, ix := range info.Indexes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"field":`...)
		b = jsonv.AppendString(b, ix.Field)
		b = append(b, `,"type":`...)
		b = jsonv.AppendString(b, ix.Kind)
		b = append(b, `,"entries":`...)
		b = jsonv.AppendNumber(b, float64(ix.Entries))
		b = append(b, `,"distinctValues":`...)
		b = jsonv.AppendNumber(b, float64(ix.Distinct))
		b = append(b, `,"memoryBytes":`...)
		b = jsonv.AppendNumber(b, float64(ix.MemoryBytes))
		b = append(b, '}')
	}
	b = append(b, `],"memoryBytes":`...)
	b = jsonv.AppendNumber(b, float64(info.MemoryBytes))
	b = append(b, `,"autoincrement":`...)
	b = jsonv.AppendNumber(b, float64(info.Counter))
	b = append(b, `,"seq":`...)
	b = jsonv.AppendNumber(b, float64(info.EventSeq))
	return append(b, '}')
}

func cmdBucketAlter(c *Ctx) {
	if err := c.S.store.Alter(c.Arg(1), c.Args[2]); err != nil {
		c.Err(err)
		return
	}
	c.S.queries.BucketChanged(c.Arg(1))
	c.W.OK()
}
