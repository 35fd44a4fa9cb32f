//go:build stsbench

package e2e

// BenchmarkGateways is make bench: stsgate measured side by side in one run.
// It starts MinIO (the STS), an OpenID provider, the built Caddy (sts_token)
// and the real Traefik (the plugin, interpreted by yaegi) with the harness
// the end-to-end tests use, drives closed-loop load through each and
// straight at MinIO, and prints a Markdown report (and writes it into
// BENCHMARKS.md when -out names it).
//
// Rows: direct AssumeRole and AssumeRoleWithWebIdentity with aws-sdk-go-v2
// (the backend's limit); PUT /apis/sts/token through Caddy and Traefik in
// assume_role and web_identity mode; the token-checked GET /apis/sts/healthz
// through both next to each host's own trivial answer on the same path
// (Caddy's respond, Traefik's ping@internal). Then a soak of each gateway
// (resident set at the end against after warm-up) and a burst of
// simultaneous requests for one identity with the credential cache on and
// off, counting the STS calls a proxy in front of MinIO sees.
//
// It and its helpers build only with the stsbench tag, so that the tests'
// builds do not carry them; its own options follow the test flags:
//
//	go test -tags stsbench -run '^$' -bench '^BenchmarkGateways$' -benchtime 1x . -args -- [-duration 10s] [-c 16] [-soak 60s] [-burst 1000] [-out ../BENCHMARKS.md] [-pprof DIR]
//
// One iteration is one whole load run (minutes), so the default benchtime
// runs it once. scripts/bench.sh (make bench) builds the binaries and runs
// it.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// options are the load run's own flags.
type options struct {
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	soak        time.Duration
	burst       int
	out         string
	pprofDir    string
	command     string
	rows        map[string]bool
	rounds      int
	prewarm     time.Duration
	pin         bool
	minioData   string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("stsbench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window of each row")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each row's window")
	fs.IntVar(&o.concurrency, "c", 16, "concurrent closed-loop workers")
	fs.IntVar(&o.rounds, "rounds", 5, "slices each row's window is cut into, taking turns with the other rows of its group")
	fs.BoolVar(&o.pin, "pin", true, "also run the token rows with MinIO alone on half the CPUs and everything else on the other half (needs taskset and 2+ CPUs)")
	fs.DurationVar(&o.prewarm, "prewarm", 10*time.Second, "unmeasured load through every path before the first row")
	fs.DurationVar(&o.soak, "soak", 60*time.Second, "length of each gateway's soak (0 skips it)")
	fs.IntVar(&o.burst, "burst", 1000, "simultaneous requests of the cache row (0 skips it)")
	fs.StringVar(&o.out, "out", "-", "Markdown file whose stsbench section the report replaces (- for none: stdout only)")
	fs.StringVar(&o.pprofDir, "pprof", "", "save the gateways' and the load generator's CPU profiles of every row (and the gateways' heap profiles after the soak) here")
	fs.StringVar(&o.command, "command", "", "the command line to name in the report (default: the options given)")
	fs.StringVar(&o.minioData, "minio-data", defaultMinIOData(), "parent directory of MinIO's throwaway data directory; a tmpfs keeps other work's disk I/O out of the STS rows (empty: the test's temporary directory)")
	rows := fs.String("rows", "", "comma-separated row IDs to run, e.g. 1a,2a (default: all)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *rows != "" {
		o.rows = map[string]bool{}
		for _, id := range strings.Split(*rows, ",") {
			o.rows[strings.TrimSpace(id)] = true
		}
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.duration <= 0 || o.warmup < 0 || o.concurrency < 1 || o.rounds < 1 || o.soak < 0 || o.burst < 0 || o.prewarm < 0 {
		return o, fmt.Errorf("-duration, -c and -rounds must be positive; -warmup, -prewarm, -soak and -burst not negative")
	}
	if o.command == "" {
		o.command = strings.Join(append([]string{"stsbench"}, args...), " ")
	}
	return o, nil
}

// defaultMinIOData is /dev/shm when it is a directory: MinIO writes every
// temporary user it issues to its data directory, and on a shared disk
// the STS rows would measure the disk.
func defaultMinIOData() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return ""
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s stsbench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func BenchmarkGateways(b *testing.B) {
	opts, err := parseFlags(flag.Args())
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Each iteration is a whole run, which times its own rows.
	for i := 0; i < b.N; i++ {
		if err := run(ctx, b, opts); err != nil {
			b.Fatal(err)
		}
	}
}
