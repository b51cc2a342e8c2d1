package commands

import (
	"strings"
	"time"

	"bucketd/pubsub/glob"
	"bucketd/script"
)

// FUNCTION subcommands (docs/scripting.md, "Functions"). Every change of
// the libraries is made durable as the whole set (functionsChanged), under
// fnMu so that the append-only file has the changes in their order.

// functionsChanged logs the libraries after a change: the append-only
// file replays the last set logged.
func (s *Server) functionsChanged() error {
	s.queries.FunctionsChanged()
	if s.cluster != nil {
		return s.cluster.LogFunctions(s.scripts.Dump())
	}
	p := s.pers()
	if p == nil {
		return nil
	}
	return p.LogFunctions(s.scripts.Dump())
}

func cmdFunctionLoad(c *Ctx) {
	replace := false
	for _, a := range c.Args[2 : len(c.Args)-1] {
		if !strings.EqualFold(string(a), "replace") {
			c.fail("ERR Unknown option given: " + string(a))
			return
		}
		replace = true
	}
	var name string
	if changeLibraries(c, func() (err error) {
		name, err = c.S.scripts.LoadLibrary(string(c.Args[len(c.Args)-1]), replace)
		return err
	}) {
		c.W.BulkString(name)
	}
}

// changeLibraries makes a change of the libraries under fnMu and logs
// them after it; it writes the error of either and reports success.
func changeLibraries(c *Ctx, change func() error) bool {
	c.S.fnMu.Lock()
	defer c.S.fnMu.Unlock()
	if err := change(); err != nil {
		c.Err(err)
		return false
	}
	if err := c.S.functionsChanged(); err != nil {
		c.Err(err)
		return false
	}
	return true
}

func cmdFunctionDelete(c *Ctx) {
	if changeLibraries(c, func() error { return c.S.scripts.DeleteLibrary(c.Arg(2)) }) {
		c.W.OK()
	}
}

func cmdFunctionFlush(c *Ctx) {
	if !flushMode(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option") {
		return
	}
	if changeLibraries(c, func() error { c.S.scripts.FlushLibraries(); return nil }) {
		c.W.OK()
	}
}

func cmdFunctionDump(c *Ctx) { c.W.Bulk(c.S.scripts.Dump()) }

func cmdFunctionRestore(c *Ctx) {
	if len(c.Args) > 4 {
		c.fail("ERR unknown subcommand or wrong number of arguments for '" + c.Arg(1) + "'. Try FUNCTION HELP.")
		return
	}
	policy := script.RestoreAppend
	if len(c.Args) == 4 {
		policy = strings.ToUpper(c.Arg(3))
		if policy != script.RestoreAppend && policy != script.RestoreReplace && policy != script.RestoreFlush {
			c.fail("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
			return
		}
	}
	if changeLibraries(c, func() error { return c.S.scripts.Restore(c.Args[2], policy) }) {
		c.W.OK()
	}
}

func cmdFunctionList(c *Ctx) {
	var pattern string
	hasPattern, withCode := false, false
	for i := 2; i < len(c.Args); i++ {
		switch a := c.Arg(i); {
		case strings.EqualFold(a, "withcode") && !withCode:
			withCode = true
		case strings.EqualFold(a, "libraryname") && !hasPattern:
			if i+1 >= len(c.Args) {
				c.fail("ERR library name argument was not given")
				return
			}
			hasPattern, pattern = true, c.Arg(i+1)
			i++
		default:
			c.fail("ERR Unknown argument " + a)
			return
		}
	}
	var libs []*script.Library
	for _, lib := range c.S.scripts.Libraries() {
		if !hasPattern || glob.Match(pattern, lib.Name) {
			libs = append(libs, lib)
		}
	}
	c.W.Array(len(libs))
	for _, lib := range libs {
		n := 3
		if withCode {
			n = 4
		}
		c.W.Map(n)
		c.W.BulkString("library_name")
		c.W.BulkString(lib.Name)
		c.W.BulkString("engine")
		c.W.BulkString("LUA")
		c.W.BulkString("functions")
		c.W.Array(len(lib.Functions))
		for _, f := range lib.Functions {
			c.W.Map(3)
			c.W.BulkString("name")
			c.W.BulkString(f.Name)
			c.W.BulkString("description")
			if f.Description == "" {
				c.W.Null()
			} else {
				c.W.BulkString(f.Description)
			}
			c.W.BulkString("flags")
			names := f.Flags.Names()
			c.W.Set(len(names))
			for _, name := range names {
				c.W.Simple(name)
			}
		}
		if withCode {
			c.W.BulkString("library_code")
			c.W.BulkString(lib.Code)
		}
	}
}

func cmdFunctionStats(c *Ctx) {
	c.W.Map(2)
	c.W.BulkString("running_script")
	var longest *script.Run
	for _, r := range c.S.scripts.Running() {
		if r.Kind == script.KindFunction && (longest == nil || r.Start.Before(longest.Start)) {
			longest = r
		}
	}
	if longest == nil {
		c.W.Null()
	} else {
		c.W.Map(3)
		c.W.BulkString("name")
		c.W.BulkString(longest.Name)
		c.W.BulkString("command")
		c.W.Array(len(longest.Command))
		for _, a := range longest.Command {
			c.W.BulkString(a)
		}
		c.W.BulkString("duration_ms")
		c.W.Int(time.Since(longest.Start).Milliseconds())
	}
	libs, funcs := c.S.scripts.LibraryCounts()
	c.W.BulkString("engines")
	c.W.Map(1)
	c.W.BulkString("LUA")
	c.W.Map(2)
	c.W.BulkString("libraries_count")
	c.W.Int(int64(libs))
	c.W.BulkString("functions_count")
	c.W.Int(int64(funcs))
}

var functionHelp = []string{
	"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"LOAD [REPLACE] <FUNCTION CODE>",
	"    Create a new library with the given library name and code.",
	"DELETE <LIBRARY NAME>",
	"    Delete the given library.",
	"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	"    Return general information on all the libraries.",
	"FCALL <FUNCTION NAME> <NUMKEYS> <KEYS> <ARGS>",
	"    Call a function (the buckets it touches are its keys).",
	"KILL",
	"    Kill the running functions, rolling back what they wrote.",
	"FLUSH [ASYNC|SYNC]",
	"    Delete all the libraries.",
	"STATS",
	"    Return information about the running function and the libraries.",
	"DUMP",
	"    Return a serialized payload representing the current libraries.",
	"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	"    Restore the libraries represented by the given payload.",
	"HELP",
	"    Print this help.",
}
