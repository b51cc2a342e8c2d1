// Package query parses and evaluates bucketd's declarative queries, the JSON
// of B.FIND, QUERY.DEFINE/RUN/SUBSCRIBE (docs/commands.md, "Declarative queries"), and holds
// the aggregates behind B.SUM, B.AVG, B.MIN, B.MAX and B.GROUPBY. The model
// is noex-store's declarative query (src/core/declarative-query.ts).
//
// # Flow
//
// A query definition may hold placeholders, strings that are exactly
// "{{ params.x }}". The caller substitutes them (Substitute; HasParams tells
// whether there are any), parses the result (Parse; ParseForBucket for
// B.FIND, whose bucket is an argument and may be left out of the JSON),
// selects the records that match Query.Filter, in bucket order, using
// indexes as it likes, and hands them to Eval, which sorts, pages and
// projects them, or aggregates them, and writes the JSON result. The same
// input always gives the same bytes, so equal results can be detected by
// comparing bytes.
//
// # Rules
//
//   - Sort: {"age": "desc", "name": "asc"}, key order is priority. The sort
//     is stable; null and absent values come last in both directions; other
//     values compare as jsonv.Compare orders them (numbers numerically,
//     strings bytewise, mixed types by type: booleans < numbers < strings <
//     arrays < objects).
//   - Then offset (records skipped), then limit (records kept; 0 = all).
//   - fields: each record becomes an object of those fields, in the order of
//     "fields", leaving out the ones the record lacks. The key field is not
//     added.
//   - aggregate: count is the number of records; sum, avg, min and max look
//     only at number values of the field (strings such as "5", booleans,
//     null and absent fields are skipped). sum and avg of nothing are 0, min
//     and max of nothing null. Sort, offset, limit and fields are ignored.
//   - groupBy: [{"key": {…}, "value": N}, …] in order of first appearance;
//     min and max of a group without numbers are 0 (noex-store's behaviour).
//
// # Differences from noex-store
//
//   - Placeholders are replaced anywhere in the query (docs/commands.md, "Declarative queries"), not only
//     in the filter's top-level values, and a missing parameter is an error
//     (`missing query parameter "x"`), not undefined.
//   - Unknown keys, bad directions, a non-positive limit and similar are
//     errors; the original does no checking. "limit": 0 is refused because
//     the original would return [] for it while Query.Limit 0 means no limit.
//   - Sorting mixed types uses jsonv.Compare's total order instead of
//     JavaScript's coercing < and >, which is not a consistent order.
//   - groupBy tells 1 from "1" and the string "null" from null; the original
//     groups by String(value), merging them and putting every object in one
//     group. Absent and null still share a group, whose key shows null
//     (the original omits the field when the first record lacks it).
//
// # Caveats
//
// Parse runs after substitution: a definition whose placeholders sit where
// the filter needs an array or an object ("$in": "{{ params.ids }}") fails
// Parse until its parameters are known. Eval trusts its input: it does not
// check that recs match the filter or belong to the bucket.
package query
