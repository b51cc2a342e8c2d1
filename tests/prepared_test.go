package tests

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests are about prepared runs (resp.Preparer, Server.Prepare in
// commands/hold.go): the connection parses the JSON argument of each
// pipelined B.INSERT / B.UPDATE / B.UPSERT of a read before it serves the
// first of them. Seen from clients nothing may change: every command gets,
// in order, exactly the reply it gets when sent alone. So each pipeline is
// sent twice, in one write on one connection against one set of buckets,
// and one command at a time on another connection against a twin set, and
// the replies and the buckets' contents must agree; on top, the replies
// and contents are checked against what they must be.

// prepDef is the bucket of the prepared-run tests: n has a maximum, e is
// unique, n is indexed.
const prepDef = `{"key":"id","schema":{"id":{"type":"string"},"n":{"type":"number","max":10},` +
	`"e":{"type":"string","unique":true}},"indexes":["n"],"persistent":false}`

// prepStamps are the record fields that differ between two runs of the
// same commands.
var prepStamps = regexp.MustCompile(`"(_createdAt|_updatedAt|_expiresAt)":\d+`)

// prepCase is a pipeline of the prepared-run tests. In its commands and
// wanted replies, "$B" and "$C" stand for two buckets defined with prepDef.
type prepCase struct {
	name string
	cmds [][]string
	// want holds each reply: its exact RESP2 text, or with a trailing '*'
	// a prefix of it; "rec K:V:N", a record with key K, _version V and
	// field n N ("-" when absent); "recs K:V:N …", an array of records.
	want []string
	// state is what B.ALL $B must return after, records as in want (nil:
	// not checked beyond the comparison with the twin bucket).
	state []string
}

// Shorthands for the commands of a prepCase.
func prepUp(json string) []string { return []string{"B.UPSERT", "$B", json} }
func prepIns(json string, more ...string) []string {
	return append([]string{"B.INSERT", "$B", json}, more...)
}
func prepUpd(key, json string, more ...string) []string {
	return append([]string{"B.UPDATE", "$B", key, json}, more...)
}

// prepNames maps the placeholders to one side's bucket names, which have
// the same length on both sides.
func prepNames(side, tag string) map[string]string {
	return map[string]string{"$B": side + tag + "_b", "$C": side + tag + "_c"}
}

func prepSubst(s string, names map[string]string) string {
	for ph, name := range names {
		s = strings.ReplaceAll(s, ph, name)
	}
	return s
}

// prepCanon decodes a reply and makes it comparable with its twin: bucket
// names become their placeholders and timestamps 0.
func prepCanon(t *testing.T, raw string, names map[string]string) string {
	t.Helper()
	fix := func(s string) string {
		s = prepStamps.ReplaceAllString(s, `"$1":0`)
		for ph, name := range names {
			s = strings.ReplaceAll(s, name, ph)
		}
		return s
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			return fix(v)
		case replyError:
			return replyError(fix(string(v)))
		case []any:
			out := make([]any, len(v))
			for i, e := range v {
				out[i] = walk(e)
			}
			return out
		}
		return v
	}
	return fmt.Sprintf("%#v", walk(decodeReply(t, raw)))
}

// prepRec sums a record up as "key:_version:n".
func prepRec(t *testing.T, v any) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%#v is not a record", v)
	}
	m := parseRec(t, s)
	n := "-"
	if x, ok := m["n"]; ok {
		n = fmt.Sprint(x)
	}
	return fmt.Sprintf("%v:%v:%s", m["id"], m["_version"], n)
}

// prepRecs sums up an array of records.
func prepRecs(t *testing.T, raw string) []string {
	t.Helper()
	arr, ok := decodeReply(t, raw).([]any)
	if !ok {
		t.Fatalf("%q is not an array", raw)
	}
	out := []string{}
	for _, v := range arr {
		out = append(out, prepRec(t, v))
	}
	return out
}

