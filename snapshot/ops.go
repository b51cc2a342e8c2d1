package snapshot

import "fmt"

// The operations of the snapshot and the append-only file. This table is
// the one list of them: the writers use the names, and the replay and
// `bucketd check` check every operation against it before anything else.
const (
	opSnapshot = "SNAPSHOT"  // SNAPSHOT <format-version> <unix-ms>: a snapshot's first entry
	opEnd      = "END"       // END <entries-before>: a snapshot's last entry
	opBucket   = "BUCKET"    // BUCKET <name> <definition> <counter> <event-seq> [<records>]: a bucket in a snapshot
	opRecords  = "RECORDS"   // RECORDS <bucket> <block>: records in a snapshot, binary (engine.AppendRecords)
	opDefine   = "DEFINE"    // DEFINE <name> <definition>
	opAlter    = "ALTER"     // ALTER <name> <definition>
	opDrop     = "DROP"      // DROP <name>
	opPut      = "PUT"       // PUT <bucket> <record> (snapshot) | PUT <bucket> <seq> <counter> <record> [<reason>]
	opDel      = "DEL"       // DEL <bucket> <seq> <key-json> [<reason>] (the reason: replication entries only)
	opClear    = "CLEAR"     // CLEAR <bucket> <seq>
	opQuery    = "QUERY"     // QUERY <name> <definition>: a query definition in a snapshot
	opQDefine  = "QDEFINE"   // QDEFINE <name> <definition>
	opQDrop    = "QDROP"     // QDROP <name>
	opFuncs    = "FUNCTIONS" // FUNCTIONS <payload>: every function library, as FUNCTION DUMP gives them
	opNode     = "NODE"      // NODE <id> <client-addr>: a cluster member's address (replication entries only)
)

// opArities gives, for each operation, the numbers of words it may have,
// its name included.
var opArities = map[string][]int{
	opSnapshot: {3},
	opEnd:      {2},
	opBucket:   {5, 6},
	opRecords:  {3},
	opDefine:   {3},
	opAlter:    {3},
	opDrop:     {2},
	opPut:      {3, 5, 6},
	opDel:      {4, 5},
	opClear:    {3},
	opQuery:    {3},
	opQDefine:  {3},
	opQDrop:    {2},
	opFuncs:    {2},
	opNode:     {3},
}

// checkOp says whether op is a known operation with a valid number of
// words.
func checkOp(op Op) error {
	if len(op) == 0 {
		return fmt.Errorf("empty operation")
	}
	arities, ok := opArities[string(op[0])]
	if !ok {
		return fmt.Errorf("unknown operation %q", op[0])
	}
	for _, n := range arities {
		if len(op) == n {
			return nil
		}
	}
	return fmt.Errorf("%s: wrong number of arguments", op[0])
}
