package script

import (
	"reflect"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// gopher-lua reports a call of a value that is not a function as "attempt
// to call a non-function object"; Lua 5.1, and so Redis, names what was
// called and its type: "attempt to call field 'register_function' (a nil
// value)", "attempt to call global 'f' (a number value)", "attempt to call
// a nil value". callErrorText rebuilds that text for the error handler from
// the failing frame: the CALL instruction at its pc, the name the compiler
// recorded for that call, the instruction that loaded the called register,
// and the register's type. gopher-lua does not export the frame's pc and
// registers, so they are read through reflection; when that fails (another
// gopher-lua version) the text stays as it is.

const gopherCallError = "attempt to call a non-function object"

// gopher-lua's opcodes (Lua 5.1's, plus OP_MOVEN after OP_MOVE and
// OP_GETTABLEKS after OP_GETTABLE).
const (
	opMove       = lua.OP_MOVE
	opGetUpval   = lua.OP_GETUPVAL
	opGetGlobal  = lua.OP_GETGLOBAL
	opGetTable   = lua.OP_GETTABLE
	opGetTableKS = lua.OP_GETTABLEKS
	opSelf       = lua.OP_SELF
	opCall       = lua.OP_CALL
	opTailCall   = lua.OP_TAILCALL
)

func instOp(inst uint32) int { return int(inst >> 26) }
func instA(inst uint32) int  { return int(inst>>18) & 0xff }

// callErrorText returns msg with gopher-lua's call error worded as Lua 5.1
// words it, for the error raised in the frame at stack level level.
func callErrorText(L *lua.LState, dbg *lua.Debug, msg string) string {
	prefix, ok := strings.CutSuffix(msg, gopherCallError)
	if !ok {
		return msg
	}
	defer func() { _ = recover() }() // reflection on another layout: keep msg
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
	proto := fn.Proto
	inst := proto.Code[pc]
	if op := instOp(inst); op != opCall && op != opTailCall {
		return msg
	}
	ra := instA(inst)
	typ := registerType(L, base+ra)
	if typ == "" {
		return msg
	}
	if kind, name := calledName(proto, pc, ra); kind != "" {
		return prefix + "attempt to call " + kind + " '" + name + "' (a " + typ + " value)"
	}
	return prefix + "attempt to call a " + typ + " value"
}

// calledName is the kind (global, local, field, method, upvalue) and name
// of what the CALL at pc calls from register ra, or "" when unnamed.
func calledName(proto *lua.FunctionProto, pc, ra int) (kind, name string) {
	for _, c := range proto.DbgCalls {
		if c.Pc == pc {
			name = c.Name
		}
	}
	if name == "" || name == "?" {
		return "", ""
	}
	for i := pc - 1; i >= 0; i-- {
		inst := proto.Code[i]
		if instA(inst) != ra {
			continue
		}
		switch instOp(inst) {
		case opGetGlobal:
			return "global", name
		case opGetTable, opGetTableKS:
			return "field", name
		case opSelf:
			return "method", name
		case opGetUpval:
			return "upvalue", name
		case opMove:
			return "local", name
		}
		return "", ""
	}
	return "local", name
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