// prepCheck checks a reply against a want of prepCase.
func prepCheck(t *testing.T, what, got, want string) {
	t.Helper()
	switch {
	case strings.HasPrefix(want, "rec "):
		if !strings.HasPrefix(got, "$") {
			t.Errorf("%s: got %q, want record %s", what, got, want[4:])
			return
		}
		eq(t, what, prepRec(t, decodeReply(t, got)), want[4:])
	case strings.HasPrefix(want, "recs "):
		if !strings.HasPrefix(got, "*") {
			t.Errorf("%s: got %q, want records %s", what, got, want[5:])
			return
		}
		eq(t, what, prepRecs(t, got), strings.Fields(want[5:]))
	case strings.HasSuffix(want, "*"):
		if !strings.HasPrefix(got, want[:len(want)-1]) {
			t.Errorf("%s: got %q, want %q…", what, got, want[:len(want)-1])
		}
	default:
		eq(t, what, got, want)
	}
}

// prepRun runs a prepCase against s (whose password is pass, if any): in
// one write on a new connection, and one command at a time on another,
// against twin buckets named after tag. It checks that the replies agree
// and are as wanted, and that the buckets agree and $B holds c.state. It
// returns the connection that sent the pipeline.
func prepRun(t *testing.T, s *Server, pass, tag string, c prepCase) *RawConn {
	t.Helper()
	if len(c.want) != len(c.cmds) {
		t.Fatalf("case %q: %d commands, %d wants", c.name, len(c.cmds), len(c.want))
	}
	pn, an := prepNames("p", tag), prepNames("s", tag)
	adm := s.Raw(t)
	if pass != "" {
		eq(t, "AUTH", adm.Do("AUTH", pass), "+OK\r\n")
	}
	for _, names := range []map[string]string{pn, an} {
		for _, b := range names {
			eq(t, "define "+b, adm.Do("BUCKET.DEFINE", b, prepDef), "+OK\r\n")
		}
	}
	side := func(names map[string]string) [][]string {
		out := make([][]string, len(c.cmds))
		for i, cmd := range c.cmds {
			out[i] = make([]string, len(cmd))
			for j, a := range cmd {
				out[i][j] = prepSubst(a, names)
			}
		}
		return out
	}
	pc := s.Raw(t)
	pc.Send(pipeline(side(pn)...))
	piped := make([]string, len(c.cmds))
	for i := range piped {
		piped[i] = pc.Read()
	}
	ac := s.Raw(t)
	alone := make([]string, len(c.cmds))
	for i, cmd := range side(an) {
		alone[i] = ac.Do(cmd...)
	}
	for i := range c.cmds {
		what := fmt.Sprintf("reply %d to %v", i, c.cmds[i])
		if p, a := prepCanon(t, piped[i], pn), prepCanon(t, alone[i], an); p != a {
			t.Errorf("%s: pipelined and alone differ:\npipelined %s\nalone     %s", what, p, a)
		}
		prepCheck(t, what, piped[i], prepSubst(c.want[i], pn))
	}
	for _, ph := range []string{"$B", "$C"} {
		p, a := adm.Do("B.ALL", pn[ph]), adm.Do("B.ALL", an[ph])
		if cp, ca := prepCanon(t, p, pn), prepCanon(t, a, an); cp != ca {
			t.Errorf("B.ALL %s: pipelined and alone differ:\npipelined %s\nalone     %s", ph, cp, ca)
		}
		if ph == "$B" && c.state != nil {
			eq(t, "B.ALL $B", prepRecs(t, p), c.state)
		}
	}
	return pc
}

// prepRunAll runs each case as a subtest.
func prepRunAll(t *testing.T, s *Server, pass string, cases []prepCase) {
	t.Helper()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { prepRun(t, s, pass, strconv.Itoa(i), c) })
	}
}

const (
	prepNotObject = "-ERR invalid JSON: expected a JSON object\r\n"
	prepBadJSON   = "-ERR invalid JSON: *"
)

