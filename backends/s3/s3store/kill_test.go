package s3store

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/plugins"
)

// TestServerKilledDuringPut kills the server (SIGKILL) while a Put streams:
// the Put returns an error naming the object and the server, promptly, and
// nothing panics.
func TestServerKilledDuringPut(t *testing.T) {
	t.Parallel() // most of the time goes in the SDK's retry backoff
	for _, tc := range []struct {
		name      string
		size, at  int64
		partSize  int64
		wantWords []string
	}{
		{"single", 1000, 100, PartSize, []string{"refused"}},
		{"multipart", 64 * mib, 12 * mib, 5 * mib, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, "")
			f.store.partSize = tc.partSize
			r := &callbackReader{r: newStream(10, tc.size), after: tc.at, fn: func() { f.srv.Kill(t) }}
			start := time.Now()
			_, err := f.store.Put(context.Background(), "victim", r)
			mustContain(t, err, `"victim"`, f.srv.Endpoint)
			mustContain(t, err, tc.wantWords...)
			if errors.Is(err, plugins.ErrExists) || errors.Is(err, plugins.ErrChecksum) {
				t.Fatalf("Put: %v; want a transport error, not a sentinel", err)
			}
			t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
		})
	}
}

// TestServerKilledDuringGet kills the server while an object is read: the
// reader fails with an error naming the object, not a checksum mismatch.
func TestServerKilledDuringGet(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	ctx := context.Background()
	const size = 48 * mib
	if _, err := f.store.Put(ctx, "victim", newStream(11, size)); err != nil {
		t.Fatal(err)
	}
	rc, err := f.store.Get(ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, mib); err != nil {
		t.Fatal(err)
	}
	f.srv.Kill(t)
	n, err := io.Copy(io.Discard, rc)
	if err == nil || errors.Is(err, plugins.ErrChecksum) {
		t.Fatalf("reading on after the kill: %v after %d more bytes; want a transport error", err, n)
	}
	mustContain(t, err, `"victim"`)
	t.Logf("after %d more bytes: %v", n, err)

	// Everything else fails cleanly too (at once: each call retries with
	// backoff for a few seconds before it gives up).
	errs := make([]error, 4)
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[0] = f.store.Get(ctx, "victim") })
	wg.Go(func() { _, errs[1] = f.store.List(ctx, "") })
	wg.Go(func() { errs[2] = f.store.Delete(ctx, "victim") })
	wg.Go(func() { _, errs[3] = f.store.Put(ctx, "other", strings.NewReader("x")) })
	wg.Wait()
	for i, name := range []string{`"victim"`, `list ""`, `"victim"`, `"other"`} {
		mustContain(t, errs[i], name, f.srv.Endpoint, "refused")
	}
}
