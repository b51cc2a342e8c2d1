// Package cpus adapts how many CPUs run bucketd's Go code at once (the Go
// runtime's GOMAXPROCS) to the load, when the user does not fix the number
// with --threads.
//
// # Why
//
// Go's scheduler runs a goroutine that a socket has woken on an idle
// processor if it has one, and waking that processor's thread costs a
// system call and a context switch on each side. A server whose clients
// send one command and wait for the reply (no pipelining) pays this on every
// request while gaining nothing from the second CPU; on a machine whose
// other CPUs run the clients themselves it also takes CPU time from them.
// On 2 cores shared with redis-benchmark (50 clients, pipeline 1) one
// processor serves 15-25% more requests than two. Work that does need
// several CPUs (pipelined writes: parsing, validation, index upkeep, events,
// garbage collection) is 30-40% slower on one.
//
// # How
//
// A Tuner samples, every Interval, the CPU time the process used and the
// idle time of the machine (Linux /proc/stat), and decides (Next):
//
//   - more processors when, over the last sample, the process kept all its
//     processors busy and the machine had at least half a CPU idle: there
//     is work that can use more CPUs, and CPUs to run it. It adds as many
//     as were idle, rounded, at least one;
//   - fewer when, over the last sample and over the last second, the
//     process's CPU use plus a tenth of a CPU to spare fits in fewer
//     processors.
//
// It starts with every CPU (start-up loading and the first burst use them),
// and changes at most once per hold time. The hold starts at one second. A
// change that reverses the previous one within twice the hold doubles it
// (up to 30 seconds), so a load that sits on the boundary does not make the
// tuner flap; a change that comes four holds or more after the previous one
// (the load itself changed) brings it back to one second.
//
// Where /proc/stat cannot be read at start the Tuner leaves GOMAXPROCS
// alone; a read that fails later skips that sample.
//
// Setting GOMAXPROCS turns off the Go runtime's own updates of it when a
// container's CPU limit changes: the Tuner's upper bound is the runtime's
// GOMAXPROCS at start, which honours the limit then.
package cpus
