package s3store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/plugins"
)

// Tuning of transfers. A Put holds at most about (Concurrency+3) ×
// PartSize in memory, whatever the object's size: the uploader's
// Concurrency+1 part buffers, its first part, and the part Put reads to
// choose between a single and a multipart upload.
const (
	// PartSize is the size of an upload part, and the largest object
	// stored with a single PutObject.
	PartSize = 8 << 20
	// Concurrency is how many parts of one object upload at once.
	Concurrency = 3
	// CopyPartSize is the size of a server-side copy part (S3 allows
	// 5 MiB to 5 GiB).
	CopyPartSize = 512 << 20
)

const (
	metaSHA256      = "sluice-sha256" // x-amz-meta-sluice-sha256: lowercase hex
	metaSize        = "sluice-size"   // x-amz-meta-sluice-size: decimal bytes
	metaName        = "sluice-name"   // x-amz-meta-sluice-name: the object name
	stagingDir      = ".staging~"     // not a valid name segment: "~"
	longDir         = ".long~"        // digest keys of long names
	maxKeyLength    = 1024            // S3's limit on a key
	maxKeySegment   = 255             // NAME_MAX, on servers that store files
	copyConcurrency = 4
	listConcurrency = 16
)

// errNotConfigured is returned by calls before a successful Configure.
var errNotConfigured = errors.New("s3: backend is not configured; call Configure first")

// Store is the S3 backend. Its methods are safe for concurrent use once
// Configure has returned.
type Store struct {
	target atomic.Pointer[target]

	// Transfer sizes; tests in this package shrink them.
	partSize     int64
	concurrency  int
	copyPartSize int64
}

var _ plugins.Backend = (*Store)(nil)

// New returns an unconfigured Store; Configure points it at a bucket.
func New() *Store {
	return &Store{
		partSize:     PartSize,
		concurrency:  Concurrency,
		copyPartSize: CopyPartSize,
	}
}

// target is a configured bucket and the client that reaches it.
type target struct {
	client   *s3.Client
	bucket   string
	prefix   string // "" or a valid name, without slashes at either end
	endpoint string // for messages
}

// configured returns the current target or errNotConfigured.
func (s *Store) configured() (*target, error) {
	t := s.target.Load()
	if t == nil {
		return nil, errNotConfigured
	}
	return t, nil
}

// key is the S3 key of a name prefix, or of a name that is not long.
func (t *target) key(name string) string {
	if t.prefix == "" {
		return name
	}
	return t.prefix + "/" + name
}

// objectKey is the S3 key of an object name: its plain key, or, for a long
// name, a digest key.
func (t *target) objectKey(name string) string {
	if t.long(name) {
		return t.digestKey(name)
	}
	return t.key(name)
}

// long reports whether a name cannot be its own key: the key would pass
// S3's 1024 bytes, or a segment would pass the 255 bytes a file name may
// have on servers that keep objects as files (versitygw's posix backend,
// MinIO).
func (t *target) long(name string) bool {
	if len(t.key(name)) > maxKeyLength {
		return true
	}
	for seg := range strings.SplitSeq(name, "/") {
		if len(seg) > maxKeySegment {
			return true
		}
	}
	return false
}

// digestKey is where a long name is stored: P/.long~/SHA256(name).
func (t *target) digestKey(name string) string {
	sum := sha256.Sum256([]byte(name))
	return t.key(longDir + "/" + hex.EncodeToString(sum[:]))
}

// name is the object name of a plain key under the prefix, and whether the
// key is the plain key of an object name at all (staging and digest keys
// are not).
func (t *target) name(key string) (string, bool) {
	name, ok := strings.CutPrefix(key, t.key(""))
	if !ok || plugins.ValidName(name) != nil || t.long(name) {
		return "", false
	}
	return name, true
}

// stagingKey is a fresh key for a multipart upload in progress.
func (t *target) stagingKey(random string) string {
	return t.key(stagingDir + "/" + random)
}
