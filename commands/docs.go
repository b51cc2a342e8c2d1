package commands

import (
	"fmt"
	"sort"
	"strings"
)

// ArgType is the type of a command argument in COMMAND DOCS, one of the
// names Redis 7 uses.
type ArgType string

// The argument types of Redis 7's COMMAND DOCS.
const (
	ArgString    ArgType = "string"
	ArgInteger   ArgType = "integer"
	ArgDouble    ArgType = "double"
	ArgKey       ArgType = "key"
	ArgPattern   ArgType = "pattern"
	ArgUnixTime  ArgType = "unix-time"
	ArgPureToken ArgType = "pure-token"
	ArgOneOf     ArgType = "oneof" // one of Args
	ArgBlock     ArgType = "block" // Args in sequence
)

// Arg describes one argument of a command for COMMAND DOCS, which
// redis-cli turns into its help and its typing hints.
type Arg struct {
	// Name names the argument ("bucket", "record-json").
	Name string
	// Type is its type.
	Type ArgType
	// Token is the keyword written before the value ("TTL"), or the
	// keyword itself for a pure-token.
	Token string
	// Optional marks an argument that may be left out.
	Optional bool
	// Multiple marks an argument that may be repeated.
	Multiple bool
	// Args are the alternatives of a oneof or the parts of a block.
	Args []Arg
}

// The arguments common to bucketd's commands.
var (
	argBucket   = Arg{Name: "bucket", Type: ArgKey}
	argKey      = Arg{Name: "key", Type: ArgString}
	argFilter   = Arg{Name: "filter-json", Type: ArgString}
	argOptional = func(a Arg) Arg { a.Optional = true; return a }
	argVersion  = Arg{Name: "version", Type: ArgInteger, Token: "IFVERSION", Optional: true}
	argQuery    = Arg{Name: "name", Type: ArgString}
	argParams   = Arg{Name: "params-json", Type: ArgString, Optional: true}
	// argExpiry is B.INSERT's and B.UPSERT's expiry option.
	argExpiry = Arg{Name: "expiration", Type: ArgOneOf, Optional: true, Args: []Arg{
		{Name: "duration", Type: ArgString, Token: "TTL"},
		{Name: "seconds", Type: ArgInteger, Token: "EX"},
		{Name: "milliseconds", Type: ArgInteger, Token: "PX"},
		{Name: "unix-time-seconds", Type: ArgUnixTime, Token: "EXAT"},
		{Name: "unix-time-milliseconds", Type: ArgUnixTime, Token: "PXAT"},
	}}
	// argExpireCond is EXPIRE's condition.
	argExpireCond = Arg{Name: "condition", Type: ArgOneOf, Optional: true, Args: []Arg{
		{Name: "nx", Type: ArgPureToken, Token: "NX"},
		{Name: "xx", Type: ArgPureToken, Token: "XX"},
		{Name: "gt", Type: ArgPureToken, Token: "GT"},
		{Name: "lt", Type: ArgPureToken, Token: "LT"},
	}}
)

// commandArgs holds the COMMAND DOCS arguments of bucketd's own commands,
// by command name. It is the one source of their syntax: Table.Add
// attaches each entry to its command (and derives Command.Syntax from it),
// and Table.CheckDocs fails for an entry whose command is not registered.
// A command without arguments has an empty entry, so that a missing entry
// stands out (TestCommandDocsCoverBucketdCommands).
var commandArgs = map[string][]Arg{
	"bucket.define": {argBucket, {Name: "definition-json", Type: ArgString}},
	"bucket.drop":   {argBucket},
	"bucket.list":   {},
	"bucket.info":   {argBucket},
	"bucket.alter":  {argBucket, {Name: "changes-json", Type: ArgString}},

	"b.insert":     {argBucket, {Name: "record-json", Type: ArgString}, argExpiry},
	"b.expire":     {argBucket, argKey, {Name: "seconds", Type: ArgInteger}, argExpireCond},
	"b.pexpire":    {argBucket, argKey, {Name: "milliseconds", Type: ArgInteger}, argExpireCond},
	"b.persist":    {argBucket, argKey},
	"b.ttl":        {argBucket, argKey},
	"b.pttl":       {argBucket, argKey},
	"b.insertmany": {argBucket, {Name: "records-json-array", Type: ArgString}},
	"b.get":        {argBucket, argKey},
	"b.mget":       {argBucket, {Name: "key", Type: ArgString, Multiple: true}},
	"b.update":     {argBucket, argKey, {Name: "changes-json", Type: ArgString}, argVersion},
	"b.upsert":     {argBucket, {Name: "record-json", Type: ArgString}, argExpiry},
	"b.updatemany": {argBucket, argFilter, {Name: "changes-json", Type: ArgString}},
	"b.delete":     {argBucket, argKey, argVersion},
	"b.deletemany": {argBucket, argFilter},
	"b.clear":      {argBucket},
	"b.all":        {argBucket},
	"b.where":      {argBucket, argFilter},
	"b.findone":    {argBucket, argFilter},
	"b.count":      {argBucket, argOptional(argFilter)},
	"b.first":      {argBucket, {Name: "n", Type: ArgInteger}},
	"b.last":       {argBucket, {Name: "n", Type: ArgInteger}},
	"b.paginate":   {argBucket, {Name: "n", Type: ArgInteger, Token: "LIMIT"}, {Name: "key", Type: ArgString, Token: "AFTER", Optional: true}},
	"b.sum":        aggregateArgs,
	"b.avg":        aggregateArgs,
	"b.min":        aggregateArgs,
	"b.max":        aggregateArgs,
	"b.groupby": {argBucket, {Name: "fields", Type: ArgString}, {Name: "function", Type: ArgOneOf, Args: []Arg{
		{Name: "count", Type: ArgPureToken, Token: "COUNT"},
		{Name: "sum", Type: ArgPureToken, Token: "SUM"},
		{Name: "avg", Type: ArgPureToken, Token: "AVG"},
		{Name: "min", Type: ArgPureToken, Token: "MIN"},
		{Name: "max", Type: ArgPureToken, Token: "MAX"},
	}}, {Name: "field", Type: ArgString, Optional: true}, argOptional(argFilter)},
	"b.find": {argBucket, {Name: "query-json", Type: ArgString}},

	"query.define": {argQuery, {Name: "definition", Type: ArgOneOf, Args: []Arg{
		{Name: "query-json", Type: ArgString},
		{Name: "lua", Type: ArgBlock, Args: []Arg{{Name: "lua", Type: ArgPureToken, Token: "LUA"}, {Name: "chunk", Type: ArgString}}},
		{Name: "function", Type: ArgBlock, Args: []Arg{{Name: "function", Type: ArgPureToken, Token: "FUNCTION"}, {Name: "function-name", Type: ArgString}}},
	}}},
	"query.drop":      {argQuery},
	"query.list":      {},
	"query.info":      {argQuery},
	"query.run":       {argQuery, argParams},
	"query.subscribe": {argQuery, argParams},
	"query.unsubscribe": {{Name: "query", Type: ArgBlock, Optional: true, Args: []Arg{
		argQuery, argParams,
	}}},

	"eval":       scriptArgs("script"),
	"evalsha":    scriptArgs("sha1"),
	"eval_ro":    scriptArgs("script"),
	"evalsha_ro": scriptArgs("sha1"),
	"fcall":      scriptArgs("function"),
	"fcall_ro":   scriptArgs("function"),

	"store.stats":    {},
	"store.check":    {},
	"store.purgettl": {},
}

