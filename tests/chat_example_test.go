package tests

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// examples/chat (issue 9): the redis-cli script and the go-redis program,
// each run against a fresh server, then once more against the same server
// (both are meant to be runnable again).

// chatStamps matches the timestamps of a record, which change every run.
var chatStamps = regexp.MustCompile(`"(joinedAt|sentAt|_createdAt|_updatedAt|_expiresAt)":\d+`)

// chatLiveBroken fails the test with a clear word when the reactive query
// commands are missing or silent: the example relies on them.
func chatLiveBroken(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "unknown command 'QUERY.") || strings.Contains(out, "are reactive queries") {
		t.Fatalf("the chat example needs reactive queries (QUERY.DEFINE, SUBSCRIBE query.<name>), which do not work here:\n%s", out)
	}
}

// chatWantScript is what `redis-cli < examples/chat/chat.redis` prints on a
// fresh server, timestamps replaced by T.
const chatWantScript = `== 1. buckets: chat_users (unique username and email), chat_rooms, chat_messages (30-day TTL)
OK
OK
OK
chat_messages
chat_rooms
chat_users
== 2. users and rooms (UPSERT, so the script can run again)
{"id":"alice","username":"alice","email":"alice@example.com","joinedAt":T,"_version":1,"_createdAt":T,"_updatedAt":T}
{"id":"bob","username":"bob","email":"bob@example.com","joinedAt":T,"_version":1,"_createdAt":T,"_updatedAt":T}
{"id":"general","name":"General","topic":"Anything goes","_version":1,"_createdAt":T,"_updatedAt":T}
{"id":"random","name":"Random","topic":"","_version":1,"_createdAt":T,"_updatedAt":T}
== 3. the schema says no: a taken username, a bad email
UNIQUE Unique constraint violation in bucket "chat_users": field "username" already has value "alice"

VALIDATION Validation failed for bucket "chat_users": email: Invalid email format

== 4. a live query: messages per room (SUBSCRIBE query.messagesPerRoom elsewhere to watch it change)
OK
[]
== 5. post a message: WATCH the author and the room, check they exist, then MULTI/EXEC
OK
{"id":"alice","username":"alice","email":"alice@example.com","joinedAt":T,"_version":1,"_createdAt":T,"_updatedAt":T}
{"id":"general","name":"General","topic":"Anything goes","_version":1,"_createdAt":T,"_updatedAt":T}
OK
QUEUED
{"id":1,"roomId":"general","userId":"alice","text":"Hello, everyone!","sentAt":T,"_version":1,"_createdAt":T,"_updatedAt":T,"_expiresAt":T}
OK
{"id":"bob","username":"bob","email":"bob@example.com","joinedAt":T,"_version":1,"_createdAt":T,"_updatedAt":T}
{"id":"general","name":"General","topic":"Anything goes","_version":1,"_createdAt":T,"_updatedAt":T}
OK
QUEUED
{"id":2,"roomId":"general","userId":"bob","text":"Hi Alice!","sentAt":T,"_version":1,"_createdAt":T,"_updatedAt":T,"_expiresAt":T}
OK
{"id":"alice","username":"alice","email":"alice@example.com","joinedAt":T,"_version":1,"_createdAt":T,"_updatedAt":T}
{"id":"random","name":"Random","topic":"","_version":1,"_createdAt":T,"_updatedAt":T}
OK
QUEUED
{"id":3,"roomId":"random","userId":"alice","text":"Anyone here?","sentAt":T,"_version":1,"_createdAt":T,"_updatedAt":T,"_expiresAt":T}
== 6. the author goes away between the check and EXEC: EXEC replies nil and nothing is written
{"id":"dave","username":"dave","email":"dave@example.com","joinedAt":T,"_version":1,"_createdAt":T,"_updatedAt":T}
OK
{"id":"dave","username":"dave","email":"dave@example.com","joinedAt":T,"_version":1,"_createdAt":T,"_updatedAt":T}
{"id":"general","name":"General","topic":"Anything goes","_version":1,"_createdAt":T,"_updatedAt":T}
1
OK
QUEUED

== 7. reading the room
{"id":1,"roomId":"general","userId":"alice","text":"Hello, everyone!","sentAt":T,"_version":1,"_createdAt":T,"_updatedAt":T,"_expiresAt":T}
{"id":2,"roomId":"general","userId":"bob","text":"Hi Alice!","sentAt":T,"_version":1,"_createdAt":T,"_updatedAt":T,"_expiresAt":T}
2
[{"key":{"roomId":"general"},"value":2},{"key":{"roomId":"random"},"value":1}]
[{"key":{"roomId":"general"},"value":2},{"key":{"roomId":"random"},"value":1}]
== 8. the same post as one function call: FCALL send_message checks and inserts in one round trip
chat
{"id":4,"roomId":"general","userId":"bob","text":"One round trip","sentAt":T,"_version":1,"_createdAt":T,"_updatedAt":T,"_expiresAt":T}
NOTFOUND user "ghost" does not exist

[{"key":{"roomId":"general"},"value":3},{"key":{"roomId":"random"},"value":1}]
== 9. a live dashboard as a function query: every room with its message count (SUBSCRIBE query.roomDashboard elsewhere)
OK
[{"id":"general","messages":3,"name":"General"},{"id":"random","messages":1,"name":"Random"}]
`