// TestPipelinePreparedFailures: a pipelined record write that fails, on its
// JSON (bad JSON, not an object), on validation or on anything checked
// before or after its JSON is parsed, gets its own error, and the writes
// around it land.
func TestPipelinePreparedFailures(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	prepRunAll(t, s, "", []prepCase{{
		name: "bad JSON in the middle",
		cmds: [][]string{
			prepUp(`{"id":"a","n":1}`),
			prepIns(`{"id":"b","n":2}`),
			prepUp(`{"id":"c","n":`),
			prepUpd("a", `{"n":3}`),
			prepIns(`{"id":"d",}`),
			prepUpd("b", `{"n":4`),
			prepUp(``),
			prepUp(`{"id":"b","n":5}`),
		},
		want:  []string{"rec a:1:1", "rec b:1:2", prepBadJSON, "rec a:2:3", prepBadJSON, prepBadJSON, prepBadJSON, "rec b:2:5"},
		state: []string{"a:2:3", "b:2:5"},
	}, {
		name: "array instead of an object",
		cmds: [][]string{
			prepUp(`{"id":"a","n":1}`),
			prepUp(`[{"id":"x"}]`),
			prepIns(`[]`),
			prepUpd("a", `[1]`),
			prepUp(`"a"`),
			prepUpd("a", `{"n":2}`),
			prepIns(`{"id":"b"}`),
		},
		want:  []string{"rec a:1:1", prepNotObject, prepNotObject, prepNotObject, prepNotObject, "rec a:2:2", "rec b:1:-"},
		state: []string{"a:2:2", "b:1:-"},
	}, {
		name: "validation and unique",
		cmds: [][]string{
			prepUp(`{"id":"a","n":1,"e":"x"}`),
			prepUp(`{"id":"b","n":11}`),
			prepIns(`{"id":"c","n":12}`),
			prepUpd("a", `{"n":99}`),
			prepIns(`{"id":"d","e":"x"}`),
			prepUpd("a", `{"n":2}`),
			prepIns(`{"id":"c","n":3}`),
		},
		want: []string{
			"rec a:1:1",
			"-VALIDATION Validation failed for bucket \"$B\": n: Maximum value is 10\r\n",
			"-VALIDATION Validation failed for bucket \"$B\": n: Maximum value is 10\r\n",
			"-VALIDATION Validation failed for bucket \"$B\": n: Maximum value is 10\r\n",
			"-UNIQUE Unique constraint violation in bucket \"$B\": field \"e\" already has value \"x\"\r\n",
			"rec a:2:2",
			"rec c:1:3",
		},
		state: []string{"a:2:2", "c:1:3"},
	}, {
		// Commands refused before they take their JSON leave a prepared
		// entry behind, which the next command must skip; the same JSON
		// text in two commands is two arguments.
		name: "refused before parsing, and the same text twice",
		cmds: [][]string{
			prepUp(`{"id":"a","n":1}`),
			prepUp(`{"id":"a","n":1}`),
			prepIns(`{"id":"z"`, "TTL", "nope"),
			prepIns(`{"id":"a","n":1}`, "TTL", "1h"),
			prepIns(`{"id":"y"}`, "XTL", "1h"),
			prepUpd("a", `{"n":2}`, "IFVERSION", "abc"),
			prepUpd("a", `{"n":3}`, "IFVERSION", "1"),
			prepUpd("a", `{"n":4}`, "IFVERSION", "2"),
			prepUpd("nokey", `{"n":1}`),
			prepUpd("nokey", `{"n":`),
			{"B.UPSERT", "$B", `{"id":"q"}`, "extra"},
			{"B.UPSERT", "nosuchbucket", `{"id":"a"}`},
			{"B.UPSERT", "nosuchbucket", `{"id":`},
			prepIns(`{"id":"e","n":5}`, "TTL", "1h"),
			prepUp(`{"id":"a","n":1}`),
		},
		want: []string{
			"rec a:1:1",
			"rec a:2:1",
			"-ERR invalid TTL \"nope\": *",
			"-EXISTS Record with key \"a\" already exists in bucket \"$B\"\r\n",
			"-ERR syntax error\r\n",
			"-ERR *",
			"-CONFLICT *",
			"rec a:3:4",
			"-NOTFOUND Record with key \"nokey\" not found in bucket \"$B\"\r\n",
			prepBadJSON,
			"-ERR syntax error\r\n",
			"-NOBUCKET Bucket \"nosuchbucket\" is not defined\r\n",
			prepBadJSON,
			"rec e:1:5",
			"rec a:4:1",
		},
		state: []string{"a:4:1", "e:1:5"},
	}, {
		name: "two buckets in turn",
		cmds: [][]string{
			prepUp(`{"id":"a","n":1}`),
			{"B.UPSERT", "$C", `{"id":"a","n":1}`},
			prepUp(`{"id":"b","n":`),
			{"B.UPSERT", "$C", `{"id":"b","n":2}`},
			prepUpd("a", `{"n":7}`),
			{"B.UPDATE", "$C", "a", `[7]`},
			{"B.GET", "$C", "a"},
		},
		want:  []string{"rec a:1:1", "rec a:1:1", prepBadJSON, "rec b:1:2", "rec a:2:7", prepNotObject, "rec a:1:1"},
		state: []string{"a:2:7"},
	}})
}

