package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/jobmanager"
	"github.com/sluicehq/sluice/stream"
	"github.com/sluicehq/sluice/taskmanager"
	"github.com/sluicehq/sluice/taskmanager/agent"
	"github.com/sluicehq/sluice/taskmanager/network"
)

type nopSink struct{}

func (nopSink) Write(int64) error { return nil }
func (nopSink) Flush() error      { return nil }
func (nopSink) Close() error      { return nil }

// TestLogLevelFromEnv: with SLUICE_LOG_LEVEL=debug (and
// SLUICE_LOG_FORMAT=json) a TaskManager logs its subtasks' debug lines,
// as JSON; without them it logs text from info up.
func TestLogLevelFromEnv(t *testing.T) {
	t.Setenv(agent.EnvLogLevel, "debug")
	t.Setenv(agent.EnvLogFormat, "json")
	var buf bytes.Buffer
	log, err := agent.NewLogger(&buf, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}

	env := stream.NewEnvironment().SetParallelism(1)
	stream.AddSink(stream.FromSequence(env, 1, 10), "Discard", func(int, int) (stream.SinkWriter[int64], error) { return nopSink{}, nil })
	g, err := env.Plan("level")
	if err != nil {
		t.Fatal(err)
	}
	jm := jobmanager.New(jobmanager.Config{Logger: log})
	tm, err := taskmanager.New(taskmanager.Config{ID: "tm-1", Slots: 1, Exchange: network.NewExchange(), Logger: log}, jm)
	if err != nil {
		t.Fatal(err)
	}
	if err := jm.RegisterTaskManager(tm); err != nil {
		t.Fatal(err)
	}
	id, err := jm.Submit(context.Background(), jobmanager.Submission{Graph: g, Program: env})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := jm.Wait(ctx, id)
	jm.Close()
	tm.Close()
	if err != nil || st.State != jobmanager.StateFinished {
		t.Fatalf("job %s: %v", st.State, err)
	}
	var running bool
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %v: %s", err, line)
		}
		if rec["level"] == "DEBUG" && rec["msg"] == "task running" && rec["job"] == id && rec["taskmanager"] == "tm-1" {
			running = true
		}
	}
	if !running {
		t.Errorf("no debug line \"task running\" of job %s:\n%s", id, buf.String())
	}
}

func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		level, format string
		debug, info   bool
		prefix        string // of a line
		err           string
	}{
		{"", "", false, true, "time=", ""},
		{"debug", "", true, true, "time=", ""},
		{"WARN", "json", false, false, `{"time":`, ""},
		{"info", "text", false, true, "time=", ""},
		{"loud", "", false, false, "", `SLUICE_LOG_LEVEL: "loud" is not a log level`},
		{"", "xml", false, false, "", `SLUICE_LOG_FORMAT: "xml" is not a log format; use text or json`},
	} {
		env := map[string]string{agent.EnvLogLevel: tc.level, agent.EnvLogFormat: tc.format}
		var buf bytes.Buffer
		log, err := agent.NewLogger(&buf, func(k string) string { return env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", env, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", env, err)
		}
		log.Debug("d")
		log.Info("i")
		log.Error("e")
		out := buf.String()
		if strings.Contains(out, `"d"`) || strings.Contains(out, "msg=d\n") {
			if !tc.debug {
				t.Errorf("%v: a debug line got through:\n%s", env, out)
			}
		} else if tc.debug {
			t.Errorf("%v: no debug line:\n%s", env, out)
		}
		if got := strings.Contains(out, `"i"`) || strings.Contains(out, "msg=i\n"); got != tc.info {
			t.Errorf("%v: info line %v, want %v:\n%s", env, got, tc.info, out)
		}
		if !strings.HasPrefix(out, tc.prefix) {
			t.Errorf("%v: output does not start with %q:\n%s", env, tc.prefix, out)
		}
	}
}
