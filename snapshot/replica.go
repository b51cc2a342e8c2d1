package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strconv"

	"github.com/rs/zerolog"

	"bucketd/engine"
	"bucketd/jsonv"
)

// Replication (docs/replication.md) ships the entries of this package's
// format: a replicated node's log entry is a run of append-only file
// entries (AppendCommit with replicated set, AppendDefinition), and its
// Raft snapshot is a snapshot file's content (WriteImage, LoadImage).

// State is the state that replicated entries change (ApplyEntries).
type State interface {
	// Changes applies one commit's changes (engine.Store.ApplyReplicated).
	Changes(changes []engine.Replicated) error
	// Define creates a bucket, or alters it when altered is set.
	Define(name string, definition []byte, altered bool) error
	// Drop drops a bucket.
	Drop(name string) error
	// Query defines a query (definition nil: drops it).
	Query(name string, definition []byte) error
	// Functions replaces every function library with payload's.
	Functions(payload []byte) error
}

// Target receives the operations of replicated entries (ApplyEntries):
// the State's, and the members' addresses.
type Target interface {
	State
	// Member records a cluster member's client address.
	Member(id, clientAddr string) error
}

// Definition kinds for AppendDefinition.
const (
	DefBucket    = opDefine
	DefAlter     = opAlter
	DefDrop      = opDrop
	DefQuery     = opQDefine
	DefQueryDrop = opQDrop
	DefFunctions = opFuncs
	DefNode      = opNode
)

// AppendDefinition appends the entry of a definition change to dst: kind
// is one of the Def constants; args are its words after the operation's
// name (DefBucket: name, definition; DefDrop: name; DefFunctions: payload;
// …), as the append-only file writes them.
func AppendDefinition(dst []byte, kind string, args ...[]byte) []byte {
	op := make(Op, 0, 1+len(args))
	op = append(op, []byte(kind))
	op = append(op, args...)
	return AppendEntry(dst, []Op{op})
}

// ApplyEntries applies every entry of data, in order, to t: each commit as
// one call of t.Changes. dec decodes the records (it is not safe for
// concurrent use). A damaged entry is an error; the entries before it
// stay applied.
func ApplyEntries(dec *engine.RecordDecoder, data []byte, t Target) error {
	r := NewReader(data, "replication entry")
	for {
		ops, err := r.Next()
		if err == ErrTorn {
			return errors.New("replication entry: torn")
		}
		if err != nil {
			return err
		}
		if ops == nil {
			return nil
		}
		if err := applyReplicated(dec, ops, t); err != nil {
			return fmt.Errorf("replication entry at %d: %w", r.Offset(), err)
		}
	}
}

// applyReplicated applies one entry's operations.
func applyReplicated(dec *engine.RecordDecoder, ops []Op, t Target) error {
	var changes []engine.Replicated
	for _, op := range ops {
		if err := checkOp(op); err != nil {
			return err
		}
		name := string(op[0])
		switch name {
		case opPut, opDel, opClear:
			if len(op) < 3 {
				return fmt.Errorf("%s: wrong number of arguments", name)
			}
			seq, err := strconv.ParseUint(string(op[2]), 10, 64)
			if err != nil {
				return fmt.Errorf("%s: sequence %q", name, op[2])
			}
			r := engine.Replicated{Bucket: string(op[1]), Seq: seq}
			switch name {
			case opPut:
				if len(op) < 5 {
					return fmt.Errorf("PUT: wrong number of arguments")
				}
				if r.Counter, err = strconv.ParseInt(string(op[3]), 10, 64); err != nil {
					return fmt.Errorf("PUT: counter %q", op[3])
				}
				r.Op = engine.OpInserted
				if r.Record, err = dec.DecodeJSON(r.Bucket, op[4]); err != nil {
					return err
				}
				if len(op) == 6 {
					r.Reason = string(op[5])
				}
			case opDel:
				r.Op = engine.OpDeleted
				if r.Key, err = jsonv.Parse(op[3]); err != nil {
					return fmt.Errorf("DEL: key: %w", err)
				}
				if len(op) == 5 {
					r.Reason = string(op[4])
				}
				r.Counter = -1
			case opClear:
				r.Op = engine.OpCleared
				r.Counter = -1
			}
			changes = append(changes, r)
			continue
		}
		if len(changes) > 0 {
			return fmt.Errorf("%s among a commit's changes", name)
		}
		var err error
		switch name {
		case opDefine, opAlter:
			err = t.Define(string(op[1]), bytes.Clone(op[2]), name == opAlter)
		case opDrop:
			err = t.Drop(string(op[1]))
		case opQDefine:
			err = t.Query(string(op[1]), bytes.Clone(op[2]))
		case opQDrop:
			err = t.Query(string(op[1]), nil)
		case opFuncs:
			err = t.Functions(bytes.Clone(op[1]))
		case opNode:
			err = t.Member(string(op[1]), string(op[2]))
		default:
			err = fmt.Errorf("%s in a replication entry", name)
		}
		if err != nil {
			return err
		}
	}
	if len(changes) > 0 {
		return t.Changes(changes)
	}
	return nil
}

// LoadImage loads a snapshot that WriteImage wrote into an empty store and
// the query and function registries, as start-up loads a snapshot file
// (records decoded on every core, indexes built at the end, on huge pages
// when hugePages is set: adviseLoad).
func LoadImage(store *engine.Store, queries Queries, functions Functions, data []byte, log zerolog.Logger, hugePages bool) error {
	p := &Persistence{opts: Options{Functions: functions, Log: log}, store: store, queries: queries, log: log}
	if hugePages {
		advised, done := adviseLoad(snapshotHeapFactor * int64(len(data)))
		defer done()
		log.Debug().Int64("huge_pages_advised", advised).Msg("loading a raft snapshot")
	}
	store.BeginLoad()
	l := p.newLoader("raft snapshot")
	err := p.readSnapshot(NewReader(data, "raft snapshot"), l)
	if lerr := l.close(); lerr != nil {
		err = lerr
	}
	store.FinishLoad(runtime.GOMAXPROCS(0))
	return err
}
