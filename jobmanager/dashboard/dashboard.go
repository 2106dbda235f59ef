package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// file is an embedded file ready to serve.
type file struct {
	data        []byte
	contentType string
	etag        string
}

// contentTypes maps the extensions of the embedded files to their types,
// so that serving does not depend on the machine's MIME tables (a browser
// refuses a JavaScript module served as text/plain).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
}

// Handler serves the dashboard: the index at / (and at any path outside
// /ui/ that is not a file, for client-side routes), the assets under /ui/,
// and 404 for unknown assets. Only GET and HEAD are allowed.
//
// Every answer carries a strong ETag (the content's sha256) and
// Cache-Control: no-cache, so a browser revalidates each time and gets a
// 304 while the JobManager's binary is the same; after an upgrade it gets
// the new files at once.
func Handler() http.Handler {
	files := map[string]*file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(data)
		files[strings.TrimPrefix(p, "static")] = &file{data: data, contentType: ct, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		panic("dashboard: reading the embedded files: " + err.Error()) // cannot happen: they are compiled in
	}
	index := files["/index.html"]
	if index == nil {
		panic("dashboard: no embedded index.html")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the dashboard answers GET and HEAD only", http.StatusMethodNotAllowed)
			return
		}
		p := r.URL.Path
		f := files[p]
		switch {
		case f != nil && strings.HasPrefix(p, "/ui/"):
		case p == "/index.html":
			f = index
		case strings.HasPrefix(p, "/ui/") || path.Ext(p) != "":
			// An asset that does not exist (a stale page asking for
			// a renamed module, /favicon.ico, /robots.txt): not the index,
			// which a browser would try to use as that asset.
			http.NotFound(w, r)
			return
		default:
			f = index // /, and client-side routes
		}
		serve(w, r, f)
	})
}

func serve(w http.ResponseWriter, r *http.Request, f *file) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if f.contentType == contentTypes[".html"] {
		// The page loads only its own files and talks only to its own
		// JobManager.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
	}
	// ServeContent answers If-None-Match with 304, HEAD without a body,
	// and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}
