// Package script runs Lua 5.1 scripts as Redis 7 does, on gopher-lua
// (docs/scripting.md): EVAL scripts cached by SHA1, FUNCTION libraries,
// Redis's conversions between replies and Lua values (convert.go), its
// sandbox with read-only globals (sandbox.go), the redis and cjson tables
// (redis.go, cjson.go), and the stops: SCRIPT KILL and FUNCTION KILL, the
// busy threshold and the memory limit (budget.go, memory.go).
//
// The package knows commands only through Caller: the command layer runs
// redis.call's commands inside the script's transaction, and it is the
// caller that rolls a failed run back. Interpreters are pooled; each has
// the scripts and libraries it compiled, dropped when the engine's
// generation moves (SCRIPT FLUSH, a library change).
//
// Query (query.go) runs a reactive query written in Lua (KindQuery): a
// chunk reading the global params, or a no-writes library function called
// with the parameters, whose return value becomes JSON text. Its stops are
// its own: Call.TimeLimit, checked by the sampler that declares scripts
// busy, and StopQueries at shutdown; SCRIPT KILL and FUNCTION KILL leave
// it alone, and it is not counted among the scripts run.
package script