// prepLong is a pipeline of n upserts on keys k0…k49 in turn, of which
// those at the indexes bad have bad JSON; it returns the case and the
// records B.ALL must hold after.
func prepLong(name string, n int, bad ...int) prepCase {
	c := prepCase{name: name}
	isBad := map[int]bool{}
	for _, i := range bad {
		isBad[i] = true
	}
	versions := map[string]int{}
	last := map[string]int{}
	var order []string // keys in insertion order, B.ALL's
	for i := range n {
		k := fmt.Sprint("k", i%50)
		if isBad[i] {
			c.cmds = append(c.cmds, prepUp(fmt.Sprintf(`{"id":"%s","n":%d`, k, i%10)))
			c.want = append(c.want, prepBadJSON)
			continue
		}
		c.cmds = append(c.cmds, prepUp(fmt.Sprintf(`{"id":"%s","n":%d}`, k, i%10)))
		if versions[k] == 0 {
			order = append(order, k)
		}
		versions[k]++
		last[k] = i % 10
		c.want = append(c.want, fmt.Sprintf("rec %s:%d:%d", k, versions[k], i%10))
	}
	c.state = []string{}
	for _, k := range order {
		c.state = append(c.state, fmt.Sprintf("%s:%d:%d", k, versions[k], last[k]))
	}
	return c
}

// TestPipelinePreparedLong: more pipelined upserts than one prepared run
// holds (resp.MaxPrepared, 64) all land, replied in order, with failures
// at the runs' edges.
func TestPipelinePreparedLong(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	prepRunAll(t, s, "", []prepCase{
		prepLong("150", 150),
		prepLong("64", 64),
		prepLong("65", 65),
		prepLong("150 with bad JSON at the edges of runs", 150, 0, 62, 63, 64, 65, 127, 128, 129, 149),
		prepLong("129 with bad JSON last of each run", 129, 63, 127, 128),
	})
}

