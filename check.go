package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"bucketd/script"
	"bucketd/snapshot"
)

// runCheck is `bucketd check --dir D [--fix]`: it verifies a data
// directory as start-up reads it and, with --fix, cuts a damaged
// append-only file at its first bad entry (docs/persistence.md). Exit
// codes: 0 sound (or fixed), 1 damaged or locked, 2 usage.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bucketd check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "./data", "the data directory to check")
	fix := fs.Bool("fix", false, "cut a damaged append-only file at its first bad entry, keeping a copy")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bucketd check: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	scratch := script.New(script.Options{Log: zerolog.Nop()})
	defer scratch.Close()
	ok, err := snapshot.Check(snapshot.CheckOptions{Dir: *dir, Fix: *fix, Out: stdout, Now: time.Now().Unix(),
		Functions: snapshot.Functions{Restore: func(p []byte) error { return scratch.Restore(p, script.RestoreFlush) }}})
	if err != nil {
		fmt.Fprintln(stderr, "bucketd check:", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}
