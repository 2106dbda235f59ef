package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/plugins"
)

func testConcurrent(t *testing.T, b plugins.Backend, p string) {
	const workers, perWorker = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker+workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				name := fmt.Sprintf("%sw%d/o%d", p, w, i)
				data := randomBytes(rand.IntN(3 * plugins.MaxChunk))
				if err := roundTrip(ctx(t), b, name, data); err != nil {
					errs <- err
				}
			}
		})
	}
	// Racing writers of one name: exactly one wins, the others get
	// ErrExists, and the object holds the winner's bytes.
	race := p + "contended"
	winners := make(chan []byte, workers)
	for w := range workers {
		wg.Go(func() {
			data := []byte(fmt.Sprintf("written by writer %d", w))
			_, err := b.Put(ctx(t), race, bytes.NewReader(data))
			switch {
			case err == nil:
				winners <- data
			case !errors.Is(err, plugins.ErrExists):
				errs <- fmt.Errorf("racing Put(%q) = %v, want nil or ErrExists", race, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	close(winners)
	for err := range errs {
		t.Error(err)
	}
	var won [][]byte
	for w := range winners {
		won = append(won, w)
	}
	if len(won) != 1 {
		t.Fatalf("%d racing Puts of %q succeeded, want exactly 1", len(won), race)
	}
	wantGet(t, b, race, won[0])
	if objs := list(t, b, p); len(objs) != workers*perWorker+1 {
		t.Errorf("List(%q) = %d objects, want %d", p, len(objs), workers*perWorker+1)
	}
}

// roundTrip puts data and reads it back; it runs off the test goroutine,
// so it returns errors rather than failing the test.
func roundTrip(ctx context.Context, b plugins.Backend, name string, data []byte) error {
	obj, err := b.Put(ctx, name, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("Put(%q): %w", name, err)
	}
	if obj.Size != int64(len(data)) || obj.Checksum != checksum(data) {
		return fmt.Errorf("Put(%q) = %+v, want %d bytes with sha256 %s", name, obj, len(data), checksum(data))
	}
	rc, err := b.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("Get(%q): %w", name, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("reading %q: %w", name, err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("Get(%q) = %d bytes, want the %d stored", name, len(got), len(data))
	}
	return nil
}
