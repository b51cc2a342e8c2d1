package resp

import (
	"fmt"
	"syscall"

	"github.com/rs/zerolog"
)

// reservedFDs is Redis's CONFIG_MIN_RESERVED_FDS: the open files kept for
// the server's own use (listener, logs, persistence files) out of the
// limit when it bounds the number of clients.
const reservedFDs = 32

// FitMaxClients makes the process's open files limit (RLIMIT_NOFILE) hold
// maxclients clients and reservedFDs more, as Redis does at start: it
// raises the soft limit as far as the hard limit allows, and when that is
// not enough it returns maxclients lowered to the limit less reservedFDs,
// logging a warning with both numbers. It returns an error when the limit
// leaves no room for any client. A maxclients of 0 or less (no bound) is
// returned as it is: clients past the limit are then refused by the
// system, and the accept loop waits them out (see Server.Serve).
func FitMaxClients(maxclients int64, log zerolog.Logger) (int64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		const assumed = 1024
		if maxclients > assumed-reservedFDs {
			log.Warn().Err(err).Int64("maxclients", assumed-reservedFDs).
				Msg("cannot read the open files limit; assuming 1024 and lowering maxclients to fit")
			return assumed - reservedFDs, nil
		}
		return maxclients, nil
	}
	return fitMaxClients(maxclients, lim, func(l *syscall.Rlimit) error {
		return syscall.Setrlimit(syscall.RLIMIT_NOFILE, l)
	}, log)
}

// fitMaxClients is FitMaxClients given the current limit and the way to
// change it.
func fitMaxClients(maxclients int64, lim syscall.Rlimit, set func(*syscall.Rlimit) error, log zerolog.Logger) (int64, error) {
	if maxclients <= 0 {
		return maxclients, nil
	}
	want := uint64(maxclients) + reservedFDs
	if lim.Cur >= want {
		return maxclients, nil
	}
	old := lim.Cur
	var setErr error
	if target := min(want, lim.Max); target > lim.Cur {
		raised := syscall.Rlimit{Cur: target, Max: lim.Max}
		if setErr = set(&raised); setErr == nil {
			lim.Cur = target
			log.Info().Uint64("open_files_limit", target).Uint64("was", old).
				Msg("raised the open files limit for maxclients")
		}
	}
	if lim.Cur >= want {
		return maxclients, nil
	}
	if lim.Cur <= reservedFDs {
		return 0, fmt.Errorf("the open files limit (ulimit -n) of %d leaves no room for clients: raise it to at least %d", lim.Cur, want)
	}
	fit := int64(lim.Cur - reservedFDs)
	ev := log.Warn()
	if setErr != nil {
		ev = ev.AnErr("raise_error", setErr)
	}
	ev.Int64("requested", maxclients).Uint64("requires_open_files", want).
		Uint64("open_files_limit", lim.Cur).Uint64("hard_limit", lim.Max).Int64("maxclients", fit).
		Msg("maxclients lowered to fit the open files limit; raise 'ulimit -n' for more clients")
	return fit, nil
}
