package commands

import (
	"slices"
	"strconv"
	"strings"

	"bucketd/pubsub/glob"
)

// COMMAND LIST, GETKEYS and GETKEYSANDFLAGS, and the ACL categories that
// COMMAND INFO reports and FILTERBY ACLCAT selects (docs/commands.md,
// "COMMAND").

// groupCategories maps a command group to Redis's ACL category of it.
var groupCategories = map[string]string{
	"pubsub": "pubsub", "keyspace": "keyspace", "transactions": "transaction",
	"scripting": "scripting", "connection": "connection",
}

// aclCategories returns the ACL categories of cmd, as Redis names them,
// from its flags and its group (a subcommand's parent's).
func aclCategories(cmd *Command) []string {
	var out []string
	switch {
	case cmd.Flags&FlagWrite != 0:
		out = append(out, "write")
	case cmd.Flags&FlagReadOnly != 0:
		out = append(out, "read")
	}
	if cmd.Flags&FlagFast != 0 {
		out = append(out, "fast")
	} else {
		out = append(out, "slow")
	}
	if cmd.Flags&FlagAdmin != 0 {
		out = append(out, "admin", "dangerous")
	}
	group := cmd.Group
	if cmd.parent != nil {
		group = cmd.parent.Group
	}
	if cat, ok := groupCategories[group]; ok {
		out = append(out, cat)
	}
	return out
}

// cmdCommandList is COMMAND LIST [FILTERBY MODULE name|ACLCAT category|
// PATTERN pattern]: every command and subcommand ("config|get"), or those
// the filter keeps.
func cmdCommandList(c *Ctx) {
	keep := func(*Command) bool { return true }
	switch {
	case len(c.Args) == 2:
	case len(c.Args) == 5 && strings.EqualFold(c.Arg(2), "filterby"):
		arg := c.Arg(4)
		switch strings.ToLower(c.Arg(3)) {
		case "module":
			keep = func(*Command) bool { return false } // bucketd has no modules
		case "aclcat":
			keep = func(cmd *Command) bool { return slices.Contains(aclCategories(cmd), strings.ToLower(arg)) }
		case "pattern":
			keep = func(cmd *Command) bool { return glob.MatchFold(arg, cmd.Name) }
		default:
			c.ErrMsg("syntax error")
			return
		}
	default:
		c.ErrMsg("syntax error")
		return
	}
	var names []string
	for _, cmd := range c.S.table.Sorted() {
		if keep(cmd) {
			names = append(names, cmd.Name)
		}
		for _, sub := range sortedSubs(cmd) {
			if keep(sub) {
				names = append(names, sub.Name)
			}
		}
	}
	c.W.Array(len(names))
	for _, n := range names {
		c.W.BulkString(n)
	}
}

// keyPositions returns where a command's keys are among args (args[0] the
// name): EVAL's and FCALL's after their numkeys, else FirstKey to LastKey
// by Step. ok is false when the arguments do not hold them.
func keyPositions(cmd *Command, args [][]byte) (pos []int, ok bool) {
	if cmd.Flags&FlagBucketKeys != 0 {
		if len(args) < 3 {
			return nil, false
		}
		n, err := strconv.Atoi(string(args[2]))
		if err != nil || n < 0 || 3+n > len(args) {
			return nil, false
		}
		for i := 3; i < 3+n; i++ {
			pos = append(pos, i)
		}
		return pos, true
	}
	last := cmd.LastKey
	if last < 0 {
		last += len(args)
	}
	for i := cmd.FirstKey; i <= last && i < len(args); i += max(cmd.Step, 1) {
		pos = append(pos, i)
	}
	return pos, len(pos) > 0
}

// keyFlags returns the access flags of a command's keys, as COMMAND
// GETKEYSANDFLAGS shows Redis's.
func keyFlags(cmd *Command) []string {
	switch {
	case cmd.Name == "del" || cmd.Name == "unlink":
		return []string{"RM", "delete"}
	case cmd.Flags&FlagWrite != 0:
		return []string{"RW", "update"}
	}
	return []string{"RO", "access"}
}

// cmdCommandGetKeys is COMMAND GETKEYS (flags false) and COMMAND
// GETKEYSANDFLAGS, with Redis's error texts.
func cmdCommandGetKeys(flags bool) func(*Ctx) {
	return func(c *Ctx) {
		args := c.Args[2:]
		cmd := c.S.table.lookup(args[0])
		if cmd != nil && cmd.Subs != nil && len(args) >= 2 {
			cmd = cmd.Subs[strings.ToLower(string(args[1]))]
		}
		switch {
		case cmd == nil:
			c.ErrMsg("Invalid command specified")
			return
		case cmd.FirstKey == 0 && cmd.Flags&FlagBucketKeys == 0:
			c.ErrMsg("The command has no key arguments")
			return
		case !arityOK(cmd.Arity, len(args)):
			c.ErrMsg("Invalid number of arguments specified for command")
			return
		}
		pos, ok := keyPositions(cmd, args)
		if !ok && cmd.Flags&FlagBucketKeys == 0 {
			c.ErrMsg("Invalid arguments specified for command")
			return
		}
		c.W.Array(len(pos))
		for _, i := range pos {
			if !flags {
				c.W.Bulk(args[i])
				continue
			}
			c.W.Array(2)
			c.W.Bulk(args[i])
			fl := keyFlags(cmd)
			c.W.Array(len(fl))
			for _, f := range fl {
				c.W.Simple(f)
			}
		}
	}
}
