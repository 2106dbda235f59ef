package examples

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/jobmanager/jobgraph"
	"github.com/sluicehq/sluice/stream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// plainCount is the reference: the same tokenization rule, written
// independently of Tokenize.
func plainCount(text string) map[string]int64 {
	counts := map[string]int64{}
	word := []rune{}
	emit := func() {
		w := strings.ToLower(strings.Trim(string(word), "'"))
		if w != "" {
			counts[w]++
		}
		word = word[:0]
	}
	for _, r := range text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' {
			word = append(word, r)
		} else {
			emit()
		}
	}
	emit()
	return counts
}

func generatedText(lines int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := []string{"stream", "River", "sluice", "gate", "water", "flow", "o'er", "'tis", "key", "group", "Ünïcode", "x1"}
	var b strings.Builder
	for range lines {
		for j := range 1 + rng.IntN(12) {
			if j > 0 {
				b.WriteString([]string{" ", ", ", "; ", " -- "}[rng.IntN(4)])
			}
			b.WriteString(vocab[rng.IntN(len(vocab))])
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestWordCountMatchesPlainGo(t *testing.T) {
	text := generatedText(5000)
	path := filepath.Join(t.TempDir(), "input.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	want := plainCount(text)
	for _, p := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("parallelism=%d", p), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			env := stream.NewEnvironment().SetParallelism(p).SetMiniCluster(2, 0)
			counts := CollectCounts(WordCounts(stream.FromTextFile(env, path)))
			res, err := env.Execute(ctx, "wordcount")
			if err != nil {
				t.Fatal(err)
			}
			if got := counts.All(); !maps.Equal(got, want) {
				t.Fatalf("counts differ from plain Go:\n got %v\nwant %v", got, want)
			}
			tms := map[string]bool{}
			for _, ts := range res.Tasks {
				tms[ts.TaskManager] = true
			}
			if p > 1 && len(tms) != 2 {
				t.Fatalf("subtasks ran on %d TaskManagers, want both", len(tms))
			}
		})
	}
}

func TestBundledTextTop(t *testing.T) {
	want := plainCount(Hamlet)
	env := stream.NewEnvironment().SetParallelism(3)
	counts := CollectCounts(WordCounts(stream.FromSlice(env, strings.Split(Hamlet, "\n"))))
	if _, err := env.Execute(context.Background(), "wordcount"); err != nil {
		t.Fatal(err)
	}
	got := counts.All()
	if !maps.Equal(got, want) {
		t.Fatalf("counts differ")
	}
	top := Top(got, 3)
	if top[0].Word != "the" || top[0].Count != want["the"] {
		t.Fatalf("top word %v, want the=%d", top[0], want["the"])
	}
}

// TestBinary builds the example and runs it as a user would: with no mode it
// prints the top words; in plan mode it prints a job graph that parses.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "wordcount")
	if out, err := exec.Command("go", "build", "-o", bin, "./wordcount").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	out, err := exec.Command(bin, "--parallelism", "2", "--top", "3").Output()
	if err != nil {
		t.Fatalf("wordcount: %v", err)
	}
	want := plainCount(Hamlet)
	if !strings.Contains(string(out), fmt.Sprintf("the          %d", want["the"])) {
		t.Fatalf("output lacks the top word:\n%s", out)
	}

	cmd := exec.Command(bin, "--parallelism", "3")
	cmd.Env = append(os.Environ(), stream.ModeEnv+"="+stream.ModePlan)
	plan, err := cmd.Output()
	if err != nil {
		t.Fatalf("plan mode: %v", err)
	}
	g, err := jobgraph.Parse(bytes.TrimSpace(plan))
	if err != nil {
		t.Fatalf("plan output does not parse: %v\n%s", err, plan)
	}
	if g.Name != "wordcount" || len(g.Operators) != 4 {
		t.Fatalf("plan: %s with %d operators", g.Name, len(g.Operators))
	}
	var raw map[string]any
	if err := json.Unmarshal(plan, &raw); err != nil {
		t.Fatal(err)
	}

	// With --output, the counts go to files.
	outDir := filepath.Join(t.TempDir(), "counts")
	if out, err := exec.Command(bin, "--parallelism", "3", "--output", outDir).CombinedOutput(); err != nil {
		t.Fatalf("wordcount --output: %v\n%s", err, out)
	}
	if got := readCounts(t, outDir); !maps.Equal(got, want) {
		t.Fatalf("--output counts differ from plain Go:\n got %v\nwant %v", got, want)
	}

	cmd = exec.Command(bin, "--input", filepath.Join(t.TempDir(), "missing.txt"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "missing.txt") {
		t.Fatalf("a missing input should fail naming the file; err=%v stderr=%q", err, stderr.String())
	}
}

// readCounts reads the "word count" lines of every part file in dir.
func readCounts(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("no part files in %s: %v", dir, err)
	}
	counts := map[string]int64{}
	for _, p := range parts {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var w string
			var c int64
			if _, err := fmt.Sscanf(line, "%s %d", &w, &c); err != nil {
				t.Fatalf("%s: bad line %q", p, line)
			}
			if _, dup := counts[w]; dup {
				t.Fatalf("word %q in two part files", w)
			}
			counts[w] = c
		}
	}
	return counts
}
