package memstore

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/plugins/backendtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) plugins.Backend {
		s := New()
		if err := s.Configure(t.Context(), map[string]string{}); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConfigureRefusesSettings(t *testing.T) {
	err := New().Configure(context.Background(), map[string]string{"bucket": "b", "dir": "/tmp"})
	if !errors.Is(err, plugins.ErrSettings) {
		t.Fatalf("Configure = %v, want ErrSettings", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "bucket") || !strings.Contains(msg, "dir") {
		t.Errorf("Configure error %q does not name the keys", msg)
	}
	if err := New().Configure(context.Background(), nil); err != nil {
		t.Errorf("Configure(nil) = %v", err)
	}
}

// TestCorruptionDetected flips a stored byte: reading the object to the
// end fails with ErrChecksum naming it.
func TestCorruptionDetected(t *testing.T) {
	s := New()
	ctx := context.Background()
	const name = "job/chk-1/state"
	if _, err := s.Put(ctx, name, strings.NewReader("snapshot bytes")); err != nil {
		t.Fatal(err)
	}
	s.objs[name].data[3] ^= 0x20

	rc, err := s.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = io.ReadAll(rc)
	if !errors.Is(err, plugins.ErrChecksum) {
		t.Fatalf("reading a corrupted object = %v, want ErrChecksum", err)
	}
	if !strings.Contains(err.Error(), name) {
		t.Errorf("error %q does not name the object", err)
	}
}
