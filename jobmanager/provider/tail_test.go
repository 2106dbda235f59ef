package provider

import (
	"fmt"
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"nothing", nil, nil},
		{"one line", []string{"boom\n"}, []string{"boom"}},
		{"unfinished line", []string{"a\nb"}, []string{"a", "b"}},
		{"keeps the last three", []string{"1\n2\n3\n4\n5\n"}, []string{"3", "4", "5"}},
		{"an unfinished line counts", []string{"1\n2\n3\n4"}, []string{"2", "3", "4"}},
		{"lines split over writes", []string{"he", "llo\nwor", "ld\n"}, []string{"hello", "world"}},
		{"blank lines, CRLF and indents", []string{"a\r\n\n   \n\tb\r\n\t\n"}, []string{"a", "b"}},
		{"long lines are cut", []string{strings.Repeat("x", 40) + "\n", strings.Repeat("y", 50)}, []string{strings.Repeat("x", 32), strings.Repeat("y", 32)}},
		{
			"a panic line stays",
			[]string{"panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:5\nexit status 2\n"},
			[]string{"panic: boom", "main.main()", "/src/main.go:5", "exit status 2"},
		},
		{"a panic line among the last", []string{"x\nfatal error: out of memory\ny\n"}, []string{"x", "fatal error: out of memory", "y"}},
	}
	for _, tt := range tests {
		tl := newTail(3, 32)
		for _, w := range tt.writes {
			if n, err := tl.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("%s: Write = %d, %v", tt.name, n, err)
			}
		}
		if got := tl.Lines(); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
			t.Errorf("%s: Lines() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
