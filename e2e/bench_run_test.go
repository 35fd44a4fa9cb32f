//go:build stsbench

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/testproc"
)

// audience is what the tokens carry and MinIO's OpenID client ID.
const audience = conformance.Audience

// row is one line of the throughput table.
type row struct {
	ID   string
	What string
	// Gateway is nil for the direct rows.
	Gateway *gateway
	// Baselines are the rows whose mean rate this row is compared with.
	Baselines []string
	// Target is the least ratio to the baseline; 0 for none.
	Target float64
	// Skip says why the row was not run.
	Skip string
	// Pinned rows run with MinIO alone on its own CPUs.
	Pinned bool
	Stats  stats
	// CPU is the CPU time each process used in the measured window.
	CPU  map[string]time.Duration
	call call
}

// skipNotSelected is the Skip of a row -rows leaves out.
const skipNotSelected = "not selected (-rows)"

// group is rows measured together, taking turns; pin, when set, holds the
// CPU placement they run with.
type group struct {
	rows []*row
	pin  *pinning
}

// cpuProc is a process whose CPU time the rows account for.
type cpuProc struct {
	name string
	// pid 0 is this process: the load generator.
	pid int
}

// soakResult is one gateway's soak.
type soakResult struct {
	Gateway             *gateway
	Stats               stats
	Warm                time.Duration
	AfterWarm, End, Max uint64
	// Slope is the resident set's trend after warm-up, bytes per minute.
	Slope float64
	Peak  uint64
}

// Stable is the soak target: the resident set at the end is within 10 %
// of the resident set after warm-up.
func (s soakResult) Stable() bool {
	return s.AfterWarm > 0 && float64(s.End) <= 1.10*float64(s.AfterWarm)
}

// burstResult is one gateway's cache row.
type burstResult struct {
	Gateway  *gateway
	Cache    bool
	Requests int
	Issued   int
	Errors   int
	STSCalls int
	Took     time.Duration
	Want     int
	errMsg   string
}

// report is everything the Markdown report shows.
type report struct {
	opts     options
	machine  machine
	started  time.Time
	finished time.Time
	versions []string
	rows     []*row
	soaks    []soakResult
	bursts   []burstResult
	peaks    map[string]uint64
	notes    []string
	// cpuNames are the processes of the CPU table, in order.
	cpuNames []string
}

