package commands

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"bucketd/engine"
)

func newDocsServer(t *testing.T) *Server {
	t.Helper()
	return New(DefaultConfig(), engine.New(engine.Options{Log: zerolog.Nop()}), zerolog.Nop())
}

// Every bucketd command (BUCKET.*, B.*, QUERY.*, STORE.*) has an entry in
// the argument docs, even an empty one, and every entry names a command of
// the table.
func TestCommandDocsCoverBucketdCommands(t *testing.T) {
	s := newDocsServer(t)
	s.table.CheckDocs()
	for _, cmd := range s.table.Sorted() {
		own := false
		for _, p := range []string{"bucket.", "b.", "query.", "store."} {
			own = own || strings.HasPrefix(cmd.Name, p)
		}
		if !own {
			continue
		}
		if _, ok := commandArgs[cmd.Name]; !ok {
			t.Errorf("%s has no entry in commandArgs", cmd.Name)
			continue
		}
		// The arguments agree with the arity: as many required ones as
		// the arity asks for (an exact arity allows no more).
		req, max := 0, 0
		for _, a := range cmd.Arguments {
			if a.Type == ArgPureToken && a.Optional {
				max++
				continue
			}
			words := 1
			if a.Token != "" && a.Type != ArgPureToken {
				words = 2
			}
			if a.Type == ArgBlock {
				words = len(a.Args)
			}
			if !a.Optional {
				req += words
			}
			max += words
		}
		if cmd.Arity >= 0 && (req != cmd.Arity-1 || max != cmd.Arity-1) {
			t.Errorf("%s: arity %d, arguments say %d to %d", cmd.Name, cmd.Arity, req+1, max+1)
		}
		if cmd.Arity < 0 && req != -cmd.Arity-1 {
			t.Errorf("%s: arity %d, arguments require %d", cmd.Name, cmd.Arity, req+1)
		}
	}
}

func TestCheckDocsPanicsOnUnknownCommand(t *testing.T) {
	s := newDocsServer(t)
	commandArgs["b.nosuch"] = []Arg{argBucket}
	defer delete(commandArgs, "b.nosuch")
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "b.nosuch") {
			t.Fatalf("CheckDocs with docs for b.nosuch: recovered %v, want a panic naming it", r)
		}
	}()
	s.table.CheckDocs()
}

func TestSyntaxOf(t *testing.T) {
	s := newDocsServer(t)
	for _, tc := range []struct{ cmd, want string }{
		{"b.insert", "bucket record-json [TTL duration|EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds]"},
		{"b.mget", "bucket key [key ...]"},
		{"b.update", "bucket key changes-json [IFVERSION version]"},
		{"b.paginate", "bucket LIMIT n [AFTER key]"},
		{"b.groupby", "bucket fields COUNT|SUM|AVG|MIN|MAX [field] [filter-json]"},
		{"query.unsubscribe", "[name [params-json]]"},
		{"store.stats", ""},
	} {
		cmd := s.table.cmds[tc.cmd]
		if cmd == nil {
			t.Fatalf("no command %s", tc.cmd)
		}
		if cmd.Syntax != tc.want {
			t.Errorf("%s syntax %q, want %q", tc.cmd, cmd.Syntax, tc.want)
		}
	}
}
