// Package script runs Lua scripts (EVAL-style) with the Redis-compatible libraries.
package script
