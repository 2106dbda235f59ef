package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// Limits on what the client reads from a response.
const (
	// MaxResponseBytes bounds the body of a successful response.
	MaxResponseBytes = 16 << 20
	// MaxErrorBytes bounds the body of an error response.
	MaxErrorBytes = 64 << 10
)

// ErrNotFound matches (with errors.Is) an *APIError whose status is 404.
var ErrNotFound = errors.New("not found")

// ErrUnreachable is wrapped by every error of a request that got no answer
// from the JobManager: the connection was refused, timed out or broke.
var ErrUnreachable = errors.New("JobManager unreachable")

// APIError is a non-2xx answer of the JobManager: its status and the
// message of its {"error": ...} body (or the start of a body of another
// shape, or the status text when there was no body).
type APIError struct {
	StatusCode int
	Message    string
}

// Error returns the status and the server's message.
func (e *APIError) Error() string {
	status := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message == "" {
		return "JobManager answered " + status
	}
	return fmt.Sprintf("JobManager answered %s: %s", status, e.Message)
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// Client talks to the REST API of one JobManager. It is safe for concurrent
// use.
type Client struct {
	base  string // scheme://host[:port][/path], no trailing slash
	hc    *http.Client
	token string // bearer token, if any
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc (default: an
// http.Client on http.DefaultTransport, without an overall timeout; bound
// calls with their context).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithTLS makes the client reach an https JobManager with tc as its TLS
// configuration (tlsutil.Client builds one that trusts a CA file): it
// replaces the HTTP client with one on a copy of http.DefaultTransport.
func WithTLS(tc *tls.Config) Option {
	return func(c *Client) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		c.hc = &http.Client{Transport: tr}
	}
}

// WithToken makes the client send token as its bearer token
// ("Authorization: Bearer TOKEN"), for a JobManager that checks tokens.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// NewClient returns a client of the JobManager at addr: "host:port",
// "http://host:port" or "https://host:port", optionally followed by a path
// prefix under which a proxy serves the API.
func NewClient(addr string, opts ...Option) (*Client, error) {
	base, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, hc: &http.Client{}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

func parseAddr(addr string) (string, error) {
	s := strings.TrimSpace(addr)
	if s == "" {
		return "", errors.New("empty JobManager address; give host:port or http://host:port")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("JobManager address %q: %w", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("JobManager address %q: scheme %q is not http or https", addr, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("JobManager address %q has no host; give host:port or http://host:port", addr)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("JobManager address %q: only scheme, host, port and a path prefix are allowed", addr)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// Addr returns the base URL the client sends its requests to, such as
// "http://127.0.0.1:8081".
func (c *Client) Addr() string { return c.base }

// UploadArtifact uploads the job binary at path unless the JobManager has it
// already, and returns its digest: the lowercase hex sha256 of the file. The
// file is read twice (to hash it, then to upload it), never held in memory.
func (c *Client) UploadArtifact(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("upload artifact: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("upload artifact: %w", err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("upload artifact: %s is not a regular file", path)
	}
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return "", fmt.Errorf("upload artifact: hash %s: %w", path, err)
	}
	digest := hex.EncodeToString(h.Sum(nil))
	route := Prefix + "/artifacts/" + digest

	err = c.do(ctx, http.MethodHead, route, nil, nil)
	switch {
	case err == nil:
		return digest, nil // stored already
	case !errors.Is(err, ErrNotFound):
		return "", fmt.Errorf("upload artifact: %w", err)
	}

	body := io.NewSectionReader(f, 0, size)
	req, err := c.newRequest(ctx, http.MethodPut, route, body)
	if err != nil {
		return "", fmt.Errorf("upload artifact: %w", err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.GetBody = func() (io.ReadCloser, error) {
		return io.NopCloser(io.NewSectionReader(f, 0, size)), nil
	}
	if err := c.send(req, route, nil); err != nil {
		return "", fmt.Errorf("upload artifact %s: %w", path, err)
	}
	return digest, nil
}

// rawBody is an out of send that takes the body as it is.
type rawBody struct{ io.Writer }

// DownloadArtifact stores the artifact with digest (a job's binary) as an
// executable file at path, and checks that its sha256 is the digest.
func (c *Client) DownloadArtifact(ctx context.Context, digest, path string) error {
	route := Prefix + "/artifacts/" + url.PathEscape(digest)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("download artifact: %w", err)
	}
	h := sha256.New()
	req, err := c.newRequest(ctx, http.MethodGet, route, nil)
	if err == nil {
		err = c.send(req, route, rawBody{io.MultiWriter(f, h)})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != digest {
		err = fmt.Errorf("its sha256 is %x", h.Sum(nil))
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("download artifact %s: %w", digest, err)
	}
	return nil
}

// Submit submits a job whose artifact was uploaded and returns its id.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (string, error) {
	if len(bytes.TrimSpace(req.Graph)) == 0 {
		return "", errors.New("submit: the request has no job graph")
	}
	if req.Artifact == "" {
		return "", errors.New("submit: the request names no artifact; upload the binary first")
	}
	data, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("submit: encode request: %w", err)
	}
	var resp SubmitResponse
	if err := c.do(ctx, http.MethodPost, Prefix+"/jobs", data, &resp); err != nil {
		return "", fmt.Errorf("submit: %w", err)
	}
	if resp.ID == "" {
		return "", errors.New("submit: the JobManager answered without a job id")
	}
	return resp.ID, nil
}

// Jobs lists the jobs the JobManager knows, in the order it returns them.
func (c *Client) Jobs(ctx context.Context) ([]JobSummary, error) {
	var list JobList
	if err := c.do(ctx, http.MethodGet, Prefix+"/jobs", nil, &list); err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return list.Jobs, nil
}

// Job returns the details of a job; errors.Is(err, ErrNotFound) if there is
// no such job.
func (c *Client) Job(ctx context.Context, id string) (*JobDetail, error) {
	route, err := jobRoute(id, "")
	if err != nil {
		return nil, err
	}
	var d JobDetail
	if err := c.do(ctx, http.MethodGet, route, nil, &d); err != nil {
		return nil, fmt.Errorf("job %s: %w", id, err)
	}
	return &d, nil
}

// Checkpoints returns a job's recent checkpoints and savepoints.
func (c *Client) Checkpoints(ctx context.Context, id string) ([]Checkpoint, error) {
	route, err := jobRoute(id, "/checkpoints")
	if err != nil {
		return nil, err
	}
	var l CheckpointList
	if err := c.do(ctx, http.MethodGet, route, nil, &l); err != nil {
		return nil, fmt.Errorf("checkpoints of job %s: %w", id, err)
	}
	return l.Checkpoints, nil
}

// Graph returns a job's graph: its tasks (operator chains) and the edges
// between them.
func (c *Client) Graph(ctx context.Context, id string) (*JobGraph, error) {
	route, err := jobRoute(id, "/graph")
	if err != nil {
		return nil, err
	}
	var g JobGraph
	if err := c.do(ctx, http.MethodGet, route, nil, &g); err != nil {
		return nil, fmt.Errorf("graph of job %s: %w", id, err)
	}
	return &g, nil
}

// Cancel asks the JobManager to cancel a job and returns its summary, whose
// state is usually "cancelling" (or terminal if the job had ended).
func (c *Client) Cancel(ctx context.Context, id string) (*JobSummary, error) {
	route, err := jobRoute(id, "/cancel")
	if err != nil {
		return nil, err
	}
	var s JobSummary
	if err := c.do(ctx, http.MethodPost, route, nil, &s); err != nil {
		return nil, fmt.Errorf("cancel job %s: %w", id, err)
	}
	return &s, nil
}

// TriggerSavepoint starts a savepoint of a job to target (empty: the
// JobManager's default); with stop the job stops once it is written. Poll
// Savepoint for its progress.
func (c *Client) TriggerSavepoint(ctx context.Context, id, target string, stop bool) (*Savepoint, error) {
	suffix, what := "/savepoints", "savepoint of"
	if stop {
		suffix, what = "/stop", "stop"
	}
	route, err := jobRoute(id, suffix)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(SavepointRequest{Target: target})
	if err != nil {
		return nil, err
	}
	var sp Savepoint
	if err := c.do(ctx, http.MethodPost, route, data, &sp); err != nil {
		return nil, fmt.Errorf("%s job %s: %w", what, id, err)
	}
	return &sp, nil
}

// Rescale restarts a running job from a savepoint as req, the same binary
// planned at another parallelism, under the same id. It returns the
// savepoint the rescale waits for; poll Job for the job's progress.
func (c *Client) Rescale(ctx context.Context, id string, req RescaleRequest) (*Savepoint, error) {
	route, err := jobRoute(id, "/rescale")
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var sp Savepoint
	if err := c.do(ctx, http.MethodPost, route, data, &sp); err != nil {
		return nil, fmt.Errorf("rescale job %s: %w", id, err)
	}
	return &sp, nil
}

// Savepoint returns the progress of savepoint n of a job.
func (c *Client) Savepoint(ctx context.Context, id string, n int) (*Savepoint, error) {
	route, err := jobRoute(id, fmt.Sprintf("/savepoints/%d", n))
	if err != nil {
		return nil, err
	}
	var sp Savepoint
	if err := c.do(ctx, http.MethodGet, route, nil, &sp); err != nil {
		return nil, fmt.Errorf("savepoint %d of job %s: %w", n, id, err)
	}
	return &sp, nil
}

// DisposeSavepoint deletes the savepoint at location.
func (c *Client) DisposeSavepoint(ctx context.Context, location string) error {
	data, err := json.Marshal(DisposeRequest{Location: location})
	if err != nil {
		return err
	}
	if err := c.do(ctx, http.MethodPost, Prefix+"/savepoints/dispose", data, nil); err != nil {
		return fmt.Errorf("dispose of savepoint %s: %w", location, err)
	}
	return nil
}

// TaskManagers lists the registered TaskManagers.
func (c *Client) TaskManagers(ctx context.Context) ([]TaskManager, error) {
	var list TaskManagerList
	if err := c.do(ctx, http.MethodGet, Prefix+"/taskmanagers", nil, &list); err != nil {
		return nil, fmt.Errorf("list taskmanagers: %w", err)
	}
	return list.TaskManagers, nil
}

// Overview returns the cluster's counts of TaskManagers, slots and jobs.
func (c *Client) Overview(ctx context.Context) (*Overview, error) {
	var o Overview
	if err := c.do(ctx, http.MethodGet, Prefix+"/overview", nil, &o); err != nil {
		return nil, fmt.Errorf("overview: %w", err)
	}
	return &o, nil
}

// jobRoute is the route of job id plus suffix, with id path-escaped.
func jobRoute(id, suffix string) (string, error) {
	if id == "" || id == "." || id == ".." {
		return "", fmt.Errorf("invalid job id %q", id)
	}
	return Prefix + "/jobs/" + url.PathEscape(id) + suffix, nil
}

// do sends a request with an optional JSON body and decodes a 2xx answer's
// JSON body into out, if out is not nil.
func (c *Client) do(ctx context.Context, method, route string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := c.newRequest(ctx, method, route, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, route, out)
}

func (c *Client) newRequest(ctx context.Context, method, route string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+route, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, route, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// send sends req (to route, named in messages), turns a non-2xx answer
// into an *APIError and a failed connection into an error wrapping
// ErrUnreachable, and decodes the body of a 2xx answer into out if out is
// not nil.
func (c *Client) send(req *http.Request, route string, out any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return fmt.Errorf("%s %s: %w", req.Method, route, ctxErr)
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("%w at %s (%s %s: %w); start one with `jobmanager`, or set --jobmanager or SLUICE_JOBMANAGER to its address",
			ErrUnreachable, c.base, req.Method, route, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp)
	}
	if w, ok := out.(rawBody); ok {
		_, err := io.Copy(w, resp.Body)
		return err
	}
	if out == nil || req.Method == http.MethodHead {
		// Drain a little so that the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxErrorBytes))
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", req.Method, route, err)
	}
	if len(data) > MaxResponseBytes {
		return fmt.Errorf("%s %s: the answer is larger than the limit of %d bytes", req.Method, route, MaxResponseBytes)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", req.Method, route, err)
	}
	return nil
}

// decodeError reads at most MaxErrorBytes of an error answer into an
// *APIError.
func decodeError(resp *http.Response) *APIError {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBytes))
	e := &APIError{StatusCode: resp.StatusCode}
	var body Error
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		e.Message = body.Error
		return e
	}
	// Not our JSON shape (a proxy's page, say): keep its first line.
	text := strings.TrimSpace(string(data))
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = strings.TrimSpace(text[:i])
	}
	if len(text) > 200 {
		text = strings.ToValidUTF8(text[:200], "") + "..."
	}
	e.Message = text
	return e
}
