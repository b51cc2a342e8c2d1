package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The README's Function queries section: its Lua blocks are the files it
// names, and its redis-cli lines do what their comments say on the quick
// start's users — the subscriber's first message and the one after Carol
// joins, and the read set QUERY.INFO shows.
func TestDocsReadmeFunctionQueries(t *testing.T) {
	t.Parallel()
	redisCLI(t)
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	i := strings.Index(readme, "\n## Function queries\n")
	if i < 0 {
		t.Fatal("README.md has no Function queries section")
	}
	for _, f := range []string{"examples/queries/role_counts.lua", "examples/chat/room_dashboard.lua"} {
		lua, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(readme[i:], "```lua\n"+string(lua)+"```\n") {
			t.Errorf("the README's Function queries section does not show %s as it is", f)
		}
	}

	s := Start(t)
	quick := readmeCLILines(t, readme, "## Quick start")
	for _, line := range quick[:3] { // the users bucket, Alice (admin) and Bob (user)
		shCLI(t, s, line)
	}
	lines := readmeCLILines(t, readme, "## Function queries")
	if len(lines) != 4 {
		t.Fatalf("README Function queries: %d redis-cli lines, want 4: %q", len(lines), lines)
	}
	run := func(line string) string {
		t.Helper()
		env, script := cliScript(t, s, line)
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = env
		cmd.Dir = ".." // $(cat examples/…) reads from the repository
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out := run(lines[0]); out != "OK" {
		t.Fatalf("%s printed %q", lines[0], out)
	}
	if !strings.HasPrefix(lines[1], "redis-cli SUBSCRIBE query.roleCountsLua ") {
		t.Fatalf("line 2 is %q, want the SUBSCRIBE", lines[1])
	}
	sub := s.Client(t, 2).Subscribe(ctx(t), "query.roleCountsLua")
	defer sub.Close()
	msgs := sub.Channel()
	next := func() string {
		t.Helper()
		select {
		case m := <-msgs:
			return m.Payload
		case <-time.After(10 * time.Second):
			t.Fatal("no message on query.roleCountsLua")
			return ""
		}
	}
	if got := next(); got != `{"admin":1,"user":1}` {
		t.Errorf("first message %q, want the README's {\"admin\":1,\"user\":1}", got)
	}
	run(lines[2])
	if got := next(); got != `{"admin":2,"user":1}` {
		t.Errorf("after Carol joined: %q, want the README's {\"admin\":2,\"user\":1}", got)
	}
	info := run(lines[3])
	for _, want := range []string{`"runs":2`, `"reads":["users: every record"]`} {
		if !strings.Contains(info, want) {
			t.Errorf("%s printed %s, want it to hold %s", lines[3], info, want)
		}
	}
}