func TestChatExampleScript(t *testing.T) {
	t.Parallel()
	redisCLI(t)
	script, err := os.ReadFile(filepath.Join("..", "examples", "chat", "chat.redis"))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(t)
	out := s.CLIStdin(t, string(script))
	chatLiveBroken(t, out)

	// A message lives 30 days.
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `"text":`) {
			continue
		}
		var m struct {
			CreatedAt float64 `json:"_createdAt"`
			ExpiresAt float64 `json:"_expiresAt"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil || m.ExpiresAt-m.CreatedAt != 30*24*3600*1000 {
			t.Errorf("message %s: want _expiresAt = _createdAt + 30 days", line)
		}
	}
	if got := chatStamps.ReplaceAllString(out, `"$1":T`); got != chatWantScript {
		t.Errorf("redis-cli < chat.redis printed:\n%s\nwant:\n%s", got, chatWantScript)
	}

	// Run again: the definitions are accepted, users and rooms upserted,
	// the same three errors, and four more messages.
	again := s.CLIStdin(t, string(script))
	lines := strings.Split(strings.TrimSuffix(again, "\n"), "\n")
	if n := len(lines); n < 2 || lines[n-1] != `[{"id":"general","messages":6,"name":"General"},{"id":"random","messages":2,"name":"Random"}]` {
		t.Errorf("second run ends with %q, want the dashboard with general 6 and random 2", lines[len(lines)-1])
	}
	var errs []string
	for _, l := range lines {
		if code, _, _ := strings.Cut(l, " "); code == "ERR" || code == "UNIQUE" || code == "VALIDATION" || code == "EXISTS" || code == "NOTFOUND" {
			errs = append(errs, l)
		}
	}
	if len(errs) != 3 || !strings.HasPrefix(errs[0], "UNIQUE ") || !strings.HasPrefix(errs[1], "VALIDATION ") || !strings.HasPrefix(errs[2], "NOTFOUND ") {
		t.Errorf("second run errors: %q, want the same UNIQUE, VALIDATION and NOTFOUND only", errs)
	}
}

// The library that chat.redis loads inline is examples/chat/send_message.lua,
// which the Go program embeds: one source, written twice only because
// redis-cli reads one command per line.
func TestChatExampleLibraryOneSource(t *testing.T) {
	t.Parallel()
	lua, err := os.ReadFile(filepath.Join("..", "examples", "chat", "send_message.lua"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join("..", "examples", "chat", "chat.redis"))
	if err != nil {
		t.Fatal(err)
	}
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(string(lua))
	if !strings.Contains(string(script), `FUNCTION LOAD REPLACE "`+esc+`"`) {
		t.Error("chat.redis does not load send_message.lua as it is: copy the file into its FUNCTION LOAD line (escaping \\, \" and newlines)")
	}
	dash, err := os.ReadFile(filepath.Join("..", "examples", "chat", "room_dashboard.lua"))
	if err != nil {
		t.Fatal(err)
	}
	esc = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(string(dash))
	if !strings.Contains(string(script), `QUERY.DEFINE roomDashboard LUA "`+esc+`"`) {
		t.Error("chat.redis does not define roomDashboard as room_dashboard.lua is: copy the file into its QUERY.DEFINE line (escaping \\, \" and newlines)")
	}
}

// chatWantProgram is what the go-redis program prints on a fresh server.
const chatWantProgram = `defined buckets chat_users, chat_rooms, chat_messages and query messagesPerRoom
users: alice, bob; rooms: general, random
duplicate username refused: UNIQUE Unique constraint violation in bucket "chat_users": field "username" already has value "alice"
subscribed to query.messagesPerRoom; current result: []
alice in #general: Hello, everyone! (message 1, expires in 30 days)
live messagesPerRoom: [{"key":{"roomId":"general"},"value":1}]
bob in #general: Hi Alice! (message 2, expires in 30 days)
live messagesPerRoom: [{"key":{"roomId":"general"},"value":2}]
rejected: user "ghost" does not exist
alice in #random: Anyone here? (message 3, expires in 30 days)
live messagesPerRoom: [{"key":{"roomId":"general"},"value":2},{"key":{"roomId":"random"},"value":1}]
rejected: room "nowhere" does not exist
bob in #random: I am! (message 4, expires in 30 days)
live messagesPerRoom: [{"key":{"roomId":"general"},"value":2},{"key":{"roomId":"random"},"value":2}]
loaded the function library chat (send_message.lua)
bob in #general: One round trip (message 5, by FCALL send_message)
live messagesPerRoom: [{"key":{"roomId":"general"},"value":3},{"key":{"roomId":"random"},"value":2}]
rejected by send_message: NOTFOUND user "ghost" does not exist
QUERY.RUN messagesPerRoom: [{"key":{"roomId":"general"},"value":3},{"key":{"roomId":"random"},"value":2}]
live roomDashboard (room_dashboard.lua): [{"id":"general","messages":3,"name":"General"},{"id":"random","messages":2,"name":"Random"}]
alice in #random: Nice dashboard (message 6)
live roomDashboard: [{"id":"general","messages":3,"name":"General"},{"id":"random","messages":3,"name":"Random"}]
done (last message id 6)
`

func TestChatExampleProgram(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "chat")
	build := exec.Command("go", "build", "-o", bin, "./examples/chat")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/chat: %v\n%s", err, out)
	}
	s := Start(t)
	runChat := func() string {
		t.Helper()
		cx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cx, bin, "-addr", s.Addr)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		chatLiveBroken(t, stderr.String())
		if err != nil {
			t.Fatalf("chat -addr %s: %v\nstdout:\n%s\nstderr:\n%s", s.Addr, err, out, stderr.String())
		}
		return string(out)
	}
	if got := runChat(); got != chatWantProgram {
		t.Errorf("the chat program printed:\n%s\nwant:\n%s", got, chatWantProgram)
	}
	// Against the same server again: the buckets and the query are
	// defined already, the users and rooms upserted, the counts go on.
	got := runChat()
	for _, want := range []string{
		"subscribed to query.messagesPerRoom; current result: " + `[{"key":{"roomId":"general"},"value":3},{"key":{"roomId":"random"},"value":3}]` + "\n",
		"alice in #general: Hello, everyone! (message 7, expires in 30 days)\n",
		`QUERY.RUN messagesPerRoom: [{"key":{"roomId":"general"},"value":6},{"key":{"roomId":"random"},"value":5}]` + "\n",
		`live roomDashboard: [{"id":"general","messages":6,"name":"General"},{"id":"random","messages":6,"name":"Random"}]` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("second run of the chat program lacks %q:\n%s", want, got)
		}
	}
	c := s.Raw(t)
	if got := c.Do("B.COUNT", "chat_messages", `{"userId":"ghost"}`); got != ":0\r\n" {
		t.Errorf("messages by ghost: %q, want none", got)
	}
	if got := c.Do("B.COUNT", "chat_messages"); got != ":12\r\n" {
		t.Errorf("B.COUNT chat_messages = %q, want 12", got)
	}
}