func run(ctx context.Context, tb testing.TB, opts options) error {
	rep := &report{opts: opts, machine: describeMachine(), started: time.Now(), peaks: map[string]uint64{}}
	if opts.pprofDir != "" {
		if err := os.MkdirAll(opts.pprofDir, 0o755); err != nil {
			return err
		}
	}

	idp, err := conformance.NewIdP()
	if err != nil {
		return err
	}
	defer idp.Close()

	logf("starting MinIO")
	minioBin := testproc.Binary(tb, "STSGATE_MINIO", "../.cache/bin/minio")
	m := startMinIO(tb, minioBin, idp.URL+"/.well-known/openid-configuration", opts.minioData)
	rep.versions = append(rep.versions, "MinIO "+minioVersion(minioBin))
	counter := newSTSRecorder(tb, m.URL)

	configs := map[string]core.Config{}
	for _, v := range issuerVariants {
		configs[v] = issuerConfig(v, idp.URL, m.URL, counter.URL)
	}
	logf("starting Caddy")
	caddy := startBenchCaddy(tb, configs)
	logf("starting Traefik; yaegi loads the plugin")
	traefik := startBenchTraefik(tb, configs)
	rep.versions = append(rep.versions, "Caddy "+caddy.version, traefik.version)
	gateways := []*gateway{caddy, traefik}
	minioPid := m.cmd.Process.Pid
	cpuProcs := []cpuProc{{"load generator", 0}, {"Caddy", caddy.proc.pid()}, {"Traefik", traefik.proc.pid()}, {"MinIO", minioPid}}
	for _, p := range cpuProcs {
		rep.cpuNames = append(rep.cpuNames, p.name)
	}

	samplers := map[*gateway]*rssSampler{}
	for _, g := range gateways {
		samplers[g] = startRSSSampler(g.proc.pid(), 250*time.Millisecond)
		defer samplers[g].close()
	}

	// Tokens: one identity per worker, RS256, with the claim MinIO's
	// claim-based web identity reads its policy from.
	tokens := make([]string, opts.concurrency)
	for w := range tokens {
		tokens[w] = benchToken(idp, sessionName(w))
	}
	direct := newDirectSTS(m.URL, opts.concurrency)
	defer direct.close()
	client := newLoadClient(opts.concurrency)
	defer client.CloseIdleConnections()

	// Smoke: every path answers once before anything is measured; web
	// identity is dropped with its reason if MinIO refuses it.
	webIdentitySkip := ""
	if err := direct.assumeRoleWithWebIdentity(ctx, sessionName(0), tokens[0]); err != nil {
		webIdentitySkip = "MinIO refused AssumeRoleWithWebIdentity: " + shortError(err)
		rep.notes = append(rep.notes, "web_identity rows skipped: "+webIdentitySkip)
		logf("%s", webIdentitySkip)
	}
	for _, g := range gateways {
		for _, v := range []string{variantAssumeRole, variantWebIdentity} {
			if v == variantWebIdentity && webIdentitySkip != "" {
				continue
			}
			if err := httpCall(client, http.MethodPut, g.urls[v]+tokenPath, tokens, http.StatusCreated)(ctx, 0); err != nil {
				return fmt.Errorf("%s %s: PUT %s: %v\nlast lines of its output:\n%s", g.name, v, tokenPath, err, g.proc.tail(20))
			}
		}
	}

	c := opts.concurrency
	directAR := func(ctx context.Context, w int) error { return direct.assumeRole(ctx, sessionName(w)) }
	directWI := func(ctx context.Context, w int) error {
		return direct.assumeRoleWithWebIdentity(ctx, sessionName(w), tokens[w%len(tokens)])
	}
	// The measured rows send with rawClient; each row's call keeps its own
	// connections, closed when the run ends.
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	rawCall := func(method, url string, tokens []string, status int) call {
		do, closeIdle, err := newRawCall(method, url, tokens, status, c)
		if err != nil {
			return func(context.Context, int) error { return err }
		}
		closers = append(closers, closeIdle)
		return do
	}
	put := func(g *gateway, v string) call {
		return rawCall(http.MethodPut, g.urls[v]+tokenPath, tokens, http.StatusCreated)
	}
	get := func(g *gateway, v string, withToken bool) call {
		t := tokens
		if !withToken {
			t = nil
		}
		return rawCall(http.MethodGet, g.urls[v]+healthzPath, t, http.StatusOK)
	}
	// Rows are measured in groups: a baseline and the rows compared with
	// it. Within a group the rows take turns in short slices (rounds), so
	// that drift (MinIO's background work, other load on the machine)
	// falls on every row of the group alike.
	groups := []group{
		{rows: []*row{
			{ID: "1a", What: "direct AssumeRole → MinIO (aws-sdk-go-v2)", call: directAR},
			{ID: "2a", What: "Caddy · PUT token · assume_role", Gateway: caddy, Baselines: []string{"1a"}, Target: 0.9, call: put(caddy, variantAssumeRole)},
			{ID: "2b", What: "Traefik · PUT token · assume_role", Gateway: traefik, Baselines: []string{"1a"}, Target: 0.8, call: put(traefik, variantAssumeRole)},
		}},
		{rows: []*row{
			{ID: "1b", What: "direct AssumeRoleWithWebIdentity → MinIO (aws-sdk-go-v2)", Skip: webIdentitySkip, call: directWI},
			{ID: "2c", What: "Caddy · PUT token · web_identity", Gateway: caddy, Baselines: []string{"1b"}, Target: 0.9, Skip: webIdentitySkip, call: put(caddy, variantWebIdentity)},
			{ID: "2d", What: "Traefik · PUT token · web_identity", Gateway: traefik, Baselines: []string{"1b"}, Target: 0.8, Skip: webIdentitySkip, call: put(traefik, variantWebIdentity)},
		}},
		{rows: []*row{
			{ID: "3a", What: "Caddy · GET healthz · `respond`", Gateway: caddy, call: get(caddy, variantBaseline, false)},
			{ID: "3b", What: "Caddy · GET healthz · sts_token (token-checked)", Gateway: caddy, Baselines: []string{"3a"}, Target: 0.5, call: get(caddy, variantAssumeRole, true)},
		}},
		{rows: []*row{
			{ID: "3c", What: "Traefik · GET healthz · `ping@internal`", Gateway: traefik, call: get(traefik, variantBaseline, false)},
			{ID: "3d", What: "Traefik · GET healthz · plugin (token-checked)", Gateway: traefik, Baselines: []string{"3c"}, call: get(traefik, variantAssumeRole, true)},
		}},
	}
	if pin := newPinning(opts, minioPid, []int{os.Getpid(), caddy.proc.pid(), traefik.proc.pid()}); pin != nil {
		// The token rows again with MinIO alone on its own CPUs: whether a
		// gateway is the bottleneck, apart from the CPU it takes from a
		// co-located MinIO.
		suffix := " · " + pin.label
		groups = append(groups,
			group{pin: pin, rows: []*row{
				{ID: "4a", What: "direct AssumeRole → MinIO" + suffix, call: directAR},
				{ID: "4b", What: "Caddy · PUT token · assume_role" + suffix, Gateway: caddy, Baselines: []string{"4a"}, Target: 0.95, call: put(caddy, variantAssumeRole)},
				{ID: "4c", What: "Traefik · PUT token · assume_role" + suffix, Gateway: traefik, Baselines: []string{"4a"}, Target: 0.8, call: put(traefik, variantAssumeRole)},
			}},
			group{pin: pin, rows: []*row{
				{ID: "4d", What: "direct AssumeRoleWithWebIdentity → MinIO" + suffix, Skip: webIdentitySkip, call: directWI},
				{ID: "4e", What: "Caddy · PUT token · web_identity" + suffix, Gateway: caddy, Baselines: []string{"4d"}, Target: 0.95, Skip: webIdentitySkip, call: put(caddy, variantWebIdentity)},
				{ID: "4f", What: "Traefik · PUT token · web_identity" + suffix, Gateway: traefik, Baselines: []string{"4d"}, Target: 0.8, Skip: webIdentitySkip, call: put(traefik, variantWebIdentity)},
			}})
		rep.notes = append(rep.notes, "rows 4a–4f repeat the token rows with "+pin.description)
	}
	var prewarm []call
	for _, g := range groups {
		for _, r := range g.rows {
			r.Pinned = g.pin != nil
			rep.rows = append(rep.rows, r)
			if opts.rows != nil && !opts.rows[r.ID] {
				r.Skip = skipNotSelected
			}
			if r.Skip == "" && g.pin == nil {
				prewarm = append(prewarm, r.call)
			}
		}
	}
	if opts.prewarm > 0 && len(prewarm) > 0 {
		// MinIO works through start-up tasks for a while, and every path
		// has connections, keys and caches to set up: a turn of every
		// selected row, unmeasured.
		logf("prewarm: %s of every selected row in turn", opts.prewarm)
		var n atomic.Int64
		runClosedLoop(ctx, c, 0, opts.prewarm, func(ctx context.Context, w int) error {
			return prewarm[int(n.Add(1))%len(prewarm)](ctx, w)
		}, nil)
	}
	for _, g := range groups {
		if ctx.Err() != nil {
			break
		}
		if err := runGroup(ctx, opts, g, c, cpuProcs); err != nil {
			return err
		}
	}

	if opts.soak > 0 {
		for _, g := range gateways {
			if ctx.Err() != nil {
				break
			}
			rep.soaks = append(rep.soaks, soak(ctx, opts, g, samplers[g], put(g, variantAssumeRole)))
		}
	}
	if opts.burst > 0 {
		for _, g := range gateways {
			for _, cache := range []bool{true, false} {
				if ctx.Err() != nil {
					break
				}
				rep.bursts = append(rep.bursts, burst(ctx, opts.burst, g, cache, counter, benchToken(idp, "burst-user")))
			}
		}
	}
	for _, g := range gateways {
		if mem, err := readMemory(g.proc.pid()); err == nil {
			rep.peaks[g.name] = mem.HWM
		}
		if g.proc.exited() {
			rep.notes = append(rep.notes, fmt.Sprintf("%s exited during the run; see its log", g.name))
		}
	}
	rep.finished = time.Now()
	if ctx.Err() != nil {
		return errors.New("interrupted; no report written")
	}
	md := rep.markdown()
	fmt.Println(md)
	if opts.out != "-" {
		if err := writeReport(opts.out, md); err != nil {
			return err
		}
		logf("wrote %s", opts.out)
	}
	return nil
}

