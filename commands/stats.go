package commands

import (
	"sync"
	"time"

	"bucketd/jsonv"
	"bucketd/script"
)

// opsSampler computes instantaneous_ops_per_sec as Redis does: the command
// count is sampled every 100 ms and the rate averaged over the last 16
// samples.
type opsSampler struct {
	mu      sync.Mutex // guards the fields below
	samples [16]float64
	idx     int
	lastN   int64
	lastAt  time.Time

	stop chan struct{}
	done chan struct{}
}

func (o *opsSampler) start(count func() int64) {
	o.stop = make(chan struct{})
	o.done = make(chan struct{})
	o.lastAt = time.Now()
	go func() {
		defer close(o.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-o.stop:
				return
			case now := <-t.C:
				n := count()
				o.mu.Lock()
				if dt := now.Sub(o.lastAt).Seconds(); dt > 0 {
					o.samples[o.idx%len(o.samples)] = float64(n-o.lastN) / dt
					o.idx++
				}
				o.lastN, o.lastAt = n, now
				o.mu.Unlock()
			}
		}
	}()
}

func (o *opsSampler) close() {
	if o.stop != nil {
		close(o.stop)
		<-o.done
	}
}

// rate returns the average of the samples taken.
func (o *opsSampler) rate() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := min(o.idx, len(o.samples))
	if n == 0 {
		return 0
	}
	sum := 0.0
	for i := 0; i < n; i++ {
		sum += o.samples[i]
	}
	return int64(sum/float64(n) + 0.5)
}

// Close stops the server's background work (the ops sampler, the reactive
// query workers and the metrics endpoint). Call it after the network
// server has shut down.
func (s *Server) Close() {
	s.queries.Stop() // no new query runs: the kill below stops the last ones
	s.StopScripts()
	s.queries.Close()
	s.scripts.Close()
	s.ops.close()
	s.closeMetrics()
}

// StopScripts stops every running script and function, and every function
// query run, now and from now on; scripts roll back and their callers get
// the kill error. Shutdown calls it first.
func (s *Server) StopScripts() {
	s.scripts.Kill(script.KindEval)
	s.scripts.Kill(script.KindFunction)
	s.scripts.StopQueries()
}

func cmdStoreStats(c *Ctx) {
	s := c.S
	names := s.store.List()
	b := []byte(`{"buckets":{"count":`)
	b = jsonv.AppendNumber(b, float64(len(names)))
	b = append(b, `,"names":[`...)
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonv.AppendString(b, n)
	}
	b = append(b, `]},"records":{"total":`...)
	total, indexes := 0, 0
	per := []byte(`{`)
	perIx := []byte(`{`)
	var mem int64
	for i, n := range names {
		info, err := s.store.Info(n)
		if err != nil {
			continue
		}
		total += info.Records
		indexes += len(info.Indexes)
		mem += info.MemoryBytes
		if i > 0 {
			per = append(per, ',')
			perIx = append(perIx, ',')
		}
		per = jsonv.AppendString(per, n)
		per = append(per, ':')
		per = jsonv.AppendNumber(per, float64(info.Records))
		perIx = jsonv.AppendString(perIx, n)
		perIx = append(perIx, ':')
		perIx = jsonv.AppendNumber(perIx, float64(len(info.Indexes)))
	}
	b = jsonv.AppendNumber(b, float64(total))
	b = append(b, `,"perBucket":`...)
	b = append(append(b, per...), '}')
	b = append(b, `,"memoryBytes":`...)
	b = jsonv.AppendNumber(b, float64(mem))
	b = append(b, `},"indexes":{"total":`...)
	b = jsonv.AppendNumber(b, float64(indexes))
	b = append(b, `,"perBucket":`...)
	b = append(append(b, perIx...), '}')
	qs := s.queries.Stats()
	b = append(b, `},"queries":{"defined":`...)
	b = jsonv.AppendNumber(b, float64(qs.Defined))
	b = append(b, `,"activeSubscriptions":`...)
	b = jsonv.AppendNumber(b, float64(qs.ActiveSubscriptions))
	b = append(b, `,"channels":`...)
	b = jsonv.AppendNumber(b, float64(qs.Channels))
	b = append(b, `,"evaluations":`...)
	b = jsonv.AppendNumber(b, float64(qs.Evaluations))
	b = append(b, `,"fullReads":`...)
	b = jsonv.AppendNumber(b, float64(qs.FullReads))
	b = append(b, `,"published":`...)
	b = jsonv.AppendNumber(b, float64(qs.Published))
	b = append(b, `,"runs":`...)
	b = jsonv.AppendNumber(b, float64(qs.Runs))
	b = append(b, `,"reruns":`...)
	b = jsonv.AppendNumber(b, float64(qs.Reruns))
	b = append(b, `,"skippedChanges":`...)
	b = jsonv.AppendNumber(b, float64(qs.SkippedChanges))
	b = append(b, `},"events":{"published":`...)
	b = jsonv.AppendNumber(b, float64(s.events.Published()))
	b = append(b, `,"delivered":`...)
	b = jsonv.AppendNumber(b, float64(s.hub.Delivered()))
	b = append(b, `},"persistence":{"enabled":`...)
	if p := s.pers(); p != nil {
		in := p.Info()
		b = append(b, `true,"appendfsync":`...)
		b = jsonv.AppendString(b, in.Fsync)
		b = append(b, `,"aofBytes":`...)
		b = jsonv.AppendNumber(b, float64(in.AOFSize))
		b = append(b, `,"snapshotBytes":`...)
		b = jsonv.AppendNumber(b, float64(in.SnapshotSize))
		b = append(b, `,"changesSinceSnapshot":`...)
		b = jsonv.AppendNumber(b, float64(in.ChangesSinceSave))
		b = append(b, `,"rewriteInProgress":`...)
		b = appendBool(b, in.RewriteInProgress)
		b = append(b, `,"lastRewriteStatus":`...)
		b = jsonv.AppendString(b, in.LastRewriteStatus)
		b = append(b, `,"lastWriteStatus":`...)
		b = jsonv.AppendString(b, in.LastWriteStatus)
	} else {
		b = append(b, `false`...)
	}
	b = append(b, `},"ttl":{"intervalMs":`...)
	b = jsonv.AppendNumber(b, float64(s.Config().TTLInterval.Milliseconds()))
	b = append(b, `,"expired":`...)
	b = jsonv.AppendNumber(b, float64(s.store.Expired()))
	b = append(b, `,"evicted":`...)
	b = jsonv.AppendNumber(b, float64(s.store.Evicted()))
	b = append(b, `},"supervisor":{"restarts":{`...)
	restarts := s.store.Restarts()
	first := true
	for _, n := range names {
		if r, ok := restarts[n]; ok {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = jsonv.AppendString(b, n)
			b = append(b, ':')
			b = jsonv.AppendNumber(b, float64(r))
		}
	}
	b = append(b, `},"failed":[`...)
	first = true
	for _, n := range s.store.FailedBuckets() {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonv.AppendString(b, n)
	}
	b = append(b, `]}}`...)
	c.W.Bulk(b)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}
