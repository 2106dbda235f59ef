package ha

import (
	"context"
	"errors"
	"testing"
	"time"
)

var me = Leader{ID: "jm-1", REST: "127.0.0.1:8081", RPC: "127.0.0.1:6123"}

func TestLocal(t *testing.T) {
	ctx := context.Background()
	l := NewLocal()
	if _, err := l.Leader(ctx); err != ErrNoLeader {
		t.Fatalf("Leader before Campaign: %v", err)
	}
	if err := l.PutJob(ctx, 1, job("j1")); !errors.Is(err, ErrFenced) {
		t.Fatalf("PutJob before Campaign: %v", err)
	}

	epoch, lost, err := l.Campaign(ctx, me)
	if err != nil || epoch != 1 {
		t.Fatalf("Campaign = %d, %v", epoch, err)
	}
	if _, _, err := l.Campaign(ctx, me); err == nil {
		t.Fatal("second Campaign while leading succeeded")
	}
	got, err := l.Leader(ctx)
	if want := (Leader{ID: me.ID, REST: me.REST, RPC: me.RPC, Epoch: 1}); err != nil || got != want {
		t.Fatalf("Leader = %+v, %v", got, err)
	}

	j := job("j1")
	if err := l.PutJob(ctx, epoch, j); err != nil {
		t.Fatal(err)
	}
	j.Graph[0] = 'X' // the store keeps its own copy
	j2 := job("j0")
	j2.Submitted = j2.Submitted.Add(-time.Minute)
	if err := l.PutJob(ctx, epoch, j2); err != nil {
		t.Fatal(err)
	}
	if err := l.PutJob(ctx, epoch, JobRecord{ID: "bad"}); err == nil || errors.Is(err, ErrFenced) {
		t.Fatalf("PutJob of an invalid record: %v", err)
	}
	if err := l.PutJob(ctx, epoch+1, job("j3")); !errors.Is(err, ErrFenced) {
		t.Fatalf("PutJob with another epoch: %v", err)
	}
	js, err := l.Jobs(ctx)
	if err != nil || len(js) != 2 || js[0].ID != "j0" || js[1].ID != "j1" || js[1].Graph[0] != '{' {
		t.Fatalf("Jobs = %+v, %v", js, err)
	}

	if _, ok, err := l.Pointer(ctx, "j1"); ok || err != nil {
		t.Fatalf("Pointer before PutPointer: %v, %v", ok, err)
	}
	p := Pointer{Checkpoint: 3, Metadata: CheckpointMetadataObject("j1", 1, 3)}
	if err := l.PutPointer(ctx, epoch, "j1", p); err != nil {
		t.Fatal(err)
	}
	got2, ok, err := l.Pointer(ctx, "j1")
	if p.Epoch = epoch; !ok || err != nil || got2 != p {
		t.Fatalf("Pointer = %+v, %v, %v", got2, ok, err)
	}

	select {
	case <-lost:
		t.Fatal("lost closed while leading")
	default:
	}
	if err := l.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Resign(ctx); err != nil {
		t.Fatal("second Resign:", err)
	}
	<-lost
	if err := l.PutPointer(ctx, epoch, "j1", p); !errors.Is(err, ErrFenced) {
		t.Fatalf("PutPointer after Resign: %v", err)
	}
	if _, err := l.Leader(ctx); err != ErrNoLeader {
		t.Fatalf("Leader after Resign: %v", err)
	}
	epoch2, _, err := l.Campaign(ctx, me)
	if err != nil || epoch2 <= epoch {
		t.Fatalf("Campaign after Resign = %d, %v", epoch2, err)
	}
	if err := l.PutPointer(ctx, epoch, "j1", p); !errors.Is(err, ErrFenced) {
		t.Fatalf("PutPointer with the old epoch: %v", err)
	}
	// The store outlives leaderships.
	if got, ok, _ := l.Pointer(ctx, "j1"); !ok || got.Epoch != epoch {
		t.Fatalf("Pointer after a new leadership = %+v, %v", got, ok)
	}
}

func TestLocalWatch(t *testing.T) {
	l := NewLocal()
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan Leader, 10)
	done := make(chan error)
	go func() { done <- l.Watch(ctx, func(x Leader) { seen <- x }) }()
	if x := <-seen; !x.IsZero() {
		t.Fatalf("first = %+v, want no leader", x)
	}
	if _, _, err := l.Campaign(ctx, me); err != nil {
		t.Fatal(err)
	}
	if x := <-seen; x.ID != me.ID || x.Epoch != 1 {
		t.Fatalf("after Campaign = %+v", x)
	}
	l.Resign(ctx)
	if x := <-seen; !x.IsZero() {
		t.Fatalf("after Resign = %+v", x)
	}
	l.Campaign(ctx, me)
	if x := <-seen; x.Epoch != 2 {
		t.Fatalf("after second Campaign = %+v", x)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch = %v", err)
	}
}