// TestPipelinePreparedMixed: commands that end a prepared run (not record
// commands, or record commands without a JSON argument) among prepared ones.
func TestPipelinePreparedMixed(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	prepRunAll(t, s, "", []prepCase{{
		name: "PING, B.GET and ECHO among writes",
		cmds: [][]string{
			prepUp(`{"id":"a","n":1}`),
			prepUp(`{"id":"b","n":2}`),
			prepUp(`{"id":"a","n":3}`),
			{"PING"},
			{"B.GET", "$B", "a"},
			prepUpd("a", `{"n":4}`),
			prepUpd("b", `{"n":5}`),
			{"ECHO", "hello"},
		},
		want:  []string{"rec a:1:1", "rec b:1:2", "rec a:2:3", "+PONG\r\n", "rec a:2:3", "rec a:3:4", "rec b:2:5", "$5\r\nhello\r\n"},
		state: []string{"a:3:4", "b:2:5"},
	}, {
		name: "not preparable first and last",
		cmds: [][]string{
			{"PING", "x"},
			prepUp(`{"id":"a","n":1}`),
			prepUp(`{"id":"a","n":2}`),
			{"B.COUNT", "$B"},
		},
		want:  []string{"$1\r\nx\r\n", "rec a:1:1", "rec a:2:2", ":1\r\n"},
		state: []string{"a:2:2"},
	}, {
		name: "unknown command and wrong arity in between",
		cmds: [][]string{
			prepUp(`{"id":"a","n":1}`),
			{"NOSUCH", "x"},
			prepUp(`{"id":"b","n":2}`),
			{"B.GET", "$B"},
			prepUpd("b", `{"n":3}`),
		},
		want: []string{
			"rec a:1:1",
			"-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
			"rec b:1:2",
			"-ERR wrong number of arguments for 'b.get' command\r\n",
			"rec b:2:3",
		},
		state: []string{"a:1:1", "b:2:3"},
	}, {
		name: "record commands without a JSON argument",
		cmds: [][]string{
			prepUp(`{"id":"a","n":1}`),
			{"B.INSERTMANY", "$B", `[{"id":"b","n":2},{"id":"c","n":3}]`},
			prepUpd("b", `{"n":4}`),
			{"B.DELETE", "$B", "c"},
			{"B.MGET", "$B", "a", "b", "c"},
			prepUp(`{"id":"c","n":6}`),
			{"B.UPDATEMANY", "$B", `{"n":{"$gte":4}}`, `{"m":1}`},
			{"B.UPDATEMANY", "$B", `{}`, `{"n":`},
			prepUpd("a", `{"n":9}`),
			{"B.DELETE", "$B", "b", "IFVERSION", "1"},
			prepUp(`{"id":"d"`),
			{"B.GET", "$B", "c"},
		},
		want: []string{
			"rec a:1:1",
			"recs b:1:2 c:1:3",
			"rec b:2:4",
			":1\r\n",
			"*3\r\n*", // checked against the twin
			"rec c:1:6",
			":2\r\n",
			prepBadJSON,
			"rec a:2:9",
			"-CONFLICT *",
			prepBadJSON,
			"rec c:2:6",
		},
		state: []string{"a:2:9", "b:3:4", "c:2:6"},
	}, {
		name: "another bucket and a read of it between writes",
		cmds: [][]string{
			prepUp(`{"id":"a","n":1}`),
			{"B.UPSERT", "$C", `{"id":"a","n":2}`},
			{"B.GET", "$B", "a"},
			{"B.GET", "$C", "a"},
			prepUp(`{"id":"a","n":3}`),
			{"B.ALL", "$C"},
		},
		want:  []string{"rec a:1:1", "rec a:1:2", "rec a:1:1", "rec a:1:2", "rec a:2:3", "recs a:1:2"},
		state: []string{"a:2:3"},
	}})
}

