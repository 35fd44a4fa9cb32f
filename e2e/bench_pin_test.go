//go:build stsbench

package e2e

// CPU placement for the pinned token rows: MinIO alone on the first half of
// the CPUs, the load generator and the gateways on the other half, so that
// a gateway's own CPU time no longer comes out of MinIO's.

import (
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

type pinning struct {
	backend     int
	others      []int
	backendCPUs string
	otherCPUs   string
	allCPUs     string
	// label names the placement in row names; description in the notes.
	label, description string
}

// newPinning returns the placement, or nil when -pin is off, there is a
// single CPU or no taskset.
func newPinning(opts options, backend int, others []int) *pinning {
	n := runtime.NumCPU()
	if !opts.pin || n < 2 {
		return nil
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		logf("no taskset: the pinned rows are left out")
		return nil
	}
	half := n / 2
	p := &pinning{
		backend:     backend,
		others:      others,
		backendCPUs: cpuRange(0, half),
		otherCPUs:   cpuRange(half, n),
		allCPUs:     cpuRange(0, n),
	}
	p.label = fmt.Sprintf("MinIO pinned to CPU %s", p.backendCPUs)
	p.description = fmt.Sprintf("MinIO alone on CPU %s and the load generator, IdP and gateways on CPU %s (taskset, every thread): the gateway's CPU time no longer comes out of MinIO's, so these rows show whether the gateway itself is the bottleneck. Other work on the machine still runs on every CPU.", p.backendCPUs, p.otherCPUs)
	return p
}

func cpuRange(from, to int) string {
	if to-from == 1 {
		return strconv.Itoa(from)
	}
	return fmt.Sprintf("%d-%d", from, to-1)
}

// apply pins every thread of each process.
func (p *pinning) apply() error {
	if err := taskset(p.backend, p.backendCPUs); err != nil {
		return err
	}
	for _, pid := range p.others {
		if err := taskset(pid, p.otherCPUs); err != nil {
			return err
		}
	}
	return nil
}

// undo lets every process run on every CPU again.
func (p *pinning) undo() {
	for _, pid := range append([]int{p.backend}, p.others...) {
		if err := taskset(pid, p.allCPUs); err != nil {
			logf("unpinning %d: %v", pid, err)
		}
	}
}

func taskset(pid int, cpus string) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset -a -p -c %s %d: %v: %s", cpus, pid, err, strings.TrimSpace(string(out)))
	}
	return nil
}
