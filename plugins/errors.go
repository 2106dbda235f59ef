package plugins

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors of the host side.
var (
	// ErrBackendCrashed wraps the error of a call that failed because the
	// plugin process died. The Client restarts the process, so the next
	// call goes to a fresh one; what a backend held only in its process
	// (the memory backend's objects) is gone.
	ErrBackendCrashed = errors.New("state backend crashed")
	// ErrClosed is returned by calls on a Client after Close.
	ErrClosed = errors.New("state backend client closed")
)

// sentinelCodes maps the sentinel errors to the gRPC codes they cross the
// plugin boundary as.
var sentinelCodes = []struct {
	err  error
	code codes.Code
}{
	{ErrNotFound, codes.NotFound},
	{ErrExists, codes.AlreadyExists},
	{ErrChecksum, codes.DataLoss},
	{ErrInvalidName, codes.InvalidArgument},
	{ErrSettings, codes.FailedPrecondition},
}

// toStatus turns a backend's error into a gRPC status error whose code
// tells the host which sentinel it wraps; the message is kept.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range sentinelCodes {
		if errors.Is(err, s.err) {
			return status.Error(s.code, err.Error())
		}
	}
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Unknown, err.Error())
}

// remoteError is an error that crossed the plugin boundary: the plugin's
// message, wrapping the sentinel its status code stands for.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// fromStatus turns an error of a gRPC call back into the backend's error:
// the sentinel codes become errors wrapping ErrNotFound and friends, a
// cancellation becomes the context's error, anything else (transport
// failures among them) stays a status error.
func fromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if ok {
		for _, s := range sentinelCodes {
			if st.Code() == s.code {
				return &remoteError{msg: st.Message(), sentinel: s.err}
			}
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Canceled:
		return &remoteError{msg: st.Message(), sentinel: context.Canceled}
	case codes.DeadlineExceeded:
		return &remoteError{msg: st.Message(), sentinel: context.DeadlineExceeded}
	}
	return err
}