func sessionName(w int) string { return fmt.Sprintf("bench-user-%02d", w) }

// benchToken is an RS256 token for sub from the IdP, valid for an hour,
// carrying MinIO's policy claim.
func benchToken(idp *conformance.IdP, sub string) string {
	claims := idp.Claims(time.Now(), sub)
	claims[minioClaimPolicy] = minioPolicy
	return conformance.Sign("RS256", idp.RSA, claims, nil)
}

// runGroup measures the selected rows of a group in opts.rounds rounds:
// in each round every row runs a slice of opts.duration/rounds after a
// warm-up, the order turning by one row each round. A row's results add up
// over its slices; with -pprof each gateway slice leaves a CPU profile.
func runGroup(ctx context.Context, opts options, g group, c int, procs []cpuProc) error {
	var rows []*row
	for _, r := range g.rows {
		if r.Skip == "" {
			rows = append(rows, r)
			r.CPU = map[string]time.Duration{}
			r.Stats = stats{errorSamples: map[string]int{}}
		} else if r.Skip != skipNotSelected {
			logf("row %s %s: skipped: %s", r.ID, r.What, r.Skip)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if g.pin != nil {
		if err := g.pin.apply(); err != nil {
			return err
		}
		defer g.pin.undo()
	}
	slice := opts.duration / time.Duration(opts.rounds)
	warm := min(opts.warmup, max(slice/4, 250*time.Millisecond))
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	logf("rows %s: %d rounds of %s each (after %s warm-up), %d workers", strings.Join(ids, ", "), opts.rounds, slice, warm, c)
	for round := 0; round < opts.rounds && ctx.Err() == nil; round++ {
		w := warm
		if round == 0 {
			w = opts.warmup
		}
		for i := range rows {
			r := rows[(i+round)%len(rows)]
			runSlice(ctx, opts, r, c, procs, w, slice, round)
		}
	}
	for _, r := range rows {
		slices.Sort(r.Stats.lat)
		s := r.Stats
		logf("row %s: %.0f req/s, p50 %s, p99 %s, %d errors %s; CPU per request: %s", r.ID, s.RPS(), fmtDur(s.Quantile(0.5)), fmtDur(s.Quantile(0.99)), s.Errors, s.ErrorSummary(), r.cpuPerRequest(procs))
	}
	return nil
}

// runSlice runs one slice of r and adds it to r's results.
func runSlice(ctx context.Context, opts options, r *row, c int, procs []cpuProc, warmup, window time.Duration, round int) {
	var wg sync.WaitGroup
	if opts.pprofDir != "" && r.Gateway != nil && window >= 2*time.Second {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(warmup):
			case <-ctx.Done():
				return
			}
			secs := int(window.Seconds()) - 1
			path := filepath.Join(opts.pprofDir, fmt.Sprintf("%s-%s-cpu-%d.pprof", r.ID, r.Gateway.name, round+1))
			if err := saveProfile(ctx, r.Gateway, fmt.Sprintf("profile?seconds=%d", secs), path); err != nil {
				logf("row %s: CPU profile: %v", r.ID, err)
			}
		}()
	}
	if opts.pprofDir != "" && window >= 2*time.Second {
		// The load generator's own profile: it shares the CPUs with what
		// it measures, so its cost matters too.
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(opts.pprofDir, fmt.Sprintf("%s-stsbench-cpu-%d.pprof", r.ID, round+1))
			if err := profileSelf(ctx, warmup, window-time.Second, path); err != nil {
				logf("row %s: load generator CPU profile: %v", r.ID, err)
			}
		}()
	}
	edge := func(open bool) {
		for _, p := range procs {
			t, err := cpuTime(p.pid)
			if err != nil {
				continue
			}
			if open {
				r.CPU[p.name] -= t
			} else {
				r.CPU[p.name] += t
			}
		}
	}
	st := runClosedLoop(ctx, c, warmup, window, r.call, edge)
	wg.Wait()
	r.Stats.add(st)
}

