package plugins_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/plugins"
)

// TestOpenErrors starts binaries that are not working backends: each
// fails Open with an error naming the binary and saying what is wrong.
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "sluice-backend-noexec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := foreignBinary(t)
	for _, tc := range []struct {
		name    string
		path    string
		args    []string
		timeout time.Duration
		want    []string
		is      error
	}{
		{name: "missing", path: filepath.Join(dir, "sluice-backend-nope"), want: []string{"does not exist", "install"}, is: fs.ErrNotExist},
		{name: "not executable", path: notExec, want: []string{"not executable", "chmod +x"}},
		{name: "directory", path: dir, want: []string{"is a directory"}},
		{name: "exits at once", path: "/bin/true", want: []string{"not a Sluice state backend", "plugins.Serve"}},
		{name: "garbage", path: foreign, args: []string{"garbage"}, want: []string{"not a Sluice state backend", "hello, I am not a plugin"}},
		{name: "other program's plugin", path: foreign, args: []string{"othercookie"}, want: []string{"not a Sluice state backend", "not meant to be executed directly"}},
		{name: "panics", path: foreign, args: []string{"panic"}, want: []string{"failed at start-up", "broken at start-up"}},
		{name: "version 99", path: foreign, args: []string{"version99"}, want: []string{"another state-backend protocol version", "Plugin version: 99"}},
		{name: "no handshake", path: "/bin/sleep", args: []string{"30"}, timeout: 300 * time.Millisecond, want: []string{"did not complete the plugin handshake within 300ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			c, err := plugins.Open(context.Background(), plugins.Config{Path: tc.path, Args: tc.args, StartTimeout: tc.timeout, Logger: testLogger(t)})
			if err == nil {
				c.Close()
				t.Fatalf("Open(%s) succeeded", tc.path)
			}
			t.Logf("%v (after %v)", err, time.Since(start).Round(time.Millisecond))
			for _, w := range append(tc.want, tc.path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q", w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v", tc.is)
			}
		})
	}
}
