package commands

import (
	"fmt"
	"sort"
	"strings"
)

// Flags describe how the dispatcher treats a command.
type Flags uint32

// Command flags. The dispatcher reads them for authentication, MULTI
// queueing, subscribed-mode rules and COMMAND INFO; nothing keeps a second
// list of names.
const (
	// FlagWrite marks a command that changes data.
	FlagWrite Flags = 1 << iota
	// FlagReadOnly marks a command that only reads data.
	FlagReadOnly
	// FlagPubSub marks a command allowed in RESP2 subscribed mode.
	FlagPubSub
	// FlagNoMulti marks a command refused inside MULTI.
	FlagNoMulti
	// FlagAdmin marks an administrative command.
	FlagAdmin
	// FlagNoAuth marks a command allowed before authentication.
	FlagNoAuth
	// FlagFast marks a command that runs in constant or log time.
	FlagFast
	// FlagBucket marks a command whose first argument is a bucket name:
	// EXEC locks that bucket for it.
	FlagBucket
	// FlagTxControl marks MULTI, EXEC, DISCARD, WATCH, UNWATCH, QUIT and
	// RESET: inside MULTI they run at once instead of being queued.
	FlagTxControl
	// FlagHold marks a single-bucket record command that may run under the
	// connection's hold on its bucket (see hold.go): a write starts one, a
	// read uses one already locked.
	FlagHold
	// FlagScript marks a command a script may run with redis.call.
	FlagScript
	// FlagBucketKeys marks EVAL and FCALL, whose keys (after numkeys at
	// argument 2) name buckets: COMMAND INFO and GETKEYS find them there.
	FlagBucketKeys
	// FlagMayReplicate marks a command that is not a write but has effects
	// beyond the connection (PUBLISH): read-only scripts refuse it as a
	// write, as Redis does.
	FlagMayReplicate
	// FlagTracked marks a bucket read whose handler tells a function
	// query's tracker what it reads, before it reads (keys, a filter):
	// in a query, any other bucket read counts as reading every record.
	FlagTracked
	// FlagNoStore marks a command that touches the store only through its
	// Ctx's Tx (PING, PUBLISH, SUBSCRIBE, CLIENT, …): EXEC runs it inside
	// its transaction, in queued order. EXEC runs the others that are not
	// record commands after the commit, since they lock buckets themselves.
	FlagNoStore
	// FlagKeys marks a key-space command (keyspace.go) whose key arguments
	// (FirstKey to LastKey by Step) are record key names, bucket:key: EXEC
	// locks their buckets and runs it inside its transaction, and a script
	// must declare them.
	FlagKeys
	// FlagLeader marks a command that runs on a replicated cluster's
	// leader although it is not a write: a follower forwards it
	// (forward.go), as it forwards every FlagWrite command (scripts that
	// may write, CLUSTER.ADD).
	FlagLeader
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagWrite, "write"}, {FlagReadOnly, "readonly"}, {FlagPubSub, "pubsub"},
	{FlagNoMulti, "no_multi"}, {FlagAdmin, "admin"}, {FlagNoAuth, "no_auth"},
	{FlagFast, "fast"}, {FlagMayReplicate, "may_replicate"}, {FlagBucketKeys, "movablekeys"},
}

