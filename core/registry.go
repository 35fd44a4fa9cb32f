package core

import "sync"

// registry shares what is built from the same settings among the instances
// a host builds (Traefik builds one middleware per router, and all of them
// again on every reload), so that they share one key cache, one key-file
// watcher and one STS connection pool instead of one each. It is bounded:
// past max entries the oldest is forgotten, which only stops it being
// shared (whoever holds it keeps it, and nothing it holds runs on its own).
// Caddy, which has reference-counted pools of its own, holds its STS
// clients in a caddy.UsagePool instead (caddymodule).
type registry struct {
	max   int
	mu    sync.Mutex
	items map[string]*sharedEntry
	order []string
}

// sharedEntry is what a registry holds: one of its fields is set. (A struct
// rather than an interface{}: yaegi, under Traefik, panics moving an
// interpreted interface value through interface{}.)
type sharedEntry struct {
	keys  StatsKeySet
	creds *fileCredentials
	sts   *STSClient
}

func newRegistry(max int) *registry {
	return &registry{max: max, items: make(map[string]*sharedEntry)}
}

// remove forgets what is registered under key and returns it (nil if
// nothing is).
func (r *registry) remove(key string) *sharedEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.items[key]
	if !ok {
		return nil
	}
	delete(r.items, key)
	for i, k := range r.order {
		if k == key {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
	return v
}

// get returns what is registered under key, building and registering it
// first when nothing is. A build error is returned and nothing registered.
func (r *registry) get(key string, build func() (*sharedEntry, error)) (*sharedEntry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.items[key]; ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	if len(r.order) >= r.max {
		delete(r.items, r.order[0])
		r.order = r.order[1:]
	}
	r.items[key] = v
	r.order = append(r.order, key)
	return v, nil
}
