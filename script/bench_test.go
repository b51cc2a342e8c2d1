package script

import (
	"testing"

	"github.com/rs/zerolog"

	"bucketd/resp"
)

// okCaller answers every command +OK at once: what is left of a run's cost
// is the interpreter's and the engine's own.
type okCaller struct{}

func (okCaller) Call(_ [][]byte, w *resp.Writer) { w.OK() }

// benchEval runs body through Engine.Eval b.N times, as EVALSHA does once
// the script is cached, with two keys and two arguments.
func benchEval(b *testing.B, body string) {
	e := New(Options{Log: zerolog.Nop(), MaxMemory: 256 << 20})
	defer e.Close()
	s, err := e.Load([]byte(body))
	if err != nil {
		b.Fatal(err)
	}
	c := &Call{
		Keys:   [][]byte{[]byte("inventory"), []byte("orders")},
		Args:   [][]byte{[]byte("u42"), []byte("sku7")},
		Caller: okCaller{},
	}
	w := resp.Writer{Proto: 2}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.B = w.B[:0]
		if err := e.Eval(s, c, &w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalEmpty is the fixed cost of a run: pooled interpreter, KEYS
// and ARGV, budget, memory sampler, reply.
func BenchmarkEvalEmpty(b *testing.B) { benchEval(b, "return 1") }

// BenchmarkEvalThreeCalls adds three redis.call round trips through a
// Caller that does nothing: argument and reply conversion.
func BenchmarkEvalThreeCalls(b *testing.B) {
	benchEval(b, `redis.call('B.GET', KEYS[1], ARGV[2])
redis.call('B.INSERT', KEYS[2], '{"userId":"' .. ARGV[1] .. '"}')
return redis.call('B.UPDATE', KEYS[1], ARGV[2], '{"qty":1}')`)
}
