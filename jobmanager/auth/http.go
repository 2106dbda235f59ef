package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Header is the header clients send the token in, as "Bearer TOKEN".
const Header = "Authorization"

// TokenFromRequest returns the bearer token of r, or "".
func TokenFromRequest(r *http.Request) string {
	v := r.Header.Get(Header)
	if tok, ok := strings.CutPrefix(v, "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return ""
}

// Require wraps next so that only requests whose token allows one of
// needs reach it; others get 401 or 403 with a JSON body {"error": ...}
// saying what to do.
func (a *Authorizer) Require(next http.Handler, needs ...Right) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.CheckAny(TokenFromRequest(r), needs...); err != nil {
			WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// WriteError answers a failed Check.
func WriteError(w http.ResponseWriter, err error) {
	code := http.StatusForbidden
	if errors.Is(err, ErrUnauthenticated) {
		code = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// metadataKey is the gRPC metadata key of the token.
const metadataKey = "authorization"

// StreamInterceptor refuses streams whose token does not allow need, with
// codes.Unauthenticated or codes.PermissionDenied.
func (a *Authorizer) StreamInterceptor(need Right) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := a.checkContext(ss.Context(), need); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

// UnaryInterceptor is StreamInterceptor for unary calls.
func (a *Authorizer) UnaryInterceptor(need Right) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := a.checkContext(ctx, need); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func (a *Authorizer) checkContext(ctx context.Context, need Right) error {
	var tok string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(metadataKey); len(v) > 0 {
			tok, _ = strings.CutPrefix(v[0], "Bearer ")
		}
	}
	if _, err := a.Check(tok, need); err != nil {
		code := codes.PermissionDenied
		if errors.Is(err, ErrUnauthenticated) {
			code = codes.Unauthenticated
		}
		return status.Error(code, err.Error())
	}
	return nil
}

// Bearer returns gRPC per-call credentials that send token, for clients of
// the control endpoint (TaskManagers). They are allowed without transport
// security: on a cluster without TLS the token guards registration, and
// TLS (--tls-*) guards the token.
func Bearer(token string) credentials.PerRPCCredentials { return bearer(token) }

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{metadataKey: "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }
