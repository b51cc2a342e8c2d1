// Command floor is the floor of bucketd's stack: a redcon server that
// answers every command with the same 5-field record JSON, doing no work.
// bench/compare measures it next to redis-server to show how close to the
// network layer's limit B.GET gets on this machine.
package main

import (
	"flag"
	"log"

	"github.com/tidwall/redcon"
)

const record = `{"id":"42","name":"Alice Smith","email":"alice@example.com","age":31,"role":"admin","_version":1,"_createdAt":1764000000000,"_updatedAt":1764000000000}`

func main() {
	addr := flag.String("addr", "127.0.0.1:6399", "address to listen on")
	flag.Parse()
	reply := []byte(record)
	err := redcon.ListenAndServe(*addr,
		func(conn redcon.Conn, cmd redcon.Command) {
			switch string(cmd.Args[0]) {
			case "CONFIG", "config":
				conn.WriteArray(0)
			default:
				conn.WriteBulk(reply)
			}
		},
		func(conn redcon.Conn) bool { return true },
		func(conn redcon.Conn, err error) {},
	)
	if err != nil {
		log.Fatal(err)
	}
}