// TestPipelinePreparedMulti: MULTI in a pipeline queues the writes after it
// (they are not run, prepared or not), EXEC runs them, and the writes after
// EXEC in the same write run as usual.
func TestPipelinePreparedMulti(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	prepRunAll(t, s, "", []prepCase{{
		name: "MULTI, two upserts, EXEC",
		cmds: [][]string{
			{"MULTI"},
			prepUp(`{"id":"a","n":1}`),
			prepUp(`{"id":"b","n":2}`),
			{"EXEC"},
		},
		want:  []string{"+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "recs a:1:1 b:1:2"},
		state: []string{"a:1:1", "b:1:2"},
	}, {
		name: "writes before MULTI and after EXEC",
		cmds: [][]string{
			prepUp(`{"id":"a","n":1}`),
			prepUp(`{"id":"b","n":2}`),
			{"MULTI"},
			prepUpd("a", `{"n":3}`),
			prepUp(`{"id":"c","n":4}`),
			{"EXEC"},
			prepUp(`{"id":"d","n":5}`),
			prepUpd("c", `{"n":6}`),
			prepUp(`{"id":"a","n":7}`),
			{"B.GET", "$B", "a"},
		},
		want: []string{
			"rec a:1:1", "rec b:1:2", "+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "recs a:2:3 c:1:4",
			"rec d:1:5", "rec c:2:6", "rec a:3:7", "rec a:3:7",
		},
		state: []string{"a:3:7", "b:1:2", "c:2:6", "d:1:5"},
	}, {
		name: "a queued write with bad JSON rolls EXEC back",
		cmds: [][]string{
			{"MULTI"},
			prepUp(`{"id":"a","n":1}`),
			prepUp(`{"id":"b","n":`),
			{"EXEC"},
			prepUp(`{"id":"c","n":3}`),
			prepUp(`{"id":"d","n":4}`),
		},
		want:  []string{"+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", prepBadJSON, "rec c:1:3", "rec d:1:4"},
		state: []string{"c:1:3", "d:1:4"},
	}, {
		name: "a queueing error aborts EXEC",
		cmds: [][]string{
			{"MULTI"},
			prepUp(`{"id":"a","n":1}`),
			{"B.UPSERT", "$B"},
			{"EXEC"},
			prepUp(`{"id":"b","n":2}`),
		},
		want: []string{
			"+OK\r\n", "+QUEUED\r\n", "-ERR wrong number of arguments for 'b.upsert' command\r\n",
			"-EXECABORT Transaction discarded because of previous errors.\r\n", "rec b:1:2",
		},
		state: []string{"b:1:2"},
	}, {
		name: "DISCARD",
		cmds: [][]string{
			{"MULTI"},
			prepUp(`{"id":"a","n":1}`),
			{"DISCARD"},
			prepUp(`{"id":"b","n":2}`),
			prepUp(`{"id":"c","n":3}`),
		},
		want:  []string{"+OK\r\n", "+QUEUED\r\n", "+OK\r\n", "rec b:1:2", "rec c:1:3"},
		state: []string{"b:1:2", "c:1:3"},
	}})
}

// TestPipelinePreparedAuth: with --requirepass, the writes of a pipeline
// before AUTH are refused and change nothing, the ones after it land.
func TestPipelinePreparedAuth(t *testing.T) {
	t.Parallel()
	s := Start(t, "--requirepass", "pw")
	const noauth = "-NOAUTH Authentication required.\r\n"
	prepRunAll(t, s, "pw", []prepCase{{
		name: "AUTH between writes",
		cmds: [][]string{
			prepUp(`{"id":"x0","n":1}`),
			{"AUTH", "pw"},
			prepUp(`{"id":"a","n":2}`),
			prepUp(`{"id":"b","n":3}`),
		},
		want:  []string{noauth, "+OK\r\n", "rec a:1:2", "rec b:1:3"},
		state: []string{"a:1:2", "b:1:3"},
	}, {
		name: "wrong password first",
		cmds: [][]string{
			prepUp(`{"id":"x0","n":1}`),
			prepIns(`{"id":"x1"`),
			{"AUTH", "nope"},
			prepUpd("x0", `{"n":2}`),
			{"AUTH", "pw"},
			prepUp(`{"id":"a","n":`),
			prepUp(`{"id":"b","n":3}`),
		},
		want: []string{
			noauth, noauth, "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
			noauth, "+OK\r\n", prepBadJSON, "rec b:1:3",
		},
		state: []string{"b:1:3"},
	}})
}

// prepCPU returns the CPU time the process pid has used, in clock ticks
// (USER_HZ, 100 a second on Linux), and false where /proc cannot tell.
func prepCPU(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	return utime + stime, err1 == nil && err2 == nil
}

// TestPipelinePreparedSplitCommand: a write ending in part of a command is
// served up to that command; the server then waits for the rest without
// replying or spinning, and the command, once complete, runs with the
// ones after it.
func TestPipelinePreparedSplitCommand(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	adm := s.Raw(t)
	big := strings.Repeat("x", 40<<10) // more than the initial read buffer
	type splitCase struct {
		name  string
		head  int                   // complete upserts before the split one
		json  string                // the split upsert's JSON
		cut   func(tail string) int // where the tail (split command and the one after it) is cut
		bytes bool                  // send the rest a byte at a time
	}
	at := func(sub string, plus int) func(string) int {
		return func(tail string) int { return strings.Index(tail, sub) + plus }
	}
	fixed := func(n int) func(string) int { return func(string) int { return n } }
	small := `{"id":"d","n":4}`
	bigJSON := `{"id":"d","n":4,"s":"` + big + `"}`
	cases := []splitCase{
		{name: "in the count line", head: 3, json: small, cut: fixed(1)},
		{name: "before the count line's LF", head: 3, json: small, cut: fixed(3)},
		{name: "after the count line", head: 3, json: small, cut: fixed(4)},
		{name: "in a bulk length", head: 3, json: small, cut: fixed(5)},
		{name: "in the command name", head: 3, json: small, cut: at("UPSERT", 2)},
		{name: "in the JSON", head: 3, json: small, cut: at(`"n":4`, 3)},
		{name: "before the JSON's CRLF", head: 3, json: small, cut: at("4}\r\n", 2)},
		{name: "before the JSON's LF", head: 3, json: small, cut: at("4}\r\n", 3)},
		{name: "after the split command", head: 3, json: small, cut: at("4}\r\n", 4)},
		{name: "rest byte by byte", head: 3, json: small, cut: at(`"id"`, 1), bytes: true},
		{name: "big JSON", head: 3, json: bigJSON, cut: at(big, len(big)/2)},
		{name: "after two runs", head: 130, json: small, cut: at(`"n":4`, 1)},
	}
	pid := s.cmd.Process.Pid
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := fmt.Sprint("split", i)
			eq(t, "define", adm.Do("BUCKET.DEFINE", b, prepDef), "+OK\r\n")
			var head [][]string
			for k := range tc.head {
				head = append(head, []string{"B.UPSERT", b, fmt.Sprintf(`{"id":"h%d","n":%d}`, k, k%10)})
			}
			first := pipeline([]string{"B.UPSERT", b, tc.json})
			tail := first + pipeline([]string{"B.UPDATE", b, "h0", `{"n":9}`})
			cut := tc.cut(tail)
			if cut <= 0 || cut > len(first) {
				t.Fatalf("bad cut %d", cut)
			}
			c := s.Raw(t)
			c.Send(pipeline(head...) + tail[:cut])
			complete := tc.head
			if cut == len(first) {
				complete++
			}
			for k := range complete {
				want := fmt.Sprintf("h%d:1:%d", k, k%10)
				if k == tc.head {
					want = "d:1:4"
				}
				prepCheck(t, fmt.Sprint("reply ", k), c.Read(), "rec "+want)
			}
			// Nothing more comes, and the server idles, while the command
			// is incomplete: a bounded wait, since absence cannot be polled.
			cpu0, cpuOK := prepCPU(pid)
			start := time.Now()
			if got, err := c.ReadErr(300 * time.Millisecond); err == nil || !isTimeout(err) || got != "" {
				t.Fatalf("reply to an incomplete command: %q, %v", got, err)
			}
			if cpu1, ok := prepCPU(pid); cpuOK && ok {
				ticks := time.Since(start).Seconds() * 100
				if used := float64(cpu1 - cpu0); used > ticks/2 {
					t.Errorf("the server used %.0f CPU ticks in %.0f while waiting for the rest of a command", used, ticks)
				}
			}
			if tc.bytes {
				for k := cut; k < len(tail); k++ {
					c.Send(tail[k : k+1])
				}
			} else {
				c.Send(tail[cut:])
			}
			if complete == tc.head {
				rec := prepRec(t, decodeReply(t, c.Read()))
				eq(t, "split upsert", rec, "d:1:4")
			}
			prepCheck(t, "update after it", c.Read(), "rec h0:2:9")
			eq(t, "count", adm.Do("B.COUNT", b), fmt.Sprintf(":%d\r\n", tc.head+1))
			got := decodeReply(t, adm.Do("B.GET", b, "d")).(string)
			if m := parseRec(t, got); m["_version"] != 1.0 || (tc.json == bigJSON && m["s"] != big) {
				t.Errorf("split record: %.200s", got)
			}
			eq(t, "PING after", c.Do("PING"), "+PONG\r\n")
		})
	}
}