// profileSelf writes the load generator's own CPU profile of length d, after wait,
// to path.
func profileSelf(ctx context.Context, wait, d time.Duration, path string) error {
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	pprof.StopCPUProfile()
	return f.Close()
}

// saveProfile fetches /debug/pprof/<what> from the gateway into path.
func saveProfile(ctx context.Context, g *gateway, what, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.pprof+"/debug/pprof/"+what, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d: %.200s", req.URL, resp.StatusCode, data)
	}
	return os.WriteFile(path, data, 0o644)
}

// soak runs the token path of g for opts.soak and compares the resident set
// at the end with the one after warm-up (the first sixth, at most 10 s).
func soak(ctx context.Context, opts options, g *gateway, rss *rssSampler, do call) soakResult {
	warm := min(opts.soak/6, 10*time.Second).Round(100 * time.Millisecond)
	logf("soak %s: PUT token (assume_role) for %s, resident set after %s against the end", g.name, opts.soak, warm)
	start := time.Now()
	st := runClosedLoop(ctx, opts.concurrency, 0, opts.soak, do, nil)
	end := time.Now()
	res := soakResult{Gateway: g, Stats: st, Warm: warm}
	after := rss.between(start.Add(warm), end)
	if len(after) > 0 {
		res.AfterWarm, res.End = after[0].rss, after[len(after)-1].rss
		for _, s := range after {
			res.Max = max(res.Max, s.rss)
		}
		res.Slope = slopePerMinute(after)
	}
	if mem, err := readMemory(g.proc.pid()); err == nil {
		res.Peak = mem.HWM
	}
	if opts.pprofDir != "" {
		path := filepath.Join(opts.pprofDir, fmt.Sprintf("soak-%s-heap.pprof", g.name))
		if err := saveProfile(ctx, g, "heap", path); err != nil {
			logf("soak %s: heap profile: %v", g.name, err)
		}
	}
	logf("soak %s: %.0f req/s, %d errors; RSS %s after warm-up, %s at the end (max %s, trend %+.1f MiB/min)",
		g.name, st.RPS(), st.Errors, mib(res.AfterWarm), mib(res.End), mib(res.Max), res.Slope/(1<<20))
	return res
}

