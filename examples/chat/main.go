// Command chat is the chat exercise over bucketd, with go-redis: users with
// a unique username and email, rooms, messages that expire after 30 days, a
// live count of messages per room, and a transaction that checks the author
// and the room before it inserts a message — as WATCH/MULTI/EXEC, then as
// one call of the Lua function send_message (send_message.lua).
//
//	go run ./examples/chat -addr 127.0.0.1:6379
//
// It defines the buckets and the query (an identical definition is accepted
// again, so it can run twice), upserts two users and two rooms, subscribes
// to the live query's channel, posts messages and prints each new result the
// server pushes, then exits 0. Its buckets are named chat_users, chat_rooms
// and chat_messages, so it runs next to the README's users bucket.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The definitions are the ones of chat.redis.
const (
	usersDef = `{"key":"id","schema":{` +
		`"id":{"type":"string","pattern":"^[a-z0-9_-]+$"},` +
		`"username":{"type":"string","required":true,"unique":true,"minLength":3,"maxLength":32},` +
		`"email":{"type":"string","required":true,"format":"email","unique":true},` +
		`"joinedAt":{"type":"number","generated":"timestamp"}}}`
	roomsDef = `{"key":"id","schema":{` +
		`"id":{"type":"string","pattern":"^[a-z0-9_-]+$"},` +
		`"name":{"type":"string","required":true,"minLength":1},` +
		`"topic":{"type":"string","default":""}}}`
	messagesDef = `{"key":"id","schema":{` +
		`"id":{"type":"number","generated":"autoincrement"},` +
		`"roomId":{"type":"string","required":true},` +
		`"userId":{"type":"string","required":true},` +
		`"text":{"type":"string","required":true,"minLength":1,"maxLength":2000},` +
		`"sentAt":{"type":"number","generated":"timestamp"}},` +
		`"indexes":["roomId","userId"],"ttl":"30d"}`

	// perRoomQuery counts the messages of each room; its live results are
	// the pub/sub channel query.messagesPerRoom.
	perRoomQuery = `{"bucket":"chat_messages","aggregate":{"function":"count","groupBy":"roomId"}}`
	perRoomChan  = "query.messagesPerRoom"
	// dashboardChan is the live channel of the function query roomDashboard.
	dashboardChan = "query.roomDashboard"
)

// sendMessageLib is the function library with send_message, which
// chat.redis loads too.
//
//go:embed send_message.lua
var sendMessageLib string

// roomDashboard is the function query of the dashboard, which chat.redis
// defines too.
//
//go:embed room_dashboard.lua
var roomDashboard string

