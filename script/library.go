package script

import (
	"encoding/binary"
	"hash/crc32"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"bucketd/resp"
)

// Function libraries (FUNCTION LOAD and friends; docs/scripting.md,
// "Functions").

// Flags are the flags of a function or of an EVAL script's shebang.
type Flags uint8

// The flags Redis 7 defines. bucketd acts on no-writes; the others are
// accepted and shown, as they concern features it does not have.
const (
	FlagNoWrites Flags = 1 << iota
	FlagAllowOOM
	FlagAllowStale
	FlagNoCluster
	FlagAllowCrossSlotKeys
)

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagNoWrites, "no-writes"}, {FlagAllowOOM, "allow-oom"}, {FlagAllowStale, "allow-stale"},
	{FlagNoCluster, "no-cluster"}, {FlagAllowCrossSlotKeys, "allow-cross-slot-keys"},
}

// Names returns the names of the flags set, in Redis's order.
func (f Flags) Names() []string {
	out := []string{}
	for _, n := range flagNames {
		if f&n.f != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

func flagByName(name string) (Flags, bool) {
	for _, n := range flagNames {
		if n.name == name {
			return n.f, true
		}
	}
	return 0, false
}

// Library is a loaded function library.
type Library struct {
	// Name is the library's name, from its #!lua name=… line.
	Name string
	// Code is its source.
	Code string
	// Functions are the functions it registered, sorted by name.
	Functions []*Function
	proto     *lua.FunctionProto
}

// Function is a function a library registered.
type Function struct {
	// Name is the function's name, unique across libraries.
	Name string
	// Description is the optional text given at registration.
	Description string
	// Flags are the flags given at registration.
	Flags Flags
	// Library is the library it belongs to.
	Library *Library
}

// libraries are the engine's loaded libraries; Engine.mu guards them.
type libraries struct {
	byName map[string]*Library
	funcs  map[string]*Function
}

func (l *libraries) init() {
	l.byName = map[string]*Library{}
	l.funcs = map[string]*Function{}
}

// validName reports whether s is a valid library or function name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// shebang parses a first line "#!<engine> k=v …", returning the engine
// name and the key-value pairs in order, and the code with that line
// blanked (so that line numbers stay).
func shebang(code string) (engine string, meta [][2]string, body string, ok bool) {
	if !strings.HasPrefix(code, "#!") {
		return "", nil, code, false
	}
	first, rest, _ := strings.Cut(code, "\n")
	parts := strings.Fields(first[2:])
	if len(parts) > 0 {
		engine = parts[0]
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(p, "=")
			meta = append(meta, [2]string{k, v})
		}
	}
	return engine, meta, "\n" + rest, true
}

// evalShebang reads an EVAL script's optional "#!lua flags=…" line.
func evalShebang(body string) (Flags, string, error) {
	engine, meta, code, ok := shebang(body)
	if !ok {
		return 0, body, nil
	}
	if !strings.Contains(body, "\n") {
		return 0, "", &Error{Text: "ERR Invalid script shebang"}
	}
	if engine != "lua" {
		first, _, _ := strings.Cut(body, "\n")
		return 0, "", &Error{Text: "ERR Unexpected engine in script shebang: " + strings.Fields(first + " ")[0]}
	}
	var flags Flags
	for _, kv := range meta {
		if kv[0] != "flags" {
			return 0, "", &Error{Text: "ERR Unknown lua shebang option: " + kv[0] + "=" + kv[1]}
		}
		for _, name := range strings.Split(kv[1], ",") {
			if name == "" {
				continue
			}
			f, ok := flagByName(name)
			if !ok {
				return 0, "", &Error{Text: "ERR Unexpected flag in script shebang: " + name}
			}
			flags |= f
		}
	}
	return flags, code, nil
}

// parseLibrary reads a library's metadata line as Redis does
// (functionExtractLibMetaData): the first line, split into words like a
// command line (quotes allowed), is "#!<engine>" then name=<name>, with the
// name= key in any case.
func parseLibrary(code string) (name, body string, err error) {
	if !strings.HasPrefix(code, "#!") {
		return "", "", &Error{Text: "ERR Missing library metadata"}
	}
	first, rest, found := strings.Cut(code, "\n")
	parts, ok := splitArgs(first)
	if !found || !ok || len(parts) == 0 {
		return "", "", &Error{Text: "ERR Invalid library metadata"}
	}
	if engine := parts[0][min(2, len(parts[0])):]; !strings.EqualFold(engine, "lua") {
		return "", "", &Error{Text: "ERR Engine '" + engine + "' not found"}
	}
	named := false
	for _, p := range parts[1:] {
		if len(p) < 5 || !strings.EqualFold(p[:5], "name=") {
			return "", "", &Error{Text: "ERR Invalid metadata value given: " + p}
		}
		if named {
			return "", "", &Error{Text: "ERR Invalid metadata value, name argument was given multiple times"}
		}
		named, name = true, p[5:]
	}
	if !named {
		return "", "", &Error{Text: "ERR Library name was not given"}
	}
	if !validName(name) {
		return "", "", &Error{Text: errBadName}
	}
	return name, "\n" + rest, nil
}

// errBadName is Redis's text for a bad library or function name.
const errBadName = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"

// splitArgs splits a line into words as Redis's sdssplitargs does: words
// are separated by blanks; "…" (with backslash escapes) and '…' quote, and
// a closing quote must end the word. ok is false on unbalanced quotes.
func splitArgs(line string) (words []string, ok bool) {
	isSpace := func(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == 0 }
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			return words, true
		}
		var cur []byte
		for done := false; !done; {
			switch {
			case i == len(line) || isSpace(line[i]):
				done = true
			case line[i] == '"' || line[i] == '\'':
				q := line[i]
				for i++; ; i++ {
					if i == len(line) {
						return nil, false
					}
					if line[i] == q {
						break
					}
					if q == '"' && line[i] == '\\' && i+1 < len(line) {
						i++
						cur = append(cur, unescape(line[i]))
						continue
					}
					cur = append(cur, line[i])
				}
				if i+1 < len(line) && !isSpace(line[i+1]) {
					return nil, false
				}
				done = true
			default:
				cur = append(cur, line[i])
			}
			if i < len(line) {
				i++
			}
		}
		words = append(words, string(cur))
	}
}

