package tests

import (
	"regexp"
	"strings"
	"testing"
)

// COMMAND DOCS carries Redis 7's "arguments" for bucketd's own commands, so
// that redis-cli's help shows their syntax (docs/commands.md, "COMMAND").

// docsBUpdateArgs is the "arguments" entry of COMMAND DOCS b.update, in
// RESP2 (maps as flat arrays, the flags set as an array) and RESP3.
var docsBUpdateArgs = map[int]string{
	2: pxBulk("arguments") + "*4\r\n" +
		"*4\r\n" + pxBulk("name") + pxBulk("bucket") + pxBulk("type") + pxBulk("key") +
		"*4\r\n" + pxBulk("name") + pxBulk("key") + pxBulk("type") + pxBulk("string") +
		"*4\r\n" + pxBulk("name") + pxBulk("changes-json") + pxBulk("type") + pxBulk("string") +
		"*8\r\n" + pxBulk("name") + pxBulk("version") + pxBulk("type") + pxBulk("integer") +
		pxBulk("token") + pxBulk("IFVERSION") + pxBulk("flags") + "*1\r\n+optional\r\n",
	3: pxBulk("arguments") + "*4\r\n" +
		"%2\r\n" + pxBulk("name") + pxBulk("bucket") + pxBulk("type") + pxBulk("key") +
		"%2\r\n" + pxBulk("name") + pxBulk("key") + pxBulk("type") + pxBulk("string") +
		"%2\r\n" + pxBulk("name") + pxBulk("changes-json") + pxBulk("type") + pxBulk("string") +
		"%4\r\n" + pxBulk("name") + pxBulk("version") + pxBulk("type") + pxBulk("integer") +
		pxBulk("token") + pxBulk("IFVERSION") + pxBulk("flags") + "~1\r\n+optional\r\n",
}

func TestDocsCommandDocsArguments(t *testing.T) {
	t.Parallel()
	s := Start(t)
	for _, proto := range []int{2, 3} {
		c := s.Raw(t)
		if proto == 3 {
			c.Do("HELLO", "3")
		}
		got := c.Do("COMMAND", "DOCS", "b.update")
		head := map[int]string{2: "*2\r\n" + pxBulk("b.update") + "*10\r\n", 3: "%1\r\n" + pxBulk("b.update") + "%5\r\n"}[proto]
		if !strings.HasPrefix(got, head) || !strings.HasSuffix(got, docsBUpdateArgs[proto]) {
			t.Errorf("RESP%d COMMAND DOCS b.update = %q\nwant it to start with %q and end with %q", proto, got, head, docsBUpdateArgs[proto])
		}
		// A oneof of pure tokens, nested.
		got = c.Do("COMMAND", "DOCS", "B.GROUPBY")
		want := pxBulk("name") + pxBulk("function") + pxBulk("type") + pxBulk("oneof") + pxBulk("arguments") + "*5\r\n"
		if !strings.Contains(got, want) || !strings.Contains(got, pxBulk("type")+pxBulk("pure-token")+pxBulk("token")+pxBulk("MAX")) {
			t.Errorf("RESP%d COMMAND DOCS b.groupby = %q, want a oneof of five pure tokens", proto, got)
		}
		// Redis's commands keep their shape: no arguments entry.
		if got := c.Do("COMMAND", "DOCS", "echo"); strings.Contains(got, "arguments") {
			t.Errorf("RESP%d COMMAND DOCS echo = %q, want no arguments", proto, got)
		}
	}
}

// ansi matches the terminal escapes redis-cli's help uses even when its
// output is not a terminal (its lines end in CRLF too).
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// redis-cli 7 builds its help from COMMAND DOCS: `redis-cli HELP <cmd>`
// and the interactive `help <cmd>` show the syntax from the arguments.
func TestDocsRedisCLIHelp(t *testing.T) {
	t.Parallel()
	redisCLI(t)
	s := Start(t)
	cases := []struct{ cmd, syntax, summary string }{
		{"B.INSERT", "bucket record-json [TTL duration|EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds]", "Inserts a record; EXISTS if its key exists."},
		{"B.EXPIRE", "bucket key seconds [NX|XX|GT|LT]", "Sets a record's expiry in seconds from now."},
		{"B.MGET", "bucket key [key ...]", "Returns the records with those keys."},
		{"B.UPDATE", "bucket key changes-json [IFVERSION version]", "Merges changes into a record."},
		{"B.PAGINATE", "bucket LIMIT n [AFTER key]", "Returns a page of records and the next cursor."},
		{"B.GROUPBY", "bucket fields COUNT|SUM|AVG|MIN|MAX [field] [filter-json]", "Groups records and aggregates each group."},
		{"BUCKET.DEFINE", "bucket definition-json", "Defines a bucket: key, schema, indexes, ttl, maxSize, persistent, ordered."},
		{"QUERY.SUBSCRIBE", "name [params-json]", "Subscribes to a query's live results (channel query.<name>[:<params>])."},
		{"QUERY.UNSUBSCRIBE", "[name [params-json]]", "Stops listening to a query's live results (all queries without arguments)."},
	}
	for _, tc := range cases {
		want := "  " + tc.cmd + " " + tc.syntax + "\n  summary: " + tc.summary + "\n"
		for _, run := range []struct {
			how string
			out func() string
		}{
			{"redis-cli HELP " + tc.cmd, func() string { return s.CLI(t, "HELP", tc.cmd) }},
			{"echo 'help " + tc.cmd + "' | redis-cli", func() string { return s.CLIStdin(t, "help "+tc.cmd+"\n") }},
		} {
			got := strings.ReplaceAll(ansi.ReplaceAllString(run.out(), ""), "\r\n", "\n")
			if !strings.Contains(got, want) {
				t.Errorf("%s printed:\n%s\nwant it to contain:\n%s", run.how, got, want)
			}
		}
	}
}