// TestPipelinePreparedStaleAcrossReads: a command refused before it takes
// its prepared JSON (a bad TTL, a bad IFVERSION) leaves the parse behind;
// the next command, read on its own into the same place of the connection's
// buffer with a JSON argument of the same length, must parse its own.
func TestPipelinePreparedStaleAcrossReads(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	c := s.Raw(t)
	eq(t, "define", c.Do("BUCKET.DEFINE", "st", prepDef), "+OK\r\n")
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"B.INSERT", "st", `{"id":"s1","n":1}`, "TTL", "nope"}, "-ERR invalid TTL \"nope\": *"},
		{[]string{"B.UPSERT", "st", `{"id":"s2","n":2}`}, "rec s2:1:2"},
		{[]string{"B.INSERT", "st", `{"id":"s3","n":3}`, "XTL", "1h"}, "-ERR syntax error\r\n"},
		{[]string{"B.INSERT", "st", `{"id":"s4","n":4}`}, "rec s4:1:4"},
		{[]string{"B.UPDATE", "st", "s2", `{"n":5}`, "IFVERSION", "x"}, "-ERR *"},
		{[]string{"B.UPDATE", "st", "s4", `{"n":6}`}, "rec s4:2:6"},
		{[]string{"B.UPDATE", "st", "s2", `{"n":7}`, "IFVERSION", "1"}, "rec s2:2:7"},
	}
	for i, st := range steps {
		prepCheck(t, fmt.Sprint("step ", i, " ", st.args), c.Do(st.args...), st.want)
	}
	eq(t, "B.ALL", prepRecs(t, c.Do("B.ALL", "st")), []string{"s2:2:7", "s4:2:6"})
}

// TestPipelinePreparedQuit: QUIT ends a pipeline: the writes before it land,
// the ones after it are not run.
func TestPipelinePreparedQuit(t *testing.T) {
	t.Parallel()
	s := startStore(t)
	adm := s.Raw(t)
	eq(t, "define", adm.Do("BUCKET.DEFINE", "q", prepDef), "+OK\r\n")
	c := s.Raw(t)
	c.Send(pipeline(
		[]string{"B.UPSERT", "q", `{"id":"a","n":1}`},
		[]string{"B.UPSERT", "q", `{"id":"b","n":2}`},
		[]string{"QUIT"},
		[]string{"B.UPSERT", "q", `{"id":"c","n":3}`},
		[]string{"B.UPDATE", "q", "a", `{"n":4}`},
	))
	prepCheck(t, "reply 0", c.Read(), "rec a:1:1")
	prepCheck(t, "reply 1", c.Read(), "rec b:1:2")
	eq(t, "QUIT", c.Read(), "+OK\r\n")
	if !c.Closed(5 * time.Second) {
		t.Fatal("connection open after QUIT")
	}
	eq(t, "B.ALL", prepRecs(t, adm.Do("B.ALL", "q")), []string{"a:1:1", "b:1:2"})
}
