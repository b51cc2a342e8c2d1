package engine_test

import (
	"sync"
	"testing"
)

// The two ways issue 3 allows for making a bucket an actor, measured on the
// cost they add to every command: a read-write lock per bucket (what the
// engine does) and a goroutine per bucket fed by a mailbox (noex's model).
// Both serialise writes; the mailbox also serialises reads and adds two
// channel hand-offs and a goroutine switch per command.

type mailboxReq struct {
	key   int
	reply chan int
}

func BenchmarkActorLockRead(b *testing.B) {
	var mu sync.RWMutex
	m := map[int]int{1: 1}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.RLock()
			_ = m[1]
			mu.RUnlock()
		}
	})
}

func BenchmarkActorLockWrite(b *testing.B) {
	var mu sync.RWMutex
	m := map[int]int{1: 1}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			m[1]++
			mu.Unlock()
		}
	})
}

func BenchmarkActorMailbox(b *testing.B) {
	box := make(chan mailboxReq, 64)
	done := make(chan struct{})
	go func() {
		m := map[int]int{1: 1}
		for {
			select {
			case r := <-box:
				m[r.key]++
				r.reply <- m[r.key]
			case <-done:
				return
			}
		}
	}()
	b.RunParallel(func(pb *testing.PB) {
		reply := make(chan int, 1)
		for pb.Next() {
			box <- mailboxReq{key: 1, reply: reply}
			<-reply
		}
	})
	close(done)
}
