package main

import (
	"slices"
	"testing"
)

func TestNormalizeArgs(t *testing.T) {
	root := newRootCmd(newTestEnv(nil).cliEnv)
	for _, tc := range []struct{ in, want []string }{
		{[]string{"-json", "list"}, []string{"--json", "list"}},
		{[]string{"-jobmanager", "h:1", "info", "x"}, []string{"--jobmanager", "h:1", "info", "x"}},
		{[]string{"-jobmanager=h:1", "list"}, []string{"--jobmanager=h:1", "list"}},
		{[]string{"submit", "-parallelism", "4", "-detached", "./job"}, []string{"submit", "--parallelism", "4", "--detached", "./job"}},
		{[]string{"submit", "-parallelism=4", "./job"}, []string{"submit", "--parallelism=4", "./job"}},
		{[]string{"-help"}, []string{"--help"}},
		// Double dashes, shorthands, unknown names and values stay.
		{[]string{"--json", "-h", "-x", "-jsonx", "-", "list"}, []string{"--json", "-h", "-x", "-jsonx", "-", "list"}},
		// After "--", the arguments are the job's.
		{[]string{"submit", "-detached", "./job", "--", "-json", "-parallelism", "2"}, []string{"submit", "--detached", "./job", "--", "-json", "-parallelism", "2"}},
		{nil, []string{}},
	} {
		if got := normalizeArgs(root, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("normalizeArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSingleDashFlagsWork(t *testing.T) {
	addr := fixtureAPI(t)
	e := newTestEnv(nil)
	if code := e.run("-jobmanager", addr, "list", "-json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	if e.out.Len() == 0 || e.out.Bytes()[0] != '{' {
		t.Errorf("-json printed %q", e.out.String())
	}
}