// slopePerMinute is the least-squares trend of the samples, bytes/minute.
func slopePerMinute(s []rssSample) float64 {
	if len(s) < 2 {
		return 0
	}
	t0 := s[0].at
	var n, sx, sy, sxx, sxy float64
	for _, x := range s {
		t := x.at.Sub(t0).Minutes()
		y := float64(x.rss)
		n++
		sx += t
		sy += y
		sxx += t * t
		sxy += t * y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// burst sends n simultaneous PUT token requests for one identity through
// g's cache_on or cache_off variant and counts the STS calls behind them.
// Every request first opens its own connection (a token-checked healthz,
// which calls no STS), then all are released at once.
func burst(ctx context.Context, n int, g *gateway, cache bool, counter *stsRecorder, token string) burstResult {
	v := variantCacheOff
	want := n
	if cache {
		v, want = variantCacheOn, 1
	}
	logf("cache row %s %s: %d simultaneous requests for one identity", g.name, v, n)
	res := burstResult{Gateway: g, Cache: cache, Requests: n, Want: want}
	client := newLoadClient(n)
	defer client.CloseIdleConnections()
	tokens := []string{token}
	warm := httpCall(client, http.MethodGet, g.urls[v]+healthzPath, tokens, http.StatusOK)
	put := httpCall(client, http.MethodPut, g.urls[v]+tokenPath, tokens, http.StatusCreated)

	var opened sync.WaitGroup
	var done sync.WaitGroup
	release := make(chan struct{})
	var issued, failed atomic.Int64
	var msgMu sync.Mutex
	for i := 0; i < n; i++ {
		opened.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			err := warm(ctx, 0)
			opened.Done()
			if err != nil {
				failed.Add(1)
				msgMu.Lock()
				res.errMsg = "opening: " + shortError(err)
				msgMu.Unlock()
				return
			}
			<-release
			if err := put(ctx, 0); err != nil {
				failed.Add(1)
				msgMu.Lock()
				res.errMsg = shortError(err)
				msgMu.Unlock()
				return
			}
			issued.Add(1)
		}()
	}
	opened.Wait()
	before := counter.Count("AssumeRole")
	start := time.Now()
	close(release)
	done.Wait()
	res.Took = time.Since(start)
	res.Issued, res.Errors = int(issued.Load()), int(failed.Load())
	res.STSCalls = counter.Count("AssumeRole") - before
	logf("cache row %s %s: %d issued, %d errors, %d STS calls in %s %s", g.name, v, res.Issued, res.Errors, res.STSCalls, res.Took.Round(time.Millisecond), res.errMsg)
	return res
}

// cpuPerRequest lists each process's CPU time per answered request in the
// window, busiest first.
func (r *row) cpuPerRequest(procs []cpuProc) string {
	var parts []string
	for _, p := range procs {
		if d, ok := r.CPU[p.name]; ok && d > 0 && r.Stats.Requests > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", p.name, fmtDur(d/time.Duration(r.Stats.Requests))))
		}
	}
	return strings.Join(parts, ", ")
}
