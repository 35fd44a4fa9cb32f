package core

import (
	"errors"
	"strconv"
	"testing"
)

// TestRegistry: one value per key, built once; past the bound the oldest
// is forgotten (built again when asked for); a build error registers
// nothing. The registry is the test's own: none other tests use.
func TestRegistry(t *testing.T) {
	r := newRegistry(3)
	builds := 0
	get := func(key string) *sharedEntry {
		t.Helper()
		v, err := r.get(key, func() (*sharedEntry, error) { builds++; return &sharedEntry{}, nil })
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := get("a")
	if get("a") != first || builds != 1 {
		t.Fatalf("a second get built again (%d builds)", builds)
	}
	for i := 0; i < 3; i++ {
		get("k" + strconv.Itoa(i))
	}
	if len(r.items) != 3 || len(r.order) != 3 {
		t.Fatalf("%d items, %d in order, want 3", len(r.items), len(r.order))
	}
	if get("a") == first {
		t.Fatal("the oldest entry was not forgotten")
	}
	if _, err := r.get("bad", func() (*sharedEntry, error) { return nil, errors.New("no") }); err == nil {
		t.Fatal("a build error was not returned")
	}
	if _, ok := r.items["bad"]; ok {
		t.Fatal("a failed build was registered")
	}
}