// scriptArgs are the arguments of EVAL, FCALL and their forms: what runs,
// then numkeys buckets (bucket or bucket:anything) and the arguments.
func scriptArgs(what string) []Arg {
	return []Arg{{Name: what, Type: ArgString}, {Name: "numkeys", Type: ArgInteger},
		{Name: "key", Type: ArgKey, Optional: true, Multiple: true},
		{Name: "arg", Type: ArgString, Optional: true, Multiple: true}}
}

// aggregateArgs are the arguments of B.SUM, B.AVG, B.MIN and B.MAX.
var aggregateArgs = []Arg{argBucket, {Name: "field", Type: ArgString}, argOptional(argFilter)}

// CheckDocs panics if an entry of the argument docs names a command that
// is not in the table: the docs cannot drift into a second list of names.
func (t *Table) CheckDocs() {
	var missing []string
	for name := range commandArgs {
		if t.cmds[name] == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		panic(fmt.Sprintf("argument docs for commands not in the table: %s", strings.Join(missing, ", ")))
	}
}

// attachDocs gives a command being registered its argument docs, if it
// has some, and the syntax line they read as.
func attachDocs(c *Command) {
	args, ok := commandArgs[c.Name]
	if !ok {
		return
	}
	c.Arguments = args
	c.Syntax = syntaxOf(args)
}

// syntaxOf renders arguments in one line as redis-cli 7 prints them after
// the command name in its help: `bucket record-json [TTL duration]`,
// `COUNT|SUM`, `key [key ...]`.
func syntaxOf(args []Arg) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = argSyntax(a)
	}
	return strings.Join(parts, " ")
}

func argSyntax(a Arg) string {
	var s string
	switch a.Type {
	case ArgPureToken:
		s = a.Token
	case ArgOneOf:
		alts := make([]string, len(a.Args))
		for i, sub := range a.Args {
			alts[i] = argSyntax(sub)
		}
		s = strings.Join(alts, "|")
	case ArgBlock:
		s = syntaxOf(a.Args)
	default:
		s = a.Name
		if a.Token != "" {
			s = a.Token + " " + s
		}
	}
	if a.Multiple {
		s += " [" + s + " ...]"
	}
	if a.Optional {
		s = "[" + s + "]"
	}
	return s
}

// writeArgs writes arguments as COMMAND DOCS does: an array of maps with
// name, type, token, flags (a set of optional, multiple) and, for a oneof
// or a block, its own arguments.
func writeArgs(c *Ctx, args []Arg) {
	c.W.Array(len(args))
	for _, a := range args {
		n := 2
		if a.Token != "" {
			n++
		}
		if a.Optional || a.Multiple {
			n++
		}
		if a.Type == ArgOneOf || a.Type == ArgBlock {
			n++
		}
		c.W.Map(n)
		c.W.BulkString("name")
		c.W.BulkString(a.Name)
		c.W.BulkString("type")
		c.W.BulkString(string(a.Type))
		if a.Token != "" {
			c.W.BulkString("token")
			c.W.BulkString(a.Token)
		}
		if a.Optional || a.Multiple {
			var flags []string
			if a.Optional {
				flags = append(flags, "optional")
			}
			if a.Multiple {
				flags = append(flags, "multiple")
			}
			c.W.BulkString("flags")
			c.W.Set(len(flags))
			for _, f := range flags {
				c.W.Simple(f)
			}
		}
		if a.Type == ArgOneOf || a.Type == ArgBlock {
			c.W.BulkString("arguments")
			writeArgs(c, a.Args)
		}
	}
}
