// Package schema parses and applies bucket definitions: the schema of a
// bucket's JSON records, its key, indexes, TTL and size limit. It follows the
// model of the TypeScript library noex-store and knows nothing of RESP or of
// storage.
//
// # Definitions
//
// Parse reads the JSON text given to BUCKET.DEFINE:
//
//	{"key": "id",
//	 "schema": {
//	   "id":   {"type": "string", "generated": "uuid"},
//	   "name": {"type": "string", "required": true, "minLength": 1},
//	   "role": {"type": "string", "enum": ["admin", "user"], "default": "user"}},
//	 "indexes": ["role"], "ttl": "30m", "maxSize": 10000,
//	 "persistent": true, "ordered": false}
//
// The rules, each broken one a *DefinitionError naming the field or key:
//
//   - key (required) names a schema field of type string or number; that
//     field is always required. schema (required) is a non-empty object.
//     indexes name schema fields (duplicates are dropped). ttl is a duration
//     (ParseDuration) or null. maxSize is a positive integer. persistent
//     (default true) and ordered (default false) are booleans. noex-store's
//     etsType ("ordered_set" for ordered) is accepted too. Other keys are
//     errors.
//   - A field has a type (string, number, boolean, object, array, date) and
//     optionally: required, unique (booleans); enum (non-empty array of
//     strings, numbers or booleans of the field's type); default (any JSON
//     value that passes the field's own checks; not with generated);
//     generated (uuid and cuid on strings, autoincrement on numbers,
//     timestamp on numbers and dates); min and max (numbers, min <= max, on
//     number and date fields); minLength and maxLength (non-negative
//     integers, on string and date fields); pattern (Go RE2 syntax,
//     unanchored, on string and date fields); format (email, url or
//     iso-date, on string and date fields). Other keys are errors, including
//     noex-store's properties, items, ref and onDelete, which are not
//     supported. Field names must not be empty, contain control characters
//     or be a metadata name (_version, _createdAt, _updatedAt, _expiresAt).
//
// Definition.JSON gives a canonical text, equal for definitions that mean
// the same thing; BUCKET.DEFINE compares it to tell an identical
// redefinition from a different one. Definition.Alter applies BUCKET.ALTER
// changes (addFields, addIndexes, ttl) and returns a new Definition.
//
// # Records
//
// On insert the store calls Fill (generated values and defaults for absent
// fields), then Validate, then Canonical to put the fields in output order.
// Validate returns every Issue of every field, in schema order; FormatIssues
// and *ValidationError give the text clients see:
//
//	Validation failed for bucket "users": name: Field is required; age: Minimum value is 0
//
// Per field: absent or null fails only "required"; a wrong type gives one
// "type" issue and stops; then enum, minLength, maxLength, pattern, format
// (string values) and min, max (numbers) each add an issue when they fail.
// A date field takes the string or number checks according to its value.
//
// # Caveats and differences from noex-store
//
//   - Lengths count Unicode code points; noex-store counts UTF-16 code
//     units, so a character outside the BMP (an emoji) counts 1 here, 2 there.
//   - A date string must be ISO-8601 (YYYY-MM-DD, optionally THH:MM[:SS[.f]]
//     and Z or ±HH:MM) naming a real date; noex-store accepts any string.
//     The iso-date format checks the date as written, so an offset never
//     moves it to another day and years before 1000 are valid (two
//     noex-store quirks fixed).
//   - Defaults are deep-copied for every insert (noex-store shares them).
//   - Each autoincrement field takes its own counter value, and the counter
//     moves only when a value is generated (noex-store moves it on every
//     insert, failed ones included).
//   - Patterns use Go's RE2 syntax, not JavaScript's: no lookaround, no
//     backreferences.
//   - The url format approximates the WHATWG URL parser that noex-store
//     relies on (new URL(s)): schemes, hosts, ports and IPv4 forms are
//     checked, but not every rule of the standard (IDNA, full IPv6).
//   - Messages quote names and values bare, as noex-store does, except that
//     control characters are escaped so that each message is one line.
//
// Definitions are immutable once built and safe for concurrent use.
package schema
