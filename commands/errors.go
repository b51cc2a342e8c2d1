package commands

import (
	"errors"

	"bucketd/cluster"
	"bucketd/engine"
	"bucketd/jsonv"
	"bucketd/script"
)

// errPlain marks a failure whose ERR reply was written by ErrMsg.
var errPlain = errors.New("command failed")

// errorReply turns an error into the text of a RESP error reply, its first
// word the code of docs/commands.md ("Errors"): this is the one place where engine errors
// meet the wire.
func errorReply(err error) string {
	var (
		verr   *engine.ValidationError
		uerr   *engine.UniqueError
		nferr  *engine.NotFoundError
		exerr  *engine.ExistsError
		bexerr *engine.BucketExistsError
		nberr  *engine.NoBucketError
		cferr  *engine.ConflictError
		qexerr *queryExistsError
		nqerr  *noQueryError
		synerr *jsonv.SyntaxError
		rerr   *replyError
		derr   *engine.DurabilityError
		toerr  *engine.TimeoutError
		busy   *engine.BusyError
		nherr  *engine.NotHeldError
		scerr  *script.Error
		down   *cluster.DownError
	)
	switch {
	case errors.As(err, &down): // before MISCONF: the journal refused it as a replicated node's
		return oneLine(down.Error())
	case errors.As(err, &derr):
		return "MISCONF " + oneLine(derr.Error())
	case errors.As(err, &rerr):
		return oneLine(rerr.msg)
	case errors.As(err, &verr):
		return "VALIDATION " + oneLine(verr.Error())
	case errors.As(err, &uerr):
		return "UNIQUE " + oneLine(uerr.Error())
	case errors.As(err, &nferr):
		return "NOTFOUND " + oneLine(nferr.Error())
	case errors.As(err, &exerr):
		return "EXISTS " + oneLine(exerr.Error())
	case errors.As(err, &bexerr):
		return "EXISTS " + oneLine(bexerr.Error())
	case errors.As(err, &qexerr):
		return "EXISTS " + oneLine(qexerr.Error())
	case errors.As(err, &nberr):
		return "NOBUCKET " + oneLine(nberr.Error())
	case errors.As(err, &nqerr):
		return "NOQUERY " + oneLine(nqerr.Error())
	case errors.As(err, &cferr):
		return "CONFLICT " + oneLine(cferr.Error())
	case errors.As(err, &toerr):
		return "TIMEOUT " + oneLine(toerr.Error())
	case errors.As(err, &busy):
		return oneLine(busy.Reason)
	case errors.As(err, &nherr):
		return undeclaredBucket(nherr.Bucket)
	case errors.As(err, &scerr):
		return oneLine(scerr.Text)
	case errors.As(err, &synerr):
		return "ERR invalid JSON: " + oneLine(synerr.Error())
	}
	return "ERR " + oneLine(err.Error())
}

// replyError is an error whose reply text, code included, is given whole
// (EXECABORT, NOAUTH, WRONGPASS, NOPROTO …).
type replyError struct{ msg string }

func (e *replyError) Error() string { return e.msg }

// queryExistsError reports QUERY.DEFINE of an existing query with a
// different definition.
type queryExistsError struct{ name string }

func (e *queryExistsError) Error() string {
	return "Query \"" + e.name + "\" already exists with a different definition"
}

// noQueryError reports a query that is not defined.
type noQueryError struct{ name string }

func (e *noQueryError) Error() string { return "Query \"" + e.name + "\" is not defined" }
