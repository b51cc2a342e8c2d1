package script

import (
	"strings"
	"testing"
)

func TestSandboxProtection(t *testing.T) {
	e := newTestEngine(t)
	cases := []struct{ body, want string }{
		// Redis gives the read-only metatable itself; changing it fails.
		{"setmetatable(_G, {})", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"setmetatable(_G, nil)", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"setmetatable(redis, {})", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"local g = getmetatable(_G) g.__index = {}", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"getmetatable('').__index = nil", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"rawset(getmetatable(_G), '__index', {})", "-ERR user_script:1: Attempt to modify a readonly table script:"},
		{"return type(getmetatable(_G))", "$5\r\ntable\r\n"},
		{"return getmetatable('').__index.upper('a')", "$1\r\nA\r\n"},
		// A script's own tables keep Lua's behaviour.
		{"return setmetatable({}, {__index=function() return 5 end}).x", ":5\r\n"},
		{"local t = setmetatable({}, {__metatable=1}) return getmetatable(t)", ":1\r\n"},
		{"local t = setmetatable({}, {__metatable=1}) setmetatable(t, {})", "-ERR user_script:1: cannot change a protected metatable script:"},
		// math.randomseed takes a number in a string, as luaL_checkint.
		{"math.randomseed('10') local a = math.random() math.randomseed(10) return tostring(a == math.random())", "$4\r\ntrue\r\n"},
		{"math.randomseed('x')", "-ERR user_script:1: bad argument #1 to randomseed"},
	}
	for _, c := range cases {
		if got := eval(t, e, c.body, 2); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s:\n got %q\nwant prefix %q", c.body, got, c.want)
		}
	}
}
