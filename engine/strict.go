package engine

import (
	"bucketd/engine/filter"
	"bucketd/engine/query"
	"bucketd/engine/schema"
)

// Reads are checked against the bucket's schema (docs/commands.md, "Strict
// buckets"): in every bucket a range comparison whose operand cannot have
// the type the schema gives the field, and a sum or average of a field the
// schema says is not a number, are errors rather than empty results or 0;
// in a strict bucket a field outside the schema is an error wherever a
// read names one (filters, sorts, field lists, aggregates, groups).

// checkFilter applies the schema's checks to a filter.
func checkFilter(b *Bucket, f *filter.Filter) error {
	if f == nil {
		return nil
	}
	def := b.def
	if def.Strict {
		for _, name := range f.Fields() {
			if !def.Known(name) {
				return argErrorf("invalid filter: unknown field %q: bucket %q is strict", name, b.name)
			}
		}
	}
	return f.Comparisons(func(field, op string, isStr bool) error {
		fd := def.Field(field)
		if fd == nil {
			return nil
		}
		switch fd.Type {
		case schema.TypeNumber:
			if isStr {
				return argErrorf("invalid filter: %s on %q compares with a string, but the schema says %q is a number", op, field, field)
			}
		case schema.TypeString:
			if !isStr {
				return argErrorf("invalid filter: %s on %q compares with a number, but the schema says %q is a string", op, field, field)
			}
		case schema.TypeBoolean, schema.TypeObject, schema.TypeArray:
			return argErrorf("invalid filter: %s on %q: the schema says %q is a%s %s, which has no order", op, field, field, article(string(fd.Type)), fd.Type)
		}
		return nil
	})
}

// article is "n" before a vowel.
func article(word string) string {
	if word != "" && (word[0] == 'a' || word[0] == 'o') {
		return "n"
	}
	return ""
}

// checkFields refuses, in a strict bucket, a field outside the schema that
// a read names (what: "sort", "fields", "aggregate", "groupBy").
func checkFields(b *Bucket, what string, fields ...string) error {
	if !b.def.Strict {
		return nil
	}
	for _, name := range fields {
		if name != "" && !b.def.Known(name) {
			return argErrorf("unknown field %q in %s: bucket %q is strict", name, what, b.name)
		}
	}
	return nil
}

// checkAggregate refuses a sum or an average of a field the schema says is
// not a number, and, in a strict bucket, an unknown field.
func checkAggregate(b *Bucket, fn, field string) error {
	if err := checkFields(b, "aggregate", field); err != nil {
		return err
	}
	if fn != query.FuncSum && fn != query.FuncAvg {
		return nil
	}
	if fd := b.def.Field(field); fd != nil && fd.Type != schema.TypeNumber {
		return argErrorf("cannot %s %q: the schema says it is a%s %s, not a number", fn, field, article(string(fd.Type)), fd.Type)
	}
	return nil
}

// checkQuery applies the checks to a declarative query's fields.
func checkQuery(b *Bucket, q *query.Query) error {
	for _, k := range q.Sort {
		if err := checkFields(b, "sort", k.Field); err != nil {
			return err
		}
	}
	if err := checkFields(b, "fields", q.Fields...); err != nil {
		return err
	}
	if a := q.Agg; a != nil {
		if err := checkAggregate(b, a.Func, a.Field); err != nil {
			return err
		}
		if err := checkFields(b, "groupBy", a.GroupBy...); err != nil {
			return err
		}
	}
	return nil
}
