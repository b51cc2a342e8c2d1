package script

import (
	"slices"
	"testing"
)

func TestParseLibrary(t *testing.T) {
	cases := []struct {
		code, name, err string
	}{
		{"#!lua name=lib\nreturn", "lib", ""},
		{"#!LUA NAME=lib\nreturn", "lib", ""},
		{"#!lua name=\"lib\"\nreturn", "lib", ""},
		{"#!lua   name=lib  \nreturn", "lib", ""},
		{"return", "", "ERR Missing library metadata"},
		{"#!lua name=lib", "", "ERR Invalid library metadata"},
		{"#!\nreturn", "", "ERR Engine '' not found"},
		{"#! name=test\nreturn", "", "ERR Engine '' not found"},
		{"#!bad name=lib\nreturn", "", "ERR Engine 'bad' not found"},
		{"#!lua name=\"lib\nreturn", "", "ERR Invalid library metadata"},
		{"#!lua name=lib foo=bar\nreturn", "", "ERR Invalid metadata value given: foo=bar"},
		{"#!lua name=a name=b\nreturn", "", "ERR Invalid metadata value, name argument was given multiple times"},
		{"#!lua\nreturn", "", "ERR Library name was not given"},
		{"#!lua name=b@d\nreturn", "", errBadName},
		{"#!lua name=\nreturn", "", errBadName},
	}
	for _, c := range cases {
		name, body, err := parseLibrary(c.code)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err || name != c.name {
			t.Errorf("%q: got (%q, %q), want (%q, %q)", c.code, name, got, c.name, c.err)
		}
		if err == nil && body != "\nreturn" {
			t.Errorf("%q: body %q, want the code with its first line blanked", c.code, body)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	cases := []struct {
		line string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"  a  b ", []string{"a", "b"}, true},
		{`a="x y" b`, []string{"a=x y", "b"}, true},
		{`'it''s'`, nil, false},
		{`"a\nb"`, []string{"a\nb"}, true},
		{`"ab`, nil, false},
		{`"ab"c`, nil, false},
	}
	for _, c := range cases {
		got, ok := splitArgs(c.line)
		if ok != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q %v, want %q %v", c.line, got, ok, c.want, c.ok)
		}
	}
}
