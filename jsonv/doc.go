// Package jsonv is bucketd's JSON value model: a strict parser that keeps the
// order of object keys, a canonical encoder whose output is deterministic and
// matches JavaScript's JSON.stringify (numbers in their shortest form, such as
// 180, 2.5 and 1e+21), deep equality, deep copies and a total order used by
// indexes and sorting.
//
// A Value is one of: nil (JSON null), bool, float64, string, []Value and
// *Object. No other Go type may appear inside a Value. Values handed to the
// engine are treated as immutable once stored: code that wants to change one
// copies it first (Clone).
package jsonv
