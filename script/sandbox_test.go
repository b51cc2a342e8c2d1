package script

import (
	"strings"
	"testing"
)

func TestSandboxProtection(t *testing.T) {
	e := newTestEngine(t)
	cases := []struct{ body, want string }{
		// Redis gives the read-only metatable itself; changing it fails.
		// setmetatable and rawset raise without a position, as Redis's C.
		{"setmetatable(_G, {})", "-ERR Attempt to modify a readonly table script:"},
		{"setmetatable(_G, nil)", "-ERR Attempt to modify a readonly table script:"},
		{"setmetatable(redis, {})", "-ERR Attempt to modify a readonly table script:"},
		{"local g = getmetatable(_G) g.__index = {}", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"getmetatable('').__index = nil", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"rawset(getmetatable(_G), '__index', {})", "-ERR Attempt to modify a readonly table script:"},
		{"return type(getmetatable(_G))", "$5\r\ntable\r\n"},
		// What a protected metatable holds is read-only too: the tables
		// behind the proxies are never reachable.
		{"getmetatable(_G).__index.redis = nil", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"rawset(getmetatable(_G).__index, 'redis', 1)", "-ERR Attempt to modify a readonly table script:"},
		{"getmetatable(string).__index.upper = 1", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"rawset(getmetatable(string).__index, 'upper', 1)", "-ERR Attempt to modify a readonly table script:"},
		{"rawset(getmetatable(getmetatable(_G)).__index, 'x', 1)", "-ERR user_script:1: attempt to index a boolean value script:"},
		{"return tostring(getmetatable(_G).__index == _G)", "$4\r\ntrue\r\n"},
		{"return type(string.upper) .. type(redis) .. type(redis.call)", "$21\r\nfunctiontablefunction\r\n"},
		{"return getmetatable('').__index.upper('a')", "$1\r\nA\r\n"},
		// A script's own tables keep Lua's behaviour.
		{"return setmetatable({}, {__index=function() return 5 end}).x", ":5\r\n"},
		{"local t = setmetatable({}, {__metatable=1}) return getmetatable(t)", ":1\r\n"},
		{"local t = setmetatable({}, {__metatable=1}) setmetatable(t, {})", "-ERR user_script:1: cannot change a protected metatable script:"},
		// rawget, next and pairs see through the proxies, as through
		// Redis's read-only tables, showing the library tables read-only.
		{"return type(rawget(_G, 'redis'))", "$5\r\ntable\r\n"},
		{"return rawget(_G, 'nosuch')", "$-1\r\n"},
		{"rawget(_G, 'string').x = 1", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"local n = 0 for k, v in pairs(bit) do n = n + 1 end return n", ":12\r\n"},
		{"local n = 0 for k, v in pairs(_G) do if k == 'string' then v.x = 1 end end", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"return next(math, nil) ~= nil", ":1\r\n"},
		{"local t = {a=1} local k, v = next(t) return {k, v}", "*2\r\n$1\r\na\r\n:1\r\n"},
		{"local n = 0 for i, v in pairs({5, 6, x=7}) do n = n + v end return n", ":18\r\n"},
		{"pairs(nil)", "-ERR user_script:1: bad argument #1 to pairs"},
		// math.randomseed takes a number in a string, as luaL_checkint.
		{"math.randomseed('10') local a = math.random() math.randomseed(10) return tostring(a == math.random())", "$4\r\ntrue\r\n"},
		{"math.randomseed('x')", "-ERR user_script:1: bad argument #1 to randomseed"},
		// loadstring compiles text with the scripts' globals; binary chunks,
		// all string.dump gives, are refused as in Redis.
		{"return loadstring('return 1 + 5')()", ":6\r\n"},
		{"local x = 1 return loadstring('return x')()", "-ERR [string \"return x\"]:1: Script attempted to access nonexistent global variable 'x' script:"},
		{"return select(2, loadstring(string.dump(function() end)))", "$39\r\nbinary chunks are not loaded in scripts\r\n"},
		{"return loadstring(string.dump(function() return 1 end))()", "-ERR user_script:1: attempt to call a nil value script:"},
		{"return type(select(2, loadstring('return +')))", "$6\r\nstring\r\n"},
		{"loadstring('y = 1')()", "-ERR [string \"y = 1\"]:1: Attempt to modify a readonly table script:"},
		{"string.dump(print)", "-ERR user_script:1: Script attempted to access nonexistent global variable 'print'"},
		{"string.dump(type)", "-ERR user_script:1: unable to dump given function"},
		// Calling what is not a function: Lua 5.1's texts, naming what was called.
		{"local x = 5 x()", "-ERR user_script:1: attempt to call local 'x' (a number value) script:"},
		{"redis.nofn()", "-ERR user_script:1: attempt to call field 'nofn' (a nil value) script:"},
		{"local t = {} t:m()", "-ERR user_script:1: attempt to call method 'm' (a nil value) script:"},
		{"local t = {f='s'}\nreturn t.f()", "-ERR user_script:2: attempt to call field 'f' (a string value) script:"},
		{"return (nil)()", "-ERR user_script:1: attempt to call a nil value script:"},
		{"return ({})()", "-ERR user_script:1: attempt to call a table value script:"},
		{"local u = true local function f() return u() end return f()", "-ERR user_script:1: attempt to call upvalue 'u' (a boolean value) script:"},
		// pcall gets the same texts.
		{"return {pcall(function() local x = 5 x() end)}", "*2\r\n$-1\r\n" + bulk("user_script:1: attempt to call local 'x' (a number value)")},
		{"return {pcall(function() local t = {} return t.a.b end)}", "*2\r\n$-1\r\n" + bulk("user_script:1: attempt to index field 'a' (a nil value)")},
		{"return {pcall(error, {err='X y'})}", "*2\r\n$-1\r\n$3\r\nX y\r\n"},
		{"return {pcall(function() return 1, 2 end)}", "*3\r\n:1\r\n:1\r\n:2\r\n"},
		// Raised inside a coroutine, the frame is gone: gopher-lua's text stays.
		{"local co = coroutine.wrap(function() local t = {} t.x() end)\nco()", "-ERR user_script:1: attempt to call a non-function object script:"},
		// Indexing what is not a table, likewise.
		{"local g = true return g.x", "-ERR user_script:1: attempt to index local 'g' (a boolean value) script:"},
		{"local t = {} return t.a.b", "-ERR user_script:1: attempt to index field 'a' (a nil value) script:"},
		{"local t = {} t.a.b = 1", "-ERR user_script:1: attempt to index field 'a' (a nil value) script:"},
		{"return redis.nofield.x", "-ERR user_script:1: attempt to index field 'nofield' (a nil value) script:"},
		{"local u = 5 local function f() return u.x end return f()", "-ERR user_script:1: attempt to index upvalue 'u' (a number value) script:"},
		{"return (nil).x", "-ERR user_script:1: attempt to index a nil value script:"},
		{"local s = 'x' return s:nomethod()", "-ERR user_script:1: attempt to call method 'nomethod' (a nil value) script:"},
		{"error('attempt to index a non-table object(nil) with key')", "-ERR user_script:1: attempt to index a non-table object(nil) with key script:"},
	}
	for _, c := range cases {
		if got := eval(t, e, c.body, 2); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s:\n got %q\nwant prefix %q", c.body, got, c.want)
		}
	}
}
