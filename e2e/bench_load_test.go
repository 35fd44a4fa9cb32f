//go:build stsbench

package e2e

// The closed-loop load generator: c workers, each sending its next request
// as soon as the previous one is answered, for a warm-up and then a fixed
// measured window.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// call is one request of worker w; a non-nil error counts as an error.
type call func(ctx context.Context, w int) error

// stats are one row's measurements. Requests, latencies and the rate cover
// the measured window; Errors covers the warm-up too, since any failed
// request misses the zero-errors target.
type stats struct {
	Requests int
	Errors   int
	Window   time.Duration
	// Latencies of the requests answered in the window, sorted.
	lat []time.Duration
	// errorSamples counts distinct error messages (the first few).
	errorSamples map[string]int
}

// RPS is the rate of answered requests in the window.
func (s stats) RPS() float64 {
	if s.Window <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Window.Seconds()
}

// Quantile is the q-quantile of the window's latencies.
func (s stats) Quantile(q float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(q*float64(len(s.lat))+0.5) - 1
	i = max(0, min(i, len(s.lat)-1))
	return s.lat[i]
}

// ErrorSummary names the most frequent errors.
func (s stats) ErrorSummary() string {
	type kv struct {
		msg string
		n   int
	}
	var list []kv
	for m, n := range s.errorSamples {
		list = append(list, kv{m, n})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].n > list[j].n })
	var parts []string
	for i, e := range list {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%d× %s", e.n, e.msg))
	}
	return strings.Join(parts, "; ")
}

// add merges another slice of the same row; call slices.Sort on lat after
// the last one.
func (s *stats) add(o stats) {
	s.Requests += o.Requests
	s.Errors += o.Errors
	s.Window += o.Window
	s.lat = append(s.lat, o.lat...)
	for m, n := range o.errorSamples {
		s.errorSamples[m] += n
	}
}

// worker's own records, merged when the run ends.
type workerRecord struct {
	n, errs int
	lat     []time.Duration
	errMsgs map[string]int
}

// runClosedLoop runs do on c workers for warmup plus window. It stops early,
// with what it has, when ctx is cancelled. edge, when not nil, is called as
// the window opens (true) and closes (false).
func runClosedLoop(ctx context.Context, c int, warmup, window time.Duration, do call, edge func(open bool)) stats {
	start := time.Now()
	from := start.Add(warmup)
	end := from.Add(window)
	if edge != nil {
		edges := make(chan struct{})
		defer func() { <-edges }()
		go func() {
			defer close(edges)
			for _, e := range []struct {
				at   time.Time
				open bool
			}{{from, true}, {end, false}} {
				select {
				case <-time.After(time.Until(e.at)):
				case <-ctx.Done():
				}
				edge(e.open)
			}
		}()
	}
	// A request stuck past the end is abandoned (and counted as an error).
	callCtx, cancel := context.WithDeadline(ctx, end.Add(30*time.Second))
	defer cancel()
	records := make([]workerRecord, c)
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rec := &records[w]
			rec.lat = make([]time.Duration, 0, 4096)
			rec.errMsgs = map[string]int{}
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				err := do(callCtx, w)
				t1 := time.Now()
				if err != nil {
					rec.errs++
					if msg := shortError(err); len(rec.errMsgs) < 8 || rec.errMsgs[msg] > 0 {
						rec.errMsgs[msg]++
					}
				}
				if t1.After(from) && !t1.After(end) && err == nil {
					rec.n++
					rec.lat = append(rec.lat, t1.Sub(t0))
				}
			}
		}(w)
	}
	wg.Wait()
	s := stats{Window: window, errorSamples: map[string]int{}}
	if now := time.Now(); now.Before(end) { // cancelled
		s.Window = max(0, now.Sub(from))
	}
	for _, r := range records {
		s.Requests += r.n
		s.Errors += r.errs
		s.lat = append(s.lat, r.lat...)
		for m, n := range r.errMsgs {
			s.errorSamples[m] += n
		}
	}
	slices.Sort(s.lat)
	return s
}

func shortError(err error) string {
	msg := err.Error()
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	return msg
}

// newLoadClient is an HTTP client that keeps one connection per worker.
func newLoadClient(conns int) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = conns * 2
	transport.MaxIdleConnsPerHost = conns * 2
	transport.DisableCompression = true
	return &http.Client{Transport: transport, Timeout: 60 * time.Second}
}

// httpCall sends method url with worker w's bearer token (none when tokens
// is nil) and wants status back.
func httpCall(client *http.Client, method, url string, tokens []string, status int) call {
	return func(ctx context.Context, w int) error {
		req, err := http.NewRequestWithContext(ctx, method, url, nil)
		if err != nil {
			return err
		}
		if tokens != nil {
			req.Header.Set("Authorization", "Bearer "+tokens[w%len(tokens)])
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != status {
			return wrongStatus(resp.StatusCode, body)
		}
		return nil
	}
}

// maxQuotedBody is how much of an unexpected answer's body an error quotes.
const maxQuotedBody = 120

// wrongStatus is a call's error for an answer of another status than the
// one wanted: the status and the start of the body.
func wrongStatus(status int, body []byte) error {
	if len(body) > maxQuotedBody {
		body = body[:maxQuotedBody]
	}
	return fmt.Errorf("status %d: %s", status, bytes.TrimSpace(body))
}

// rssSampler reads a process's resident set every interval.
type rssSampler struct {
	pid  int
	mu   sync.Mutex
	list []rssSample
	stop chan struct{}
	done chan struct{}
}

type rssSample struct {
	at  time.Time
	rss uint64
}

func startRSSSampler(pid int, interval time.Duration) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if m, err := readMemory(pid); err == nil {
				s.mu.Lock()
				s.list = append(s.list, rssSample{time.Now(), m.RSS})
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// between returns the samples taken in [from, to].
func (s *rssSampler) between(from, to time.Time) []rssSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []rssSample
	for _, x := range s.list {
		if !x.at.Before(from) && !x.at.After(to) {
			out = append(out, x)
		}
	}
	return out
}

func (s *rssSampler) close() {
	close(s.stop)
	<-s.done
}
