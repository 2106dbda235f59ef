package provider

import (
	"context"
	"sync"
)

// Standalone is the provider of a cluster whose TaskManagers are started by
// hand and register themselves: it starts and stops nothing and reports no
// losses. Its methods are safe for concurrent use.
type Standalone struct {
	lost      chan Lost
	closeOnce sync.Once
}

var _ Provider = (*Standalone)(nil)

// NewStandalone returns a Standalone provider.
func NewStandalone() *Standalone {
	return &Standalone{lost: make(chan Lost)}
}

// Name returns "standalone".
func (*Standalone) Name() string { return "standalone" }

// Ensure starts nothing and returns no ids.
func (*Standalone) Ensure(context.Context, Request) ([]string, error) { return nil, nil }

// Release does nothing.
func (*Standalone) Release(string) error { return nil }

// Lost returns a channel that delivers nothing and is closed by Close.
func (s *Standalone) Lost() <-chan Lost { return s.lost }

// Close closes the Lost channel and returns nil.
func (s *Standalone) Close() error {
	s.closeOnce.Do(func() { close(s.lost) })
	return nil
}
