package provider

import (
	"bytes"
	"strings"
	"sync"
)

// tail is an io.Writer that keeps the last few non-blank lines written to
// it, each cut to maxLine bytes and trimmed of surrounding white space, and the first line that reports a Go panic
// or fatal error, which is more telling than the stack trace after it.
type tail struct {
	mu      sync.Mutex
	keep    int
	maxLine int
	lines   []string // complete lines, oldest first, at most keep
	partial []byte   // the line being written, at most maxLine bytes
	panic   string   // first "panic: " or "fatal error: " line
}

func newTail(keep, maxLine int) *tail {
	return &tail{keep: keep, maxLine: maxLine}
}

// Write records p; it never fails.
func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := t.maxLine - len(t.partial); room > 0 {
			t.partial = append(t.partial, chunk[:min(room, len(chunk))]...)
		}
		if i < 0 {
			break
		}
		t.endLine()
		p = p[i+1:]
	}
	return n, nil
}

// endLine moves the partial line to lines. The caller holds t.mu.
func (t *tail) endLine() {
	line := strings.TrimSpace(string(t.partial))
	t.partial = t.partial[:0]
	if line == "" {
		return
	}
	if t.panic == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")) {
		t.panic = line
	}
	if len(t.lines) == t.keep {
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, line)
}

// Lines returns the last lines, with an unfinished last line, preceded by
// the panic line if it is not among them.
func (t *tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := append([]string(nil), t.lines...)
	if last := strings.TrimSpace(string(t.partial)); last != "" {
		if len(lines) == t.keep {
			lines = lines[1:]
		}
		lines = append(lines, last)
	}
	if t.panic != "" && !contains(lines, t.panic) {
		lines = append([]string{t.panic}, lines...)
	}
	return lines
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}
