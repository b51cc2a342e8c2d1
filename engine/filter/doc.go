// Package filter compiles and evaluates bucketd's record filters, the JSON
// objects of B.WHERE, B.COUNT, B.UPDATEMANY, B.DELETEMANY, B.FINDONE, the
// aggregate commands and query definitions (docs/commands.md, "Filters"). The model
// is noex-store's filter-matcher; where this package differs on purpose, the
// difference is listed below.
//
// # Basics
//
//	{"role": "admin", "age": {"$gte": 18, "$lt": 65}, "$or": [{"vip": true}, {"score": {"$gt": 90}}]}
//
// Top-level keys are ANDed. The value of a field is either an operator
// object (a non-empty object whose keys all start with '$'; its operators are
// ANDed) or a plain value, which means deep equality (jsonv.Equal: arrays in
// order, objects whatever their key order). Field names are flat: "a.b" is
// the field named "a.b", not a path. Parse compiles a filter once; Match then
// runs without allocating and the compiled Filter is immutable and safe for
// concurrent use.
//
// # Operators
//
// An absent field behaves like undefined in JavaScript: it fails every
// operator except $neq, $nin and $exists:false, which it satisfies.
//
//   - $eq v, $neq v: deep equality and its negation. {"f": null} and
//     {"f": {"$eq": null}} match only a field present with the value null.
//   - $gt, $gte, $lt, $lte (number or string operand), $between [lo, hi]
//     (two numbers or two strings, both ends inclusive; lo > hi matches
//     nothing): true only when the field holds a value of the operand's type,
//     numbers compared numerically, strings bytewise (Unicode code point
//     order, the order of jsonv.Compare and so of ordered indexes).
//   - $in [..], $nin [..]: the field deeply equals one member / none of them.
//     $in [] matches nothing; $nin [] matches everything, absent fields
//     included.
//   - $contains s: the field is a string containing s, ignoring case (both
//     sides lower-cased rune by rune), or an array with an element equal to
//     s (exactly); a number or boolean operand tests array elements only.
//   - $regex p (with "$options": "i" to ignore case): the field is a string
//     that Go's RE2 pattern p matches somewhere (linear time; anchors as
//     written).
//   - $size n: the field is an array of n elements.
//   - $not {operators}: the operators do not all hold; an absent field
//     satisfies it ({"$not":{"$gt":5}} matches 3, "x" and no field).
//   - $elemMatch: the field is an array with an element that matches: a
//     filter for object elements ({"sku":"x","qty":{"$gte":2}}), or an
//     operator object for scalar ones ({"$gt":5,"$lt":9}).
//   - $startsWith s, $endsWith s: the field is a string with that prefix or
//     suffix, case-sensitive.
//   - $exists true|false: the field is present and not null / absent or null.
//   - $or [filters]: at least one matches ($or [] matches nothing);
//     $and [filters]: all match ($and [] matches everything). Both nest, up to
//     MaxNesting levels, and are ANDed with their sibling keys.
//
// # Differences from noex-store
//
// The original is JavaScript and coerces; bucketd is strict and says so:
//
//   - Unknown operators ("$foo", "$ne", or any other top-level "$" key) are
//     errors; the original ignores them (matching everything) or, at the top
//     level, treats them as field names.
//   - Plain array and object values compare by deep equality; in the original
//     they compare by reference and never match. An operator object mixing
//     "$" keys with plain keys is an error; the original treats it as a
//     literal that never matches.
//   - Comparisons never coerce: in the original "10" > 5 is true, booleans
//     compare as 0/1 and a null operand as 0; here a string never compares
//     with a number, and a comparison operand that is not a number or a
//     string is an error. Dates are compared as what they are stored as
//     (ISO strings with strings, epoch milliseconds with numbers). Strings
//     compare by code point, JavaScript by UTF-16 code unit: the two differ
//     only between characters above U+FFFF and those in U+E000–U+FFFF.
//   - $startsWith and $endsWith with a non-string operand, $contains with
//     an array, object or null, $in and $nin without an array, and $exists
//     without a boolean are errors (the original throws, coerces or never
//     matches). $regex, $size, $not and $elemMatch are bucketd's.
//   - $in compares the field's whole value: an array field is in the list
//     only as a whole array (use $contains or $elemMatch for its elements),
//     so that an index on the field stays exact.
//   - Case folding for $contains uses Go's simple one-rune mappings; JS's
//     toLowerCase also applies the few multi-rune and context rules of
//     Unicode's SpecialCasing (İ becomes "i̇" there, "i" here; a final Σ
//     becomes ς there, σ here).
//
// # Index planning
//
// Constraints lists what the filter implies per field (equality sets and
// ranges) so the engine can answer from an index and then run Match on the
// candidates only. Null never appears in an equality set, so an index need
// not hold null values.
//
// # Errors
//
// Parse errors are *Error, whose text starts with "invalid filter: " and
// names the operator or field at fault, e.g.
// `invalid filter: unknown operator "$foo"`, `invalid filter: $in expects an
// array`, `invalid filter: $between expects [lo, hi]`,
// `invalid filter: $or expects an array of filters`,
// `invalid filter: expected an object`.
package filter