// unescape is the byte a backslash escape stands for in sdssplitargs.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}

// loadTimeout bounds the run of a library's code at FUNCTION LOAD.
const loadTimeout = 500 * time.Millisecond

// compileLibrary compiles code and runs it once, in an interpreter of the
// pool, to learn the functions it registers.
func (e *Engine) compileLibrary(code string) (*Library, error) {
	name, body, err := parseLibrary(code)
	if err != nil {
		return nil, err
	}
	proto, err := compile(body, "user_function")
	if err != nil {
		return nil, &Error{Text: "ERR Error compiling function: " + err.Error()}
	}
	lib := &Library{Name: name, Code: code, proto: proto}
	st := e.get()
	fns, err := st.instantiate(lib, true)
	if err != nil {
		return nil, err
	}
	if len(fns) == 0 {
		return nil, &Error{Text: "ERR No functions registered"}
	}
	sort.Slice(lib.Functions, func(i, j int) bool { return lib.Functions[i].Name < lib.Functions[j].Name })
	return lib, nil
}

// instantiate runs lib's code in st, collecting the callbacks it
// registers; first says it is the run of FUNCTION LOAD, which also fills
// lib.Functions. st goes back to the pool after a failure or a first run;
// otherwise the caller keeps it, to run one of the functions in it: they
// belong to st's interpreter and no other.
func (st *state) instantiate(lib *Library, first bool) (fns map[string]*lua.LFunction, err error) {
	e := st.e
	fns = map[string]*lua.LFunction{}
	st.loading = lib
	st.loadFirst = first
	st.loaded = fns
	b := newBudget(e.mem)
	timer := time.AfterFunc(loadTimeout, func() { b.Stop("ERR Error registering functions: ERR FUNCTION LOAD timeout") })
	L := st.L
	fn := L.NewFunctionFromProto(lib.proto)
	// The library's code runs with globals that hold only the load-time
	// redis table; its functions, created then, keep that environment, so
	// it is a proxy whose __index turns to the real globals once loaded.
	envMT := st.sb.metatable(L, st.loadGlobals(L))
	env := L.CreateTable(0, 0)
	L.SetMetatable(env, envMT)
	st.sb.protected[env] = true
	fn.Env = env
	L.SetContext(b)
	L.Push(fn)
	perr := L.PCall(0, 0, nil)
	L.RemoveContext()
	timer.Stop()
	st.loading, st.loaded = nil, nil
	if reason := b.stopped(); reason != "" {
		e.put(st, false)
		return nil, &Error{Text: reason}
	}
	if perr != nil {
		e.put(st, true)
		msg := perr.Error()
		if api, ok := perr.(*lua.ApiError); ok {
			if t, ok := api.Object.(*lua.LTable); ok {
				m, _ := t.RawGetString("err").(lua.LString)
				msg = string(m)
			} else {
				msg = "ERR " + lua.LVAsString(api.Object) // as Redis's error handler
			}
		}
		return nil, &Error{Text: "ERR Error registering functions: " + oneLine(msg)}
	}
	envMT.RawSetString("__index", st.sb.real)
	if !first {
		st.libs[lib] = fns // the caller runs a function of it in st, and puts st back
		return fns, nil
	}
	e.put(st, true)
	return fns, nil
}

