package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/jobmanager/dashboard"
)

func get(t *testing.T, h http.Handler, method, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestContentTypesAndCaching(t *testing.T) {
	h := dashboard.Handler()
	for _, tc := range []struct{ path, contentType, contains string }{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/ui/app.js">`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "import"},
		{"/ui/api.js", "text/javascript; charset=utf-8", "/v1/"},
		{"/ui/style.css", "text/css; charset=utf-8", ":root"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
	} {
		resp, body := get(t, h, "GET", tc.path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tc.contentType || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: %d %q, body has %q: %v", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.contains, strings.Contains(body, tc.contains))
			continue
		}
		etag := resp.Header.Get("ETag")
		if resp.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(etag, `"`) || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: caching headers %v", tc.path, resp.Header)
		}
		// A browser that has the file revalidates and gets a 304.
		if resp, body := get(t, h, "GET", tc.path, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("GET %s with its ETag: %d, %d bytes", tc.path, resp.StatusCode, len(body))
		}
		if resp, body := get(t, h, "HEAD", tc.path); resp.StatusCode != http.StatusOK || body != "" || resp.Header.Get("Content-Type") != tc.contentType {
			t.Errorf("HEAD %s: %d, %d bytes", tc.path, resp.StatusCode, len(body))
		}
	}
	if resp, _ := get(t, h, "GET", "/"); !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("the index has no content security policy: %v", resp.Header)
	}
}

func TestIndexFallbackAndNotFound(t *testing.T) {
	h := dashboard.Handler()
	_, index := get(t, h, "GET", "/")
	// Paths that are not files get the index, so that the page loads at
	// any address and routes on the client.
	for _, p := range []string{"/index.html", "/jobs", "/jobs/abc/", "/overview"} {
		resp, body := get(t, h, "GET", p)
		if resp.StatusCode != http.StatusOK || body != index || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %q, want the index", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	// Unknown assets are 404s, not the index.
	for _, p := range []string{"/ui/nope.js", "/ui/", "/ui/index.html", "/favicon.ico", "/robots.txt", "/ui/../index.html.bak"} {
		if resp, body := get(t, h, "GET", p); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "<html") {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		if resp, _ := get(t, h, m, "/"); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: %d", m, resp.StatusCode)
		}
	}
}

// TestEveryReferenceResolves follows the index's links and the modules'
// imports: each must be served, or the page breaks at load.
func TestEveryReferenceResolves(t *testing.T) {
	h := dashboard.Handler()
	_, index := get(t, h, "GET", "/")
	refs := regexp.MustCompile(`(?:src|href)="(/ui/[^"]+)"`).FindAllStringSubmatch(index, -1)
	var queue []string
	for _, m := range refs {
		queue = append(queue, m[1])
	}
	if len(queue) < 3 {
		t.Fatalf("the index references %v", queue)
	}
	imports := regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*from\s+'(\./[^']+)'`)
	seen := map[string]bool{}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		resp, body := get(t, h, "GET", p)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
			continue
		}
		if strings.HasSuffix(p, ".js") {
			for _, m := range imports.FindAllStringSubmatch(body, -1) {
				queue = append(queue, "/ui/"+strings.TrimPrefix(m[1], "./"))
			}
		}
	}
	for _, want := range []string{"/ui/app.js", "/ui/api.js", "/ui/graph.js", "/ui/overview.js", "/ui/jobs.js", "/ui/job.js", "/ui/fmt.js"} {
		if !seen[want] {
			t.Errorf("%s is not reached from the index", want)
		}
	}
}