// errMissing is returned by post when the author or the room does not exist.
var errMissing = errors.New("does not exist")

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "bucketd address")
	wait := flag.Duration("wait", 5*time.Second, "how long to wait for each live result")
	flag.Parse()
	if err := run(*addr, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

func run(addr string, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cannot reach bucketd at %s: %w", addr, err)
	}

	for _, b := range []struct{ name, def string }{{"chat_users", usersDef}, {"chat_rooms", roomsDef}, {"chat_messages", messagesDef}} {
		if err := rdb.Do(ctx, "BUCKET.DEFINE", b.name, b.def).Err(); err != nil {
			return fmt.Errorf("defining bucket %s: %w", b.name, err)
		}
	}
	if err := rdb.Do(ctx, "QUERY.DEFINE", "messagesPerRoom", perRoomQuery).Err(); err != nil {
		return fmt.Errorf("defining query messagesPerRoom: %w", err)
	}
	fmt.Println("defined buckets chat_users, chat_rooms, chat_messages and query messagesPerRoom")

	// UPSERT inserts a record or updates the one with its key, so a
	// second run finds the same users and rooms.
	for _, rec := range []string{
		`{"id":"alice","username":"alice","email":"alice@example.com"}`,
		`{"id":"bob","username":"bob","email":"bob@example.com"}`,
	} {
		if err := rdb.Do(ctx, "B.UPSERT", "chat_users", rec).Err(); err != nil {
			return fmt.Errorf("upserting user: %w", err)
		}
	}
	for _, rec := range []string{
		`{"id":"general","name":"General","topic":"Anything goes"}`,
		`{"id":"random","name":"Random"}`,
	} {
		if err := rdb.Do(ctx, "B.UPSERT", "chat_rooms", rec).Err(); err != nil {
			return fmt.Errorf("upserting room: %w", err)
		}
	}
	fmt.Println("users: alice, bob; rooms: general, random")

	err := rdb.Do(ctx, "B.INSERT", "chat_users", `{"id":"alice2","username":"alice","email":"alice2@example.com"}`).Err()
	if err == nil {
		return errors.New("a second user named alice was accepted")
	}
	fmt.Println("duplicate username refused:", err)

	// A plain SUBSCRIBE to the query's channel: the first message is the
	// current result, then one message each time it changes.
	sub := rdb.Subscribe(ctx, perRoomChan)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("subscribing to %s: %w", perRoomChan, err)
	}
	live := sub.Channel()
	next := func() (string, error) {
		select {
		case m, ok := <-live:
			if !ok {
				return "", errors.New("the subscription was closed")
			}
			return m.Payload, nil
		case <-time.After(wait):
			return "", fmt.Errorf("no message on %s within %v: are reactive queries (QUERY.DEFINE, SUBSCRIBE query.<name>) working?", perRoomChan, wait)
		}
	}
	first, err := next()
	if err != nil {
		return err
	}
	fmt.Println("subscribed to", perRoomChan+"; current result:", first)

	posts := []struct{ user, room, text string }{
		{"alice", "general", "Hello, everyone!"},
		{"bob", "general", "Hi Alice!"},
		{"ghost", "general", "Boo!"},
		{"alice", "random", "Anyone here?"},
		{"alice", "nowhere", "Hello?"},
		{"bob", "random", "I am!"},
	}
	for _, p := range posts {
		rec, err := post(ctx, rdb, p.user, p.room, p.text)
		if errors.Is(err, errMissing) {
			fmt.Println("rejected:", err)
			continue
		}
		if err != nil {
			return err
		}
		var m struct {
			ID        float64 `json:"id"`
			CreatedAt float64 `json:"_createdAt"`
			ExpiresAt float64 `json:"_expiresAt"`
		}
		if err := json.Unmarshal([]byte(rec), &m); err != nil {
			return fmt.Errorf("message record %q: %w", rec, err)
		}
		fmt.Printf("%s in #%s: %s (message %v, expires in %v days)\n", p.user, p.room, p.text, m.ID,
			(m.ExpiresAt-m.CreatedAt)/float64(24*time.Hour/time.Millisecond))
		// Each post changes the counts, and the next one waits for the
		// push, so every post gives exactly one new result.
		res, err := next()
		if err != nil {
			return err
		}
		fmt.Println("live messagesPerRoom:", res)
	}

	// The same post as one function call: send_message checks the author
	// and the room and inserts the message in one round trip, holding the
	// three buckets while it runs, so no WATCH and no retry.
	if err := rdb.FunctionLoadReplace(ctx, sendMessageLib).Err(); err != nil {
		return fmt.Errorf("FUNCTION LOAD: %w", err)
	}
	fmt.Println("loaded the function library chat (send_message.lua)")
	for _, p := range []struct{ user, room, text string }{
		{"bob", "general", "One round trip"},
		{"ghost", "random", "Boo!"},
	} {
		id, err := sendMessage(ctx, rdb, p.user, p.room, p.text)
		if err != nil {
			if strings.HasPrefix(err.Error(), "NOTFOUND ") {
				fmt.Println("rejected by send_message:", err)
				continue
			}
			return err
		}
		fmt.Printf("%s in #%s: %s (message %v, by FCALL send_message)\n", p.user, p.room, p.text, id)
		res, err := next()
		if err != nil {
			return err
		}
		fmt.Println("live messagesPerRoom:", res)
	}

	final, err := rdb.Do(ctx, "QUERY.RUN", "messagesPerRoom").Text()
	if err != nil {
		return fmt.Errorf("QUERY.RUN messagesPerRoom: %w", err)
	}
	fmt.Println("QUERY.RUN messagesPerRoom:", final)

	// The dashboard as a function query: Lua that reads every room and
	// counts each room's messages. The server reruns it when a room
	// changes or a message of a room comes or goes, and pushes the result
	// when it differs.
	if err := rdb.Do(ctx, "QUERY.DEFINE", "roomDashboard", "LUA", roomDashboard).Err(); err != nil {
		return fmt.Errorf("defining query roomDashboard: %w", err)
	}
	dash := rdb.Subscribe(ctx, dashboardChan)
	defer dash.Close()
	if _, err := dash.Receive(ctx); err != nil {
		return fmt.Errorf("subscribing to %s: %w", dashboardChan, err)
	}
	board := dash.Channel()
	nextBoard := func() (string, error) {
		select {
		case m := <-board:
			return m.Payload, nil
		case <-time.After(wait):
			return "", fmt.Errorf("no message on %s within %v: are function queries (QUERY.DEFINE … LUA) working?", dashboardChan, wait)
		}
	}
	res, err := nextBoard()
	if err != nil {
		return err
	}
	fmt.Println("live roomDashboard (room_dashboard.lua):", res)
	lastID, err := sendMessage(ctx, rdb, "alice", "random", "Nice dashboard")
	if err != nil {
		return err
	}
	fmt.Printf("alice in #random: Nice dashboard (message %v)\n", lastID)
	if res, err = nextBoard(); err != nil {
		return err
	}
	fmt.Println("live roomDashboard:", res)
	fmt.Printf("done (last message id %v)\n", lastID)
	return nil
}