// names returns the flag names COMMAND INFO reports.
func (f Flags) names() []string {
	var out []string
	for _, n := range flagNames {
		if f&n.f != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// Command is one entry of the command table.
type Command struct {
	// Name is the lower-case name, "b.get"; a subcommand's is "client|id".
	Name string
	// Arity follows Redis: n means exactly n arguments counting the name
	// (for a subcommand, counting the command and the subcommand), -n at
	// least n.
	Arity int
	// Flags tell the dispatcher how to treat the command.
	Flags Flags
	// FirstKey, LastKey and Step locate key arguments for COMMAND INFO.
	FirstKey, LastKey, Step int
	// Group, Since, Syntax and Summary feed COMMAND DOCS (redis-cli's
	// help). For a command with Arguments, Syntax is derived from them.
	Group, Since, Syntax, Summary string
	// Arguments describe the arguments for COMMAND DOCS; Add attaches them
	// from the one table of argument docs (docs.go).
	Arguments []Arg
	// JSONArg is the index of a JSON object argument that a pipelined run
	// parses ahead of the command's turn (Server.Prepare); 0: none.
	JSONArg int
	// Draft says the JSONArg is a whole record, which Prepare also
	// validates and encodes ahead (engine.Store.Draft): DraftInsert for a
	// command that only inserts, DraftUpsert for one that may update.
	Draft DraftKind
	// Run executes the command.
	Run func(c *Ctx)
	// Subs holds subcommands by lower-case name (CLIENT, CONFIG, …).
	Subs map[string]*Command
	// parent is a subcommand's command (set by Table.Add).
	parent *Command
	// stats are its INFO commandstats and latencystats (cmdstats.go).
	stats *cmdStats
}

// DraftKind is how a command writes its whole-record argument (Command.Draft).
type DraftKind uint8

// The kinds of Command.Draft.
const (
	DraftNone   DraftKind = iota // no whole-record argument
	DraftInsert                  // inserts it (B.INSERT)
	DraftUpsert                  // inserts or updates with it (B.UPSERT)
)

// Table is the one command table: every command the server knows.
type Table struct {
	cmds map[string]*Command
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{cmds: make(map[string]*Command)} }

// Add registers a command; registering a name twice panics.
func (t *Table) Add(c *Command) {
	c.Name = strings.ToLower(c.Name)
	if _, dup := t.cmds[c.Name]; dup {
		panic(fmt.Sprintf("command %q registered twice", c.Name))
	}
	attachDocs(c)
	c.stats = new(cmdStats)
	for name, sub := range c.Subs {
		sub.stats = new(cmdStats)
		sub.Name = c.Name + "|" + name
		sub.parent = c
		sub.Flags |= c.Flags & (FlagNoAuth | FlagPubSub | FlagTxControl | FlagAdmin | FlagNoStore)
	}
	t.cmds[c.Name] = c
}

// lookup finds a command by its name in any case, without allocating for
// names up to 32 bytes.
func (t *Table) lookup(name []byte) *Command {
	var buf [32]byte
	if len(name) > len(buf) {
		return t.cmds[strings.ToLower(string(name))]
	}
	for i, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return t.cmds[string(buf[:len(name)])]
}

// Sorted returns every command sorted by name.
func (t *Table) Sorted() []*Command {
	out := make([]*Command, 0, len(t.cmds))
	for _, c := range t.cmds {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Len returns the number of top-level commands.
func (t *Table) Len() int { return len(t.cmds) }

// arityOK reports whether n arguments (counting the name) fit the arity.
func arityOK(arity, n int) bool {
	if arity >= 0 {
		return n == arity
	}
	return n >= -arity
}

// buckets returns the buckets a command's arguments name: the first
// argument of a FlagBucket command, the bucket of each key name of a
// FlagKeys command. Others name none.
func (cmd *Command) buckets(args [][]byte) []string {
	switch {
	case cmd.Flags&FlagBucket != 0:
		return []string{string(args[1])}
	case cmd.Flags&FlagKeys != 0:
		last := cmd.LastKey
		if last < 0 {
			last += len(args)
		}
		last = min(last, len(args)-1)
		var keys [][]byte
		for i := cmd.FirstKey; i <= last; i += max(cmd.Step, 1) {
			keys = append(keys, args[i])
		}
		return keyBuckets(keys)
	}
	return nil
}

// inTx reports whether EXEC runs the command inside its transaction: it
// reads or writes records.
func (cmd *Command) inTx() bool { return cmd.Flags&(FlagBucket|FlagKeys) != 0 }

// inOrder reports whether EXEC runs the command inside its transaction, in
// queued order: a record command, or one that touches no bucket itself.
func (cmd *Command) inOrder() bool { return cmd.inTx() || cmd.Flags&FlagNoStore != 0 }
