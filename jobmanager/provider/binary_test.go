package provider

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestLocalBinaryErrors(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no execute bits")
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(plain, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		path   string
		want   string
		wantIs error
	}{
		{missing, "provider: taskmanager binary " + missing + ": no such file or directory", fs.ErrNotExist},
		{plain, "provider: taskmanager binary " + plain + ": not an executable file: mode -rw-r--r-- has no execute permission", ErrNotExecutable},
		{dir, "provider: taskmanager binary " + dir + ": not an executable file: it is a directory", ErrNotExecutable},
	}
	p, err := NewLocal(LocalConfig{WorkDir: filepath.Join(dir, "work"), GracePeriod: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tt := range tests {
		ids, err := p.Ensure(context.Background(), Request{JobID: "j", Path: tt.path, TaskManagers: 2})
		if err == nil || err.Error() != tt.want || !errors.Is(err, tt.wantIs) || ids != nil {
			t.Errorf("Ensure(%s) = %v, %v;\nwant the error %q wrapping %v", tt.path, ids, err, tt.want, tt.wantIs)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "work"))
	if err != nil || len(entries) != 0 {
		t.Errorf("work directory holds %v (%v), want nothing", entries, err)
	}
}

func TestNewLocalErrors(t *testing.T) {
	if _, err := NewLocal(LocalConfig{}); err == nil || !strings.Contains(err.Error(), "WorkDir is empty") {
		t.Errorf("NewLocal without WorkDir = %v", err)
	}
	if _, err := NewLocal(LocalConfig{WorkDir: t.TempDir(), GracePeriod: -time.Second}); err == nil || !strings.Contains(err.Error(), "GracePeriod is -1s") {
		t.Errorf("NewLocal with a negative grace period = %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLocal(LocalConfig{WorkDir: filepath.Join(file, "work")}); err == nil || !strings.Contains(err.Error(), "create work directory") {
		t.Errorf("NewLocal with a WorkDir under a file = %v", err)
	}
}

func TestLocalDefaults(t *testing.T) {
	p, err := NewLocal(LocalConfig{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.grace != DefaultGracePeriod || p.log == nil || p.Name() != "local" {
		t.Errorf("grace %v, logger %v, name %q", p.grace, p.log, p.Name())
	}
}
