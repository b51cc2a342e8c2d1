package live

import (
	"slices"
	"strings"

	"bucketd/engine"
	"bucketd/jsonv"
)

// ChannelPrefix starts the name of every reactive query channel.
const ChannelPrefix = "query."

// IsQueryChannel reports whether a pub/sub channel name is in the reactive
// query namespace (it starts with "query."). Such channels are handed to
// Manager.Subscribe and Manager.Unsubscribe instead of the hub.
func IsQueryChannel(channel string) bool { return strings.HasPrefix(channel, ChannelPrefix) }

// ChannelName returns the canonical channel of query name with params:
// "query.<name>" when params is nil or empty, else
// "query.<name>:<canonical params JSON>" (see CanonicalParams).
func ChannelName(name string, params *jsonv.Object) string {
	if params == nil || params.Len() == 0 {
		return ChannelPrefix + name
	}
	return ChannelPrefix + name + ":" + string(CanonicalParams(nil, params))
}

// CanonicalChannel parses a query channel name as a client may type it,
// "query.<name>" or "query.<name>:<params JSON>", and returns its canonical
// form, the query name and the parameters (nil when there are none). ok is
// false for a name outside that grammar (a bad query name, parameters that
// are not a JSON object): such a channel is an ordinary pub/sub channel.
func CanonicalChannel(channel string) (canonical, name string, params *jsonv.Object, ok bool) {
	if !IsQueryChannel(channel) {
		return "", "", nil, false
	}
	rest := channel[len(ChannelPrefix):]
	name, raw, hasParams := strings.Cut(rest, ":")
	if !engine.ValidName(name) {
		return "", "", nil, false
	}
	if hasParams {
		p, err := jsonv.ParseObject([]byte(raw))
		if err != nil {
			return "", "", nil, false
		}
		if p.Len() > 0 {
			params = p
		}
	}
	return ChannelName(name, params), name, params, true
}

// CanonicalParams appends the canonical encoding of a parameters value to
// dst: compact JSON whose object keys are sorted (bytewise) at every depth,
// so that equal parameters give equal bytes whatever order the client wrote
// them in. The one exception keeps meaning intact: an object whose every
// value is the string "asc" or "desc" (in any case) keeps its key order,
// because such an object can be a "sort" clause, where key order is
// priority. Numbers and strings are written as jsonv writes them.
func CanonicalParams(dst []byte, v jsonv.Value) []byte {
	switch t := v.(type) {
	case []jsonv.Value:
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = CanonicalParams(dst, e)
		}
		return append(dst, ']')
	case *jsonv.Object:
		if t == nil {
			return append(dst, "{}"...)
		}
		order := make([]int, t.Len())
		for i := range order {
			order[i] = i
		}
		if !isSortSpec(t) {
			slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(t.Keys[a], t.Keys[b]) })
		}
		dst = append(dst, '{')
		for n, i := range order {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = jsonv.AppendString(dst, t.Keys[i])
			dst = append(dst, ':')
			dst = CanonicalParams(dst, t.Vals[i])
		}
		return append(dst, '}')
	}
	return jsonv.Append(dst, v)
}

// isSortSpec reports whether o could be a sort clause: non-empty, every
// value "asc" or "desc" in any case.
func isSortSpec(o *jsonv.Object) bool {
	if o.Len() == 0 {
		return false
	}
	for _, v := range o.Vals {
		s, ok := v.(string)
		if !ok || !(strings.EqualFold(s, "asc") || strings.EqualFold(s, "desc")) {
			return false
		}
	}
	return true
}
