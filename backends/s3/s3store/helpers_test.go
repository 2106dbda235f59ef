package s3store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/sluicehq/sluice/backends/s3/s3test"
	"github.com/sluicehq/sluice/plugins"
)

const mib = 1 << 20

var buckets atomic.Int64

// fixture is a versitygw server with one bucket and a Store configured on
// it.
type fixture struct {
	srv    *s3test.Server
	bucket string
	prefix string
	store  *Store
}

// newFixture starts a server, creates a bucket and configures a Store
// with the given prefix.
func newFixture(t testing.TB, prefix string) *fixture {
	t.Helper()
	srv := s3test.Start(t)
	return newFixtureOn(t, srv, prefix)
}

// newFixtureOn creates a fresh bucket on srv and configures a Store.
func newFixtureOn(t testing.TB, srv *s3test.Server, prefix string) *fixture {
	t.Helper()
	f := &fixture{srv: srv, bucket: fmt.Sprintf("bucket-%d", buckets.Add(1)), prefix: prefix}
	srv.CreateBucket(t, f.bucket)
	f.store = New()
	if err := f.store.Configure(context.Background(), f.settings()); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return f
}

func (f *fixture) settings() map[string]string {
	m := map[string]string{
		SettingBucket:          f.bucket,
		SettingRegion:          f.srv.Region,
		SettingEndpoint:        f.srv.Endpoint,
		SettingPathStyle:       "true",
		SettingAccessKeyID:     f.srv.AccessKey,
		SettingSecretAccessKey: f.srv.SecretKey,
	}
	if f.prefix != "" {
		m[SettingPrefix] = f.prefix
	}
	return m
}

// key is the S3 key of a name.
func (f *fixture) key(name string) string {
	if f.prefix == "" {
		return name
	}
	return f.prefix + "/" + name
}

// rawKeys lists every key in the bucket, bypassing the Store.
func (f *fixture) rawKeys(t testing.TB) []string {
	t.Helper()
	out, err := f.srv.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(f.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// openUploads counts multipart uploads in progress in the bucket.
func (f *fixture) openUploads(t testing.TB) int {
	t.Helper()
	out, err := f.srv.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(f.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

// stream is a deterministic pseudo-random byte stream of a given length.
type stream struct {
	src  *rand.ChaCha8
	left int64
}

func newStream(seed byte, size int64) *stream {
	var s [32]byte
	s[0] = seed
	return &stream{src: rand.NewChaCha8(s), left: size}
}

func (s *stream) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, _ := s.src.Read(p)
	s.left -= int64(n)
	return n, nil
}

// streamSum is the hex sha256 of newStream(seed, size).
func streamSum(seed byte, size int64) string {
	h := sha256.New()
	io.Copy(h, newStream(seed, size))
	return hex.EncodeToString(h.Sum(nil))
}

// readAllSum reads an object to the end and returns its size and sha256.
func readAllSum(t testing.TB, s plugins.Backend, name string) (int64, string, error) {
	t.Helper()
	rc, err := s.Get(context.Background(), name)
	if err != nil {
		return 0, "", err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// failingReader yields n bytes of a stream, then fails.
type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// mustContain fails the test unless err's message contains every part.
func mustContain(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error; want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

// countOps makes the store's client count the S3 operations it calls.
func (f *fixture) countOps() *opCounter {
	c := &opCounter{n: map[string]int{}}
	t := f.store.target.Load()
	client := s3.New(t.client.Options(), func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countOps",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					c.add(awsmiddleware.GetOperationName(ctx))
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	})
	f.store.target.Store(&target{client: client, bucket: t.bucket, prefix: t.prefix, endpoint: t.endpoint})
	return c
}

// opCounter counts S3 operations by name.
type opCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *opCounter) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[op]++
}

func (c *opCounter) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}