// loadGlobals returns the globals of library code at load time: redis
// (loadRedisTable) and nothing else; any other name is a missing global.
func (st *state) loadGlobals(L *lua.LState) *lua.LTable {
	if st.loadG != nil {
		return st.loadG
	}
	missing := L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("%s", errNoGlobal(L.CheckAny(2).String()))
		return 0
	})
	r := st.loadRedisTable(L)
	L.SetMetatable(r, st.sb.metatable(L, missing))
	g := L.CreateTable(0, 1)
	g.RawSetString("redis", st.sb.readonly(L, r))
	L.SetMetatable(g, st.sb.metatable(L, missing))
	st.loadG = g
	return g
}

// registerFunction is redis.register_function(name, callback) or
// redis.register_function{function_name=…, callback=…, flags={…},
// description=…}, allowed only while a library loads.
func (st *state) registerFunction(L *lua.LState) int {
	lib := st.loading
	if lib == nil {
		raiseC(L, "redis.register_function can only be called on FUNCTION LOAD command")
	}
	var (
		name  string
		cb    *lua.LFunction
		desc  string
		flags Flags
	)
	switch L.GetTop() {
	case 1:
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			raiseC(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
		}
		var bad string
		t.ForEach(func(k, v lua.LValue) {
			ks, _ := k.(lua.LString)
			switch ks {
			case "function_name":
				s, ok := v.(lua.LString)
				if !ok {
					bad = "function_name argument given to redis.register_function must be a string"
				}
				name = string(s)
			case "callback":
				f, ok := v.(*lua.LFunction)
				if !ok {
					bad = "callback argument given to redis.register_function must be a function"
				}
				cb = f
			case "description":
				s, ok := v.(lua.LString)
				if !ok {
					bad = "description argument given to redis.register_function must be a string"
				}
				desc = string(s)
			case "flags":
				ft, ok := v.(*lua.LTable)
				if !ok {
					bad = "flags argument to redis.register_function must be a table representing function flags"
					return
				}
				ft.ForEach(func(_, fv lua.LValue) {
					s, _ := fv.(lua.LString)
					f, ok := flagByName(string(s))
					if !ok {
						bad = "unknown flag given"
					}
					flags |= f
				})
			default:
				bad = "unknown argument given to redis.register_function"
			}
		})
		if bad != "" {
			raiseC(L, bad)
		}
		if name == "" {
			raiseC(L, "redis.register_function must get a function name argument")
		}
		if cb == nil {
			raiseC(L, "redis.register_function must get a callback argument")
		}
	case 2:
		s, ok := L.Get(1).(lua.LString)
		if !ok {
			raiseC(L, "first argument to redis.register_function must be a string")
		}
		f, ok := L.Get(2).(*lua.LFunction)
		if !ok {
			raiseC(L, "second argument to redis.register_function must be a function")
		}
		name, cb = string(s), f
	default:
		raiseC(L, "wrong number of arguments to redis.register_function")
	}
	if !validName(name) {
		raiseC(L, strings.TrimPrefix(errBadName, "ERR "))
	}
	if _, dup := st.loaded[strings.ToLower(name)]; dup {
		raiseC(L, "Function already exists in the library")
	}
	st.loaded[strings.ToLower(name)] = cb
	if st.loadFirst {
		lib.Functions = append(lib.Functions, &Function{Name: name, Description: desc, Flags: flags, Library: lib})
	}
	return 0
}

// LoadLibrary compiles and registers a library (FUNCTION LOAD), replacing
// one of the same name when replace is set, and returns its name.
func (e *Engine) LoadLibrary(code string, replace bool) (string, error) {
	lib, err := e.compileLibrary(code)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.libs.add(lib, replace, "ERR Library '"+lib.Name+"' already exists"); err != nil {
		return "", err
	}
	e.gen.Add(1)
	return lib.Name, nil
}

