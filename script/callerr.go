package script

import (
	"reflect"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// gopher-lua reports a call of a value that is not a function as "attempt
// to call a non-function object", and indexing one that is not a table as
// "attempt to index a non-table object(nil) with key 'k'"; Lua 5.1, and so
// Redis, names what was called or indexed and its type: "attempt to call
// field 'register_function' (a nil value)", "attempt to index local 'g' (a
// boolean value)", "attempt to call a nil value". callErrorText rebuilds
// that text for the error handler from the failing frame: the instruction
// at its pc, the name the compiler recorded for a call, the instruction
// that loaded the register, local names, and the register's type.
// gopher-lua does not export the frame's pc and registers, so they are
// read through reflection; when that fails (another gopher-lua version)
// the text stays as it is.

const (
	gopherCallError  = "attempt to call a non-function object"
	gopherIndexError = "attempt to index a non-table object("
)

// gopher-lua's opcodes (Lua 5.1's, plus OP_MOVEN after OP_MOVE and
// OP_GETTABLEKS after OP_GETTABLE).
const (
	opMove       = lua.OP_MOVE
	opGetUpval   = lua.OP_GETUPVAL
	opGetGlobal  = lua.OP_GETGLOBAL
	opGetTable   = lua.OP_GETTABLE
	opGetTableKS = lua.OP_GETTABLEKS
	opSelf       = lua.OP_SELF
	opSetTable   = lua.OP_SETTABLE
	opSetTableKS = lua.OP_SETTABLEKS
	opCall       = lua.OP_CALL
	opTailCall   = lua.OP_TAILCALL
)

func instOp(inst uint32) int { return int(inst >> 26) }
func instA(inst uint32) int  { return int(inst>>18) & 0xff }
func instB(inst uint32) int  { return int(inst & 0x1ff) }
func instC(inst uint32) int  { return int(inst>>9) & 0x1ff }
func instBx(inst uint32) int { return int(inst & 0x3ffff) }

// rkConstant is the constant an RK operand names, as a string, or "".
func rkConstant(proto *lua.FunctionProto, rk int) string {
	if rk&0x100 == 0 {
		return ""
	}
	if k, ok := proto.Constants[rk&0xff].(lua.LString); ok {
		return string(k)
	}
	return ""
}

// callErrorText returns msg with gopher-lua's call or index error worded
// as Lua 5.1 words it, for the error raised in the Lua frame dbg.
func callErrorText(L *lua.LState, dbg *lua.Debug, msg string) (out string) {
	prefix, isCall := strings.CutSuffix(msg, gopherCallError)
	typ := ""
	if !isCall {
		i := strings.LastIndex(msg, gopherIndexError)
		if i < 0 {
			return msg
		}
		prefix = msg[:i]
		typ, _, _ = strings.Cut(msg[i+len(gopherIndexError):], ")")
	}
	defer func() { // reflection on another layout: keep msg
		if recover() != nil {
			out = msg
		}
	}()
	frame := reflect.ValueOf(dbg).Elem().FieldByName("frame")
	if !frame.IsValid() || frame.IsNil() {
		return msg
	}
	frame = frame.Elem()
	pc := int(frame.FieldByName("Pc").Int()) - 1
	base := int(frame.FieldByName("LocalBase").Int())
	fnv, err := L.GetInfo("f", dbg, lua.LNil)
	fn, _ := fnv.(*lua.LFunction)
	if err != nil || fn == nil || fn.Proto == nil || pc < 0 || pc >= len(fn.Proto.Code) {
		return msg
	}
	inst := fn.Proto.Code[pc]
	var kind, name, verb string
	switch op := instOp(inst); {
	case isCall && (op == opCall || op == opTailCall):
		verb, typ = "call", registerType(L, base+instA(inst))
		kind, name = calledName(fn, pc, instA(inst))
	case !isCall && (op == opGetTable || op == opGetTableKS || op == opSelf):
		verb = "index"
		kind, name = registerName(fn, pc, instB(inst))
	case !isCall && (op == opSetTable || op == opSetTableKS):
		verb = "index"
		kind, name = registerName(fn, pc, instA(inst))
	default:
		return msg
	}
	if typ == "" || typ == "function" {
		// A function was called: the error came from inside it (through
		// coroutine.wrap), not from this call.
		return msg
	}
	if kind != "" {
		return prefix + "attempt to " + verb + " " + kind + " '" + name + "' (a " + typ + " value)"
	}
	return prefix + "attempt to " + verb + " a " + typ + " value"
}

// calledName is the kind (global, local, field, method, upvalue) and name
// of what the CALL at pc calls from register ra, or "" when unnamed.
func calledName(fn *lua.LFunction, pc, ra int) (kind, name string) {
	for _, c := range fn.Proto.DbgCalls {
		if c.Pc == pc && c.Name != "?" {
			if kind, _ = registerName(fn, pc, ra); kind != "" {
				return kind, c.Name
			}
		}
	}
	return "", ""
}

// registerName is what Lua 5.1's getobjname finds for register r at pc:
// a local's name, or the global, field, method or upvalue the instruction
// that last loaded r read; "" when it cannot tell.
func registerName(fn *lua.LFunction, pc, r int) (kind, name string) {
	if name, ok := localName(fn.Proto, r, pc); ok {
		return "local", name
	}
	proto := fn.Proto
	for i := pc - 1; i >= 0; i-- {
		inst := proto.Code[i]
		if instA(inst) != r {
			continue
		}
		switch instOp(inst) {
		case opGetGlobal:
			if k, ok := proto.Constants[instBx(inst)].(lua.LString); ok {
				return "global", string(k)
			}
		case opGetTable, opGetTableKS:
			if k := rkConstant(proto, instC(inst)); k != "" {
				return "field", k
			}
		case opSelf:
			if k := rkConstant(proto, instC(inst)); k != "" {
				return "method", k
			}
		case opGetUpval:
			if b := instB(inst); b < len(proto.DbgUpvalues) {
				return "upvalue", proto.DbgUpvalues[b]
			}
		case opMove:
			if name, ok := localName(proto, instB(inst), i); ok {
				return "local", name
			}
		}
		return "", ""
	}
	return "", ""
}

// localName is the name of the local in register r at pc, as Lua 5.1's
// luaF_getlocalname finds it (gopher-lua's LocalName is off by one at the
// start of a local's scope).
func localName(proto *lua.FunctionProto, r, pc int) (string, bool) {
	n := r + 1
	for _, l := range proto.DbgLocals {
		if l.StartPc > pc {
			break
		}
		if pc < l.EndPc {
			if n--; n == 0 {
				return l.Name, true
			}
		}
	}
	return "", false
}

// registerType is the Lua type name of register i of L's stack, or "".
func registerType(L *lua.LState, i int) string {
	arr := reflect.ValueOf(L).Elem().FieldByName("reg").Elem().FieldByName("array")
	if i < 0 || i >= arr.Len() {
		return ""
	}
	v := arr.Index(i)
	if v.IsNil() {
		return "nil"
	}
	switch v.Elem().Type() {
	case reflect.TypeOf(lua.LNil):
		return "nil"
	case reflect.TypeOf(lua.LTrue):
		return "boolean"
	case reflect.TypeOf(lua.LNumber(0)):
		return "number"
	case reflect.TypeOf(lua.LString("")):
		return "string"
	case reflect.TypeOf(&lua.LTable{}):
		return "table"
	case reflect.TypeOf(&lua.LUserData{}):
		return "userdata"
	case reflect.TypeOf(&lua.LState{}):
		return "thread"
	}
	return ""
}
