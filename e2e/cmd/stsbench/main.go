// Command stsbench measures stsgate side by side in one run: it starts MinIO
// (the STS), an OpenID provider, the built Caddy (sts_token) and the real
// Traefik (the plugin, interpreted by yaegi), then drives closed-loop load
// through each and straight at MinIO, and writes a Markdown report.
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
//	stsbench [-duration 10s] [-c 16] [-soak 60s] [-burst 1000] [-out BENCHMARKS.md] [-pprof DIR]
//
// scripts/bench.sh (make bench) builds the binaries and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are stsbench's flags.
type options struct {
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	soak        time.Duration
	burst       int
	repo        string
	caddyBin    string
	traefikBin  string
	minioBin    string
	out         string
	pprofDir    string
	command     string
	keep        bool
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
	fs.StringVar(&o.repo, "repo", "", "the stsgate repository (default: found from the working directory)")
	fs.StringVar(&o.caddyBin, "caddy", os.Getenv("STSGATE_CADDY"), "Caddy with sts_token (default $STSGATE_CADDY or <repo>/bin/caddy)")
	fs.StringVar(&o.traefikBin, "traefik", os.Getenv("STSGATE_TRAEFIK"), "Traefik (default $STSGATE_TRAEFIK or <repo>/.cache/bin/traefik)")
	fs.StringVar(&o.minioBin, "minio", os.Getenv("STSGATE_MINIO"), "MinIO (default $STSGATE_MINIO or <repo>/.cache/bin/minio)")
	fs.StringVar(&o.out, "out", "", "Markdown report to write (default <repo>/BENCHMARKS.md; - for none)")
	fs.StringVar(&o.pprofDir, "pprof", "", "save the gateways' and the load generator's CPU profiles of every row (and the gateways' heap profiles after the soak) here")
	fs.StringVar(&o.command, "command", "", "the command line to name in the report (default: stsbench's own)")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory (configurations and logs)")
	fs.StringVar(&o.minioData, "minio-data", defaultMinIOData(), "parent directory of MinIO's throwaway data directory; a tmpfs keeps other work's disk I/O out of the STS rows (empty: the working directory under $TMPDIR)")
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
	if o.repo == "" {
		repo, err := findRepo()
		if err != nil {
			return o, err
		}
		o.repo = repo
	}
	defaults := map[*string]string{
		&o.caddyBin:   "bin/caddy",
		&o.traefikBin: ".cache/bin/traefik",
		&o.minioBin:   ".cache/bin/minio",
		&o.out:        "BENCHMARKS.md",
	}
	for p, rel := range defaults {
		if *p == "" {
			*p = filepath.Join(o.repo, rel)
		}
	}
	for _, bin := range []string{o.caddyBin, o.traefikBin, o.minioBin} {
		if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
			return o, fmt.Errorf("no executable at %s (make build traefik minio)", bin)
		}
	}
	if o.command == "" {
		o.command = strings.Join(append([]string{"stsbench"}, args...), " ")
	}
	return o, nil
}

// findRepo walks up from the working directory to the directory holding
// .traefik.yml and go.mod (the repository root).
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, ".traefik.yml")) && fileExists(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no stsgate repository above the working directory; give -repo")
		}
		dir = parent
	}
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

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s stsbench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err == flag.ErrHelp {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stsbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "stsbench:", err)
		stop()
		os.Exit(1)
	}
}
