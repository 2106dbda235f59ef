package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Right is what a token allows.
type Right int

// Rights, weakest first; Read < Submit < Manage, and TaskManager stands
// apart.
const (
	Read Right = iota + 1
	Submit
	Manage
	TaskManager
)

// ParseRight reads a right's name.
func ParseRight(s string) (Right, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read":
		return Read, nil
	case "submit":
		return Submit, nil
	case "manage":
		return Manage, nil
	case "taskmanager":
		return TaskManager, nil
	}
	return 0, fmt.Errorf("unknown right %q: use read, submit, manage or taskmanager", s)
}

func (r Right) String() string {
	switch r {
	case Read:
		return "read"
	case Submit:
		return "submit"
	case Manage:
		return "manage"
	case TaskManager:
		return "taskmanager"
	}
	return fmt.Sprintf("right(%d)", int(r))
}

// allows reports whether holding r allows need.
func (r Right) allows(need Right) bool {
	switch {
	case r == need:
		return true
	case r == TaskManager || need == TaskManager:
		return false
	default:
		return r > need
	}
}

// Errors callers branch on (HTTP 401 and 403).
var (
	// ErrUnauthenticated: no token, or one the JobManager does not know.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrForbidden: a known token without the right.
	ErrForbidden = errors.New("permission denied")
)

// Token is a named secret with rights.
type Token struct {
	Name   string
	Secret string
	Rights []Right
}

// Config configures an Authorizer.
type Config struct {
	// Tokens are the accepted tokens. None, and no minted ones, means
	// authentication is off: every request is allowed (Enabled is false).
	Tokens []Token
	// AnonymousRead lets requests without a token read.
	AnonymousRead bool
}

// MinSecretLen is the shortest secret accepted: a token must not be
// guessable.
const MinSecretLen = 16

type entry struct {
	name   string
	rights []Right
	minted bool
}

// Authorizer checks tokens. Its methods are safe for concurrent use.
type Authorizer struct {
	anonymousRead bool
	configured    bool
	mu            sync.RWMutex
	bySum         map[[32]byte]entry
}

// New returns an Authorizer for cfg, or an error naming the bad token.
func New(cfg Config) (*Authorizer, error) {
	a := &Authorizer{anonymousRead: cfg.AnonymousRead, bySum: map[[32]byte]entry{}, configured: len(cfg.Tokens) > 0}
	names := map[string]bool{}
	for _, t := range cfg.Tokens {
		switch {
		case t.Name == "":
			return nil, errors.New("auth: a token has no name")
		case names[t.Name]:
			return nil, fmt.Errorf("auth: two tokens are named %q", t.Name)
		case len(t.Secret) < MinSecretLen:
			return nil, fmt.Errorf("auth: token %q: its secret is %d characters; use at least %d random ones (e.g. `openssl rand -hex 32`)", t.Name, len(t.Secret), MinSecretLen)
		case len(t.Rights) == 0:
			return nil, fmt.Errorf("auth: token %q has no rights; give it read, submit, manage or taskmanager", t.Name)
		}
		names[t.Name] = true
		sum := sha256.Sum256([]byte(t.Secret))
		if _, dup := a.bySum[sum]; dup {
			return nil, fmt.Errorf("auth: token %q has the same secret as another token", t.Name)
		}
		a.bySum[sum] = entry{name: t.Name, rights: slices.Clone(t.Rights)}
	}
	return a, nil
}

// Enabled reports whether tokens are checked at all.
func (a *Authorizer) Enabled() bool { return a != nil && a.configured }

// Check returns the name of the token secret and nil if it allows need;
// else an error wrapping ErrUnauthenticated or ErrForbidden that says what
// to do. An empty secret is an anonymous request. With authentication off
// everything is allowed.
func (a *Authorizer) Check(secret string, need Right) (string, error) {
	if !a.Enabled() {
		return "", nil
	}
	if secret == "" {
		if need == Read && a.anonymousRead {
			return "anonymous", nil
		}
		return "", fmt.Errorf("%w: this request needs a token with the %s right; pass it as \"Authorization: Bearer TOKEN\" (jmctl: --token, $SLUICE_TOKEN or --token-file)", ErrUnauthenticated, need)
	}
	a.mu.RLock()
	e, ok := a.bySum[sha256.Sum256([]byte(secret))]
	a.mu.RUnlock()
	if !ok {
		return "", fmt.Errorf("%w: the token is not known to this JobManager", ErrUnauthenticated)
	}
	for _, r := range e.rights {
		if r.allows(need) {
			return e.name, nil
		}
	}
	return e.name, fmt.Errorf("%w: token %q has %s but this request needs %s", ErrForbidden, e.name, rightsString(e.rights), need)
}

func rightsString(rs []Right) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// Mint makes a new random token with rights, named name, for a party the
// JobManager starts itself (a provider's TaskManagers), and returns its
// secret and a function that revokes it. Minting turns authentication on
// only if tokens were configured: without them there is nothing to
// protect against.
func (a *Authorizer) Mint(name string, rights ...Right) (secret string, revoke func()) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret = fmt.Sprintf("%x", b)
	sum := sha256.Sum256([]byte(secret))
	a.mu.Lock()
	a.bySum[sum] = entry{name: name, rights: rights, minted: true}
	a.mu.Unlock()
	return secret, func() {
		a.mu.Lock()
		delete(a.bySum, sum)
		a.mu.Unlock()
	}
}
