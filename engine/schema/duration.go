package schema

import (
	"math"
	"strconv"
	"unicode/utf8"

	"bucketd/jsonv"
)

// maxDuration is the largest duration accepted, in ms: 2^53, so that every
// duration and every timestamp derived from it stays an exact JSON number.
const maxDuration = 1 << 53

// ParseDuration converts a TTL or duration to milliseconds, following
// noex-store's parseTtl:
//
//   - a number is a number of milliseconds; it must be finite and positive;
//   - a string is a decimal number, optional whitespace, then a unit: s
//     (seconds), m (minutes), h (hours) or d (days), as in "30s", "5m",
//     "1.5h", "7d" or "30 s". There is no "ms" unit, units are lowercase,
//     and surrounding whitespace is not allowed.
//
// The result is rounded to the nearest millisecond and must be at least 1
// and at most 2^53. Anything else, null included, is a *DurationError whose
// message is exactly
//
//	Invalid TTL format "x". Expected a number (ms) or string like "30s", "5m", "1h", "7d".
//
// with x the value as text (a string as it is, another value as JSON).
func ParseDuration(v jsonv.Value) (int64, error) {
	switch x := v.(type) {
	case float64:
		if ms, ok := durationMs(x, 1); ok {
			return ms, nil
		}
	case string:
		if ms, ok := parseDurationString(x); ok {
			return ms, nil
		}
		return 0, &DurationError{Input: x}
	}
	return 0, &DurationError{Input: string(jsonv.Marshal(v))}
}

// ParseDurationArg is ParseDuration for a command argument, such as the
// value after TTL in B.INSERT: a strict decimal number (JSON number syntax)
// is a number of milliseconds, anything else is parsed as a duration
// string. Errors name arg as given.
func ParseDurationArg(arg string) (int64, error) {
	if n, ok := parseNumber(arg); ok {
		if ms, ok := durationMs(n, 1); ok {
			return ms, nil
		}
		return 0, &DurationError{Input: arg}
	}
	return ParseDuration(arg)
}

// durationMs returns n×unit rounded to whole milliseconds, if the result is
// in [1, maxDuration].
func durationMs(n, unit float64) (int64, bool) {
	ms := math.Round(n * unit)
	if math.IsNaN(ms) || ms < 1 || ms > maxDuration {
		return 0, false
	}
	return int64(ms), true
}

// parseDurationString parses /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/ (\s as in
// JavaScript) to milliseconds.
func parseDurationString(s string) (int64, bool) {
	if len(s) < 2 {
		return 0, false
	}
	var unit float64
	switch s[len(s)-1] {
	case 's':
		unit = 1000
	case 'm':
		unit = 60 * 1000
	case 'h':
		unit = 60 * 60 * 1000
	case 'd':
		unit = 24 * 60 * 60 * 1000
	default:
		return 0, false
	}
	num := s[:len(s)-1]
	// Trailing whitespace between the number and the unit.
	for len(num) > 0 {
		r, size := utf8.DecodeLastRuneInString(num)
		if !isJSSpace(r) {
			break
		}
		num = num[:len(num)-size]
	}
	// \d+(\.\d+)?
	i := 0
	for i < len(num) && num[i] >= '0' && num[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	if i < len(num) {
		if num[i] != '.' {
			return 0, false
		}
		j := i + 1
		for j < len(num) && num[j] >= '0' && num[j] <= '9' {
			j++
		}
		if j == i+1 || j != len(num) {
			return 0, false
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	return durationMs(n, unit)
}
