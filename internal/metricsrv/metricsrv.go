package metricsrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where the metrics are served.
const Path = "/metrics"

// NewRegistry returns a registry with the Go runtime and process
// collectors; the caller registers its own collectors next to them.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves the metrics of g in the format the scraper asks for. A
// collector that fails is logged and left out; the rest is served.
func Handler(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      errorLog{log},
		ErrorHandling: promhttp.ContinueOnError,
		// Scrapes are rare and small; more than a few at once is a
		// misconfigured scraper, not a reason to spend CPU on it.
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// errorLog adapts slog to promhttp.Logger.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) { l.log.Warn("serving metrics", "err", fmt.Sprint(v...)) }

// Server is an HTTP listener that serves GET /metrics and nothing else.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Listen starts serving g's metrics on addr (host:port; port 0 picks a free
// one). Close stops it.
func Listen(addr string, g prometheus.Gatherer, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, Handler(g, log))
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.Error("metrics listener stopped", "addr", s.Addr(), "err", err)
		}
	}()
	return s, nil
}

// Addr is the address the metrics are served at (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the address of the metrics endpoint.
func (s *Server) URL() string { return "http://" + s.Addr() + Path }

// Close stops the listener, lets scrapes in progress finish for up to a
// few seconds, and returns once the server has stopped.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