// sendMessage posts a message with FCALL send_message and returns its id;
// a NOTFOUND error is the function's refusal.
func sendMessage(ctx context.Context, rdb *redis.Client, user, room, text string) (float64, error) {
	rec, err := rdb.FCall(ctx, "send_message", []string{"chat_users", "chat_rooms", "chat_messages"}, user, room, text).Text()
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOTFOUND ") {
			return 0, err
		}
		return 0, fmt.Errorf("FCALL send_message: %w", err)
	}
	var m struct {
		ID float64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(rec), &m); err != nil {
		return 0, fmt.Errorf("message record %q: %w", rec, err)
	}
	return m.ID, nil
}

// post inserts a message from user in room, in a transaction that first
// checks that both exist: WATCH makes EXEC fail (and post retry) if either
// changes, or is deleted, between the check and the insert. It returns the
// stored message record.
func post(ctx context.Context, rdb *redis.Client, user, room, text string) (string, error) {
	msg, err := json.Marshal(map[string]string{"roomId": room, "userId": user, "text": text})
	if err != nil {
		return "", err
	}
	var rec string
	check := func(tx *redis.Tx) error {
		for _, ref := range []struct{ bucket, what, key string }{{"chat_users", "user", user}, {"chat_rooms", "room", room}} {
			err := tx.Do(ctx, "B.GET", ref.bucket, ref.key).Err()
			if errors.Is(err, redis.Nil) {
				return fmt.Errorf("%s %q %w", ref.what, ref.key, errMissing)
			}
			if err != nil {
				return err
			}
		}
		cmds, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Do(ctx, "B.INSERT", "chat_messages", string(msg))
			return nil
		})
		if err != nil {
			return err
		}
		rec, err = cmds[0].(*redis.Cmd).Text()
		return err
	}
	for range 10 {
		err := rdb.Watch(ctx, check, "chat_users:"+user, "chat_rooms:"+room)
		if errors.Is(err, redis.TxFailedErr) {
			continue // the author or the room changed meanwhile: check again
		}
		return rec, err
	}
	return "", fmt.Errorf("posting in %s: the author or the room kept changing", room)
}
