package tests

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The README's redis-cli lines work as shown: the quick start, then the
// reactive queries (subscribing with redis-cli SUBSCRIBE to the query's
// channel), then the chat example on the same server (its buckets do not
// clash with the quick start's users).

// readmeCLILines returns the redis-cli command lines of the first sh code
// block after heading in README.md that has some.
func readmeCLILines(t *testing.T, readme, heading string) []string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	var lines []string
	in := false
	for _, l := range strings.Split(readme[i:], "\n") {
		switch {
		case l == "```sh":
			in = true
		case in && l == "```":
			if len(lines) > 0 {
				return lines
			}
			in = false
		case in && strings.HasPrefix(l, "redis-cli "):
			lines = append(lines, l)
		}
	}
	t.Fatalf("README.md section %q has no sh block of redis-cli lines", heading)
	return nil
}

// cliScript turns a README line into a shell command that runs redis-cli
// against the server; the shell does the quoting as it would for a reader.
func cliScript(t *testing.T, s *Server, line string) (env []string, script string) {
	host, port, _ := net.SplitHostPort(s.Addr)
	env = append(os.Environ(), "BUCKETD_CLI="+redisCLI(t), "BUCKETD_HOST="+host, "BUCKETD_PORT="+port)
	return env, `exec "$BUCKETD_CLI" -h "$BUCKETD_HOST" -p "$BUCKETD_PORT" ` + strings.TrimPrefix(line, "redis-cli ")
}

// shCLI runs one README line with sh, redis-cli pointed at the server.
func shCLI(t *testing.T, s *Server, line string) string {
	t.Helper()
	env, script := cliScript(t, s, line)
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return string(out)
}

// subscribeLine starts a README line that subscribes (it never exits by
// itself) and returns its output once it holds every word of want.
func subscribeLine(t *testing.T, s *Server, line string, want ...string) string {
	t.Helper()
	cx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env, script := cliScript(t, s, line)
	cmd := exec.CommandContext(cx, "sh", "-c", script)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		done := true
		for _, w := range want {
			done = done && strings.Contains(out.String(), w)
		}
		if done {
			return out.String()
		}
	}
	t.Fatalf("%s printed, then stopped:\n%s\nwant %q", line, out.String(), want)
	return ""
}

func TestDocsReadmeRedisCLI(t *testing.T) {
	t.Parallel()
	redisCLI(t)
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	s := Start(t)

	quick := readmeCLILines(t, readme, "## Quick start")
	if len(quick) < 7 {
		t.Fatalf("README quick start: %d redis-cli lines: %q", len(quick), quick)
	}
	for _, line := range quick {
		if strings.Contains(line, "SUBSCRIBE") {
			continue // it stays listening
		}
		out := shCLI(t, s, line)
		if strings.Contains(line, "B.WHERE") && (!strings.Contains(out, `"name":"Alice"`) || strings.Contains(out, "Bob")) {
			t.Errorf("%s printed %q, want Alice only", line, out)
		}
		code, _, _ := strings.Cut(out, " ")
		switch {
		case strings.Contains(line, `'{"email":"nope","age":-1}'`):
			if want := `VALIDATION Validation failed for bucket "users": name: Field is required; email: Invalid email format; age: Minimum value is 0`; !strings.Contains(out, want) {
				t.Errorf("%s printed %q, want %q", line, out, want)
			}
		case code == "ERR" || code == "EXISTS" || code == "NOBUCKET" || code == "VALIDATION" || code == "UNIQUE":
			t.Errorf("%s printed %q", line, out)
		}
	}

	var subs []string
	for _, line := range readmeCLILines(t, readme, "## Reactive queries") {
		if strings.Contains(line, "SUBSCRIBE") {
			subs = append(subs, line)
			continue
		}
		if out := shCLI(t, s, line); strings.HasPrefix(out, "ERR") || strings.HasPrefix(out, "NO") {
			t.Errorf("%s printed %q", line, out)
		}
	}
	if len(subs) != 2 {
		t.Fatalf("README reactive queries: %d SUBSCRIBE lines, want 2: %q", len(subs), subs)
	}
	// Alice is the admin; Bob is 17, a user.
	if got := subscribeLine(t, s, subs[0], "message", `[{"key":{"role":"admin"},"value":1},{"key":{"role":"user"},"value":1}]`); !strings.HasPrefix(got, "subscribe\nquery.roleCounts\n1\nmessage\nquery.roleCounts\n") {
		t.Errorf("%s printed:\n%s", subs[0], got)
	}
	if got := subscribeLine(t, s, subs[1], "message", `"name":"Alice"`); !strings.HasPrefix(got, "subscribe\nquery.byRole:{\"role\":\"admin\"}\n1\nmessage\nquery.byRole:{\"role\":\"admin\"}\n[{") || strings.Contains(got, "Bob") {
		t.Errorf("%s printed:\n%s", subs[1], got)
	}
	// What the README says of QUERY.SUBSCRIBE in redis-cli: the
	// confirmation, then redis-cli exits.
	if got := s.CLI(t, "QUERY.SUBSCRIBE", "byRole", `{"role":"admin"}`); got != "subscribe\nquery.byRole:{\"role\":\"admin\"}\n1\n" {
		t.Errorf("redis-cli QUERY.SUBSCRIBE printed %q", got)
	}

	// The chat example next to the quick start: the same output as on a
	// fresh server, but for the users bucket in BUCKET.LIST.
	script, err := os.ReadFile(filepath.Join("..", "examples", "chat", "chat.redis"))
	if err != nil {
		t.Fatal(err)
	}
	out := s.CLIStdin(t, string(script))
	want := strings.Replace(chatWantScript, "chat_users\n", "chat_users\nusers\n", 1)
	if got := chatStamps.ReplaceAllString(out, `"$1":T`); got != want {
		t.Errorf("redis-cli < chat.redis after the README printed:\n%s\nwant:\n%s", got, want)
	}
}