// add registers lib, checking its names against the other libraries;
// exists is the error text when the library exists and replace is off
// (FUNCTION LOAD quotes the name, FUNCTION RESTORE does not).
func (l *libraries) add(lib *Library, replace bool, exists string) error {
	old := l.byName[lib.Name]
	if old != nil && !replace {
		return &Error{Text: exists}
	}
	for _, f := range lib.Functions {
		if other := l.funcs[strings.ToLower(f.Name)]; other != nil && other.Library != old {
			return &Error{Text: "ERR Function " + f.Name + " already exists"}
		}
	}
	if old != nil {
		l.remove(old)
	}
	l.byName[lib.Name] = lib
	for _, f := range lib.Functions {
		l.funcs[strings.ToLower(f.Name)] = f
	}
	return nil
}

// remove forgets lib. Function names are case-insensitive, library names
// are not, as in Redis.
func (l *libraries) remove(lib *Library) {
	delete(l.byName, lib.Name)
	for _, f := range lib.Functions {
		if k := strings.ToLower(f.Name); l.funcs[k] == f {
			delete(l.funcs, k)
		}
	}
}

// DeleteLibrary removes a library (FUNCTION DELETE).
func (e *Engine) DeleteLibrary(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	lib := e.libs.byName[name]
	if lib == nil {
		return &Error{Text: "ERR Library not found"}
	}
	e.libs.remove(lib)
	e.gen.Add(1)
	return nil
}

// FlushLibraries removes every library (FUNCTION FLUSH).
func (e *Engine) FlushLibraries() {
	e.mu.Lock()
	e.libs.init()
	e.mu.Unlock()
	e.gen.Add(1)
}

// Libraries returns the loaded libraries sorted by name.
func (e *Engine) Libraries() []*Library {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*Library, 0, len(e.libs.byName))
	for _, lib := range e.libs.byName {
		out = append(out, lib)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Function returns the registered function of that name, or nil.
func (e *Engine) Function(name string) *Function {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.libs.funcs[strings.ToLower(name)]
}

// CallFunction runs function f (FCALL) and writes its reply to w; errors
// as Eval's.
func (e *Engine) CallFunction(f *Function, c *Call, w *resp.Writer) error {
	st := e.get()
	fns := st.libs[f.Library]
	if fns == nil {
		var err error
		if fns, err = st.instantiate(f.Library, false); err != nil {
			return err // st went back to the pool, or was closed
		}
	}
	return e.execute(st, fns[strings.ToLower(f.Name)], c, w, KindFunction, f.Name, "@user_function")
}

// Restore policies of FUNCTION RESTORE.
const (
	RestoreAppend  = "APPEND"
	RestoreReplace = "REPLACE"
	RestoreFlush   = "FLUSH"
)

// dumpMagic starts a FUNCTION DUMP payload; the version byte follows.
const (
	dumpMagic   = "BUCKETD-FN"
	dumpVersion = 1
)

// Dump serializes every library (FUNCTION DUMP): magic, version, each
// library's code with its length, and a CRC32 of all that.
func (e *Engine) Dump() []byte {
	b := []byte(dumpMagic)
	b = append(b, dumpVersion)
	for _, lib := range e.Libraries() {
		b = binary.AppendUvarint(b, uint64(len(lib.Code)))
		b = append(b, lib.Code...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// Restore loads the libraries of a Dump payload (FUNCTION RESTORE) with a
// policy: APPEND fails on a library that exists, REPLACE replaces it,
// FLUSH removes every library first. Nothing changes when it fails.
func (e *Engine) Restore(payload []byte, policy string) error {
	bad := &Error{Text: "ERR DUMP payload version or checksum are wrong"}
	if len(payload) < len(dumpMagic)+1+4 || string(payload[:len(dumpMagic)]) != dumpMagic || payload[len(dumpMagic)] != dumpVersion {
		return bad
	}
	body, sum := payload[:len(payload)-4], payload[len(payload)-4:]
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(sum) {
		return bad
	}
	var libs []*Library
	for rest := body[len(dumpMagic)+1:]; len(rest) > 0; {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return bad
		}
		lib, err := e.compileLibrary(string(rest[k : k+int(n)]))
		if err != nil {
			return err
		}
		libs = append(libs, lib)
		rest = rest[k+int(n):]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	next := libraries{byName: map[string]*Library{}, funcs: map[string]*Function{}}
	if policy != RestoreFlush {
		for k, v := range e.libs.byName {
			next.byName[k] = v
		}
		for k, v := range e.libs.funcs {
			next.funcs[k] = v
		}
	}
	for _, lib := range libs {
		if err := next.add(lib, policy == RestoreReplace, "ERR Library "+lib.Name+" already exists"); err != nil {
			return err
		}
	}
	e.libs = next
	e.gen.Add(1)
	return nil
}

// LibraryCounts returns the numbers of libraries and functions.
func (e *Engine) LibraryCounts() (libs, funcs int) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.libs.byName), len(e.libs.funcs)
}
