package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath returns the Chromium the dashboard tests drive
// ($SLUICE_CHROMIUM, default /usr/bin/chromium), or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SLUICE_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Skipf("no Chromium at %s (%v): install it with `apt-get install chromium` (CI does), or point SLUICE_CHROMIUM at one", p, err)
	}
	return p
}

// browser is a headless Chromium with one tab, closed (and its process
// reaped) when the test ends.
type browser struct {
	ctx context.Context // for actions; bounded by the test's browser deadline

	mu       sync.Mutex
	problems []string // console errors and uncaught exceptions of the page
	dialogs  []string // the messages of the dialogs it accepted
}

func newBrowser(t *testing.T, execPath string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	var wg sync.WaitGroup
	stop := func() {
		// Close the browser gracefully, then make sure its process is
		// gone (the allocator's cancel waits for it), then the
		// goroutines that read its events.
		cctx, cancel := context.WithTimeout(tabCtx, 10*time.Second)
		_ = chromedp.Cancel(cctx)
		cancel()
		cancelTab()
		cancelAlloc()
		wg.Wait()
	}
	if err := chromedp.Do(tabCtx); err != nil { // starts the browser
		stop()
		t.Fatalf("starting %s: %v", execPath, err)
	}
	b := &browser{}
	// Every action of the test shares one deadline, so that a hung
	// browser fails the test instead of hanging it.
	var cancelActions context.CancelFunc
	b.ctx, cancelActions = context.WithTimeout(tabCtx, 4*time.Minute)
	t.Cleanup(func() {
		cancelActions()
		stop()
	})

	// Accept every confirm() the page opens: the dashboard asks before it
	// triggers a savepoint or cancels a job.
	dialogs := chromedp.Events(tabCtx, page.JavascriptDialogOpening)
	console := chromedp.Console(tabCtx)
	wg.Go(func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			if _, err := chromedp.Call(tabCtx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
				return
			}
		}
	})
	wg.Go(func() {
		for m, err := range console {
			if err != nil {
				return
			}
			bad := m.IsException() || m.Type == chromedp.ConsoleError || strings.HasPrefix(m.Text, "refresh:")
			// A 4xx the test provokes on purpose is logged by the browser
			// as a failed resource.
			if bad && !strings.Contains(m.Text, "Failed to load resource") {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("%s %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text))
				b.mu.Unlock()
			}
		}
	})
	return b
}

func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, b.pageText())
	}
}

