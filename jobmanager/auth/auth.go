package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
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
}

// Authorizer checks tokens. It does not change after New, so its methods
// are safe for concurrent use.
type Authorizer struct {
	anonymousRead bool
	configured    bool
	bySum         map[[32]byte]entry
	jobKey        []byte // the key of JobToken's HMAC
}

// New returns an Authorizer for cfg, or an error naming the bad token.
func New(cfg Config) (*Authorizer, error) {
	a := &Authorizer{anonymousRead: cfg.AnonymousRead, bySum: map[[32]byte]entry{}, configured: len(cfg.Tokens) > 0}
	names := map[string]bool{}
	key := sha256.New()
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
		key.Write(sum[:])
	}
	a.jobKey = key.Sum(nil)
	return a, nil
}

// Enabled reports whether tokens are checked at all.
func (a *Authorizer) Enabled() bool { return a != nil && a.configured }

// Check returns the name of the token secret and nil if it allows need;
// else an error wrapping ErrUnauthenticated or ErrForbidden that says what
// to do. An empty secret is an anonymous request. With authentication off
// everything is allowed.
func (a *Authorizer) Check(secret string, need Right) (string, error) {
	return a.CheckAny(secret, need)
}

// CheckAny is Check for a request that any one of needs allows.
func (a *Authorizer) CheckAny(secret string, needs ...Right) (string, error) {
	if !a.Enabled() {
		return "", nil
	}
	need := rightsString(needs, " or ")
	if secret == "" {
		if slices.Contains(needs, Read) && a.anonymousRead {
			return "anonymous", nil
		}
		return "", fmt.Errorf("%w: this request needs a token with the %s right; pass it as \"Authorization: Bearer TOKEN\" (jmctl: --token, $SLUICE_TOKEN or --token-file)", ErrUnauthenticated, need)
	}
	e, ok := a.bySum[sha256.Sum256([]byte(secret))]
	if !ok {
		if name, ok := a.checkJobToken(secret); ok {
			e = entry{name: name, rights: []Right{TaskManager}}
		}
	}
	if e.name == "" {
		return "", fmt.Errorf("%w: the token is not known to this JobManager", ErrUnauthenticated)
	}
	for _, r := range e.rights {
		for _, n := range needs {
			if r.allows(n) {
				return e.name, nil
			}
		}
	}
	return e.name, fmt.Errorf("%w: token %q has %s but this request needs %s", ErrForbidden, e.name, rightsString(e.rights, ", "), need)
}

func rightsString(rs []Right, sep string) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, sep)
}

// jobTokenPrefix starts the tokens of JobToken: "sjt1.<job id>.<mac>".
const jobTokenPrefix = "sjt1."

// JobToken returns the token the TaskManagers a provider starts for job
// jobID register with: it carries the taskmanager right and nothing else.
// It is an HMAC of the job id under a key derived from the configured
// secrets, so every JobManager of a cluster (which share their
// configuration) accepts it, and a new leader accepts the TaskManagers of
// the jobs it recovers. It returns "" when authentication is off.
func (a *Authorizer) JobToken(jobID string) string {
	if !a.Enabled() {
		return ""
	}
	return jobTokenPrefix + jobID + "." + hex.EncodeToString(a.jobMAC(jobID))
}

func (a *Authorizer) jobMAC(jobID string) []byte {
	m := hmac.New(sha256.New, a.jobKey)
	m.Write([]byte("taskmanager\x00" + jobID))
	return m.Sum(nil)
}

// checkJobToken reports whether secret is a valid JobToken.
func (a *Authorizer) checkJobToken(secret string) (string, bool) {
	rest, ok := strings.CutPrefix(secret, jobTokenPrefix)
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 {
		return "", false
	}
	mac, err := hex.DecodeString(rest[i+1:])
	if err != nil || !hmac.Equal(mac, a.jobMAC(rest[:i])) {
		return "", false
	}
	return "taskmanagers of job " + rest[:i], true
}
