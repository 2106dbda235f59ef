package provider

import (
	"context"
	"testing"
)

func TestStandalone(t *testing.T) {
	var p Provider = NewStandalone()
	if p.Name() != "standalone" {
		t.Errorf("Name() = %q", p.Name())
	}
	ids, err := p.Ensure(context.Background(), Request{JobID: "j", Path: "/nonexistent", TaskManagers: 3})
	if ids != nil || err != nil {
		t.Errorf("Ensure = %v, %v; want nil, nil", ids, err)
	}
	if err := p.Release("j"); err != nil {
		t.Errorf("Release = %v", err)
	}
	select {
	case l := <-p.Lost():
		t.Errorf("Lost delivered %+v", l)
	default:
	}
	for range 2 {
		if err := p.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	}
	if _, ok := <-p.Lost(); ok {
		t.Error("Lost not closed by Close")
	}
}