// pageText is what the page shows, for failure messages.
func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 4000) : ''`))
	if err != nil {
		return fmt.Sprintf("(could not read the page: %v)", err)
	}
	return "the page shows:\n" + s
}

// waitJS waits until the JavaScript expression is truthy and returns its
// value.
func waitJS[T any](t *testing.T, b *browser, timeout time.Duration, what, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		t.Fatalf("waiting for %s: %v\n%s", what, err, b.pageText())
	}
	return v
}

func evalJS[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// screenshot saves a full-page PNG in the test's directory and, if
// SLUICE_SCREENSHOTS is set, there too, and checks it is not blank.
func (b *browser) screenshot(t *testing.T, dir, name string) {
	t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot of %s: %v", name, err)
	}
	dirs := []string{dir}
	if d := os.Getenv("SLUICE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot of %s is not a PNG: %v", name, err)
	}
	colours, top := colourStats(img)
	bounds := img.Bounds()
	pixels := bounds.Dx() * bounds.Dy()
	t.Logf("screenshot %s: %dx%d, %d colours, the commonest covers %.0f%%", name, bounds.Dx(), bounds.Dy(), colours, 100*float64(top)/float64(pixels))
	if colours < 32 || float64(top) > 0.95*float64(pixels) {
		t.Fatalf("screenshot of %s looks blank: %d distinct colours, the commonest covers %d of %d pixels", name, colours, top, pixels)
	}
}

// colourStats counts an image's distinct colours and the pixels of the
// commonest one.
func colourStats(img image.Image) (distinct, top int) {
	counts := map[[4]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			k := [4]uint32{r, g, bl, a}
			counts[k]++
			top = max(top, counts[k])
		}
	}
	return len(counts), top
}

func (b *browser) check(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		t.Fatalf("the page logged errors:\n%s", strings.Join(b.problems, "\n"))
	}
}

// domTask is a task box of the drawn graph.
type domTask struct {
	ID          string `json:"id"`
	Parallelism string `json:"parallelism"`
	Text        string `json:"text"`
}

func TestDashboardInChromium(t *testing.T) {
	execPath := chromiumPath(t)
	c := startJobManager(t, "--slots", "2")
	// A short job that has finished, then one that runs until cancelled.
	done := c.submit(t, bins.testjob, "--records", "20000", "--parallelism", "2", "--output", filepath.Join(t.TempDir(), "short"))
	if d := c.waitJob(t, done, 30*time.Second, "finished", "failed"); d.State != "finished" {
		t.Fatalf("the short job %s: %s", d.State, d.Error)
	}
	output := filepath.Join(t.TempDir(), "sums")
	id := c.submit(t, bins.testjob, "--records", "-1", "--rate", "2000", "--parallelism", "2", "--output", output, "--checkpoint-interval", "500ms")
	c.waitJob(t, id, 30*time.Second, "running")
	ctx := context.Background()
	graph, err := c.client.Graph(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(graph.Tasks) != 2 || len(graph.Edges) != 1 || graph.Edges[0].Partitioning != "hash" {
		t.Fatalf("testjob's graph: want 2 tasks joined by a hash edge, got %+v", graph)
	}

	base := "http://" + c.rest + "/"
	// The dashboard has every path but the REST API's and /metrics.
	for _, tc := range []struct {
		path, contentType string
		status            int
		html              bool
	}{
		{"", "text/html; charset=utf-8", 200, true},
		{"jobs/" + id, "text/html; charset=utf-8", 200, true},
		{"ui/app.js", "text/javascript; charset=utf-8", 200, false},
		{"ui/missing.js", "text/plain; charset=utf-8", 404, false},
		{"v1/nothing", "application/json", 404, false},
		{"v1/health", "application/json", 200, false},
		{"metrics", "", 200, false},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.contentType != "" && resp.Header.Get("Content-Type") != tc.contentType) ||
			strings.Contains(string(body), "<!doctype html>") != tc.html {
			t.Errorf("GET /%s: %d %q, want %d %q (html: %v)", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.contentType, tc.html)
		}
	}

	b := newBrowser(t, execPath)
	shots := t.TempDir()

	// Overview: the TaskManager the JobManager started for the job, and
	// the totals.
	b.do(t, "loading the dashboard", chromedp.Navigate(base))
	waitJS[chromedp.Void](t, b, 20*time.Second, "the TaskManager and the totals in the overview",
		`document.querySelectorAll('#tm-table tbody tr').length === 1 && document.querySelector('#card-running .card-value').textContent === '1' &&
		document.querySelector('.card.c-finished .card-value').textContent === '1'`)
	tm := evalJS[string](t, b, `document.querySelector('#tm-table tbody tr').innerText`)
	tms, err := c.client.TaskManagers(ctx)
	if err != nil || len(tms) != 1 {
		t.Fatalf("taskmanagers: %v %v", tms, err)
	}
	for _, want := range []string{tms[0].ID, tms[0].DataAddress, "2 used · 0 free", "1.0 GiB"} {
		if !strings.Contains(tm, want) {
			t.Errorf("the TaskManager row %q does not show %q", tm, want)
		}
	}
	waitJS[chromedp.Void](t, b, 10*time.Second, "the header", `document.getElementById('cluster-name').textContent === 'cluster default' && document.getElementById('live').dataset.live === 'live'`)
	b.screenshot(t, shots, "overview")

	// Jobs: the list, reached through the header's navigation.
	b.do(t, "opening the jobs page", chromedp.Click(chromedp.CSS(`a[data-nav="jobs"]`)))
	row := fmt.Sprintf(`#jobs-table tr[data-job=%q]`, id)
	waitJS[chromedp.Void](t, b, 10*time.Second, "the job in the list", fmt.Sprintf(`!!document.querySelector('%s[data-state="running"]')`, row))
	if text := evalJS[string](t, b, fmt.Sprintf(`document.querySelector('%s').innerText`, row)); !strings.Contains(text, "testjob") || !strings.Contains(text, "running") {
		t.Errorf("the job's row shows %q", text)
	}
	if n := evalJS[int](t, b, fmt.Sprintf(`document.querySelectorAll('#jobs-table tr[data-job=%q][data-state="finished"]').length`, done)); n != 1 {
		t.Errorf("the finished job is not listed as finished")
	}
	b.screenshot(t, shots, "jobs")

	// Job detail: its graph as the REST API describes it.
	b.do(t, "opening the job", chromedp.Click(chromedp.CSS(row+` a.job-link`)))
	waitJS[chromedp.Void](t, b, 10*time.Second, "the graph", fmt.Sprintf(`document.querySelectorAll('#graph g.task').length === %d`, len(graph.Tasks)))
	drawn := evalJS[[]domTask](t, b, `[...document.querySelectorAll('#graph g.task')].map(g => ({id: g.dataset.task, parallelism: g.dataset.parallelism, text: g.textContent}))`)
	for i, task := range graph.Tasks {
		d := drawn[i]
		if d.ID != task.ID || d.Parallelism != "2" || !strings.Contains(d.Text, "parallelism 2") {
			t.Errorf("task box %d is %+v; want task %s with parallelism 2", i, d, task.ID)
		}
		for _, op := range task.Operators {
			if !strings.Contains(d.Text, op.Name) {
				t.Errorf("the box of task %s does not list its operator %q: %q", task.ID, op.Name, d.Text)
			}
		}
	}
	if edges := evalJS[[]string](t, b, `[...document.querySelectorAll('#graph .edge-label')].map(e => e.textContent)`); len(edges) != 1 || edges[0] != "hash" {
		t.Errorf("edge labels %q; want one hash edge", edges)
	}
	// Live rates: records out of the source task, into the sum.
	waitJS[chromedp.Void](t, b, 20*time.Second, "non-zero rates in the graph", fmt.Sprintf(`
		parseFloat(document.querySelector('#graph g.task[data-task=%q] .rate-out').dataset.value) > 0 &&
		parseFloat(document.querySelector('#graph g.task[data-task=%q] .rate-in').dataset.value) > 0`, graph.Tasks[0].ID, graph.Tasks[1].ID))
	waitJS[chromedp.Void](t, b, 10*time.Second, "the subtasks", `document.querySelectorAll('#subtask-table tbody tr').length === 4 &&
		[...document.querySelectorAll('#subtask-table tbody tr')].every(r => r.querySelector('[data-state="running"]'))`)
	waitJS[chromedp.Void](t, b, 20*time.Second, "completed checkpoints", `document.querySelectorAll('#checkpoint-table tbody tr[data-status="completed"], #checkpoint-table tbody tr[data-status="discarded"]').length > 0`)

	// Trigger savepoint: confirm, then its location appears.
	b.do(t, "clicking Trigger savepoint", chromedp.Click(chromedp.ID("btn-savepoint")))
	loc := waitJS[string](t, b, 30*time.Second, "the savepoint's location", `(document.querySelector('.savepoint[data-savepoint-status="completed"] .sp-location') || {}).textContent`)
	n := evalJS[int](t, b, `+document.querySelector('.savepoint[data-savepoint-status="completed"]').dataset.savepoint`)
	sp, err := c.client.Savepoint(ctx, id, n)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Status != "completed" || sp.Location != loc {
		t.Fatalf("the page shows savepoint %d at %q; the REST API says %+v", n, loc, sp)
	}
	b.screenshot(t, shots, "job")

	// Cancel: confirm, then the job is cancelled on the page and in REST.
	b.do(t, "clicking Cancel", chromedp.Click(chromedp.ID("btn-cancel")))
	waitJS[chromedp.Void](t, b, 30*time.Second, "the job to show cancelled", `document.getElementById('job-state').dataset.state === 'cancelled'`)
	c.waitJob(t, id, 10*time.Second, "cancelled")
	if !evalJS[bool](t, b, `document.getElementById('btn-cancel').disabled && document.getElementById('btn-savepoint').disabled`) {
		t.Error("the buttons of a cancelled job are enabled")
	}
	// An API error is shown: force the disabled button and cancel again
	// (409: the job has already been cancelled).
	evalJS[bool](t, b, `(() => { const b = document.getElementById('btn-cancel'); b.disabled = false; b.click(); return true })()`)
	msg := waitJS[string](t, b, 10*time.Second, "the error of a second cancel", `!document.getElementById('action-error').hidden && document.querySelector('#action-error .msg').textContent`)
	if !strings.Contains(msg, "409") || !strings.Contains(msg, "already cancelled") {
		t.Errorf("the error shown is %q; want the API's 409 and its message", msg)
	}

	b.mu.Lock()
	dialogs := append([]string(nil), b.dialogs...)
	b.mu.Unlock()
	if len(dialogs) != 3 || !strings.Contains(dialogs[0], "savepoint") || !strings.Contains(dialogs[1], "Cancel job") {
		t.Errorf("confirmations: %q", dialogs)
	}
	b.check(t)
	if errors.Is(b.ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the browser's deadline passed")
	}
}
