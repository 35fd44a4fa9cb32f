//go:build stsbench

package e2e

// What the run reads of its processes from /proc: resident set and CPU time.

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// memory is one reading of /proc/<pid>/status, in bytes.
type memory struct {
	RSS, HWM uint64
}

// readMemory reads VmRSS and VmHWM (the peak resident set) of pid.
func readMemory(pid int) (memory, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return memory{}, err
	}
	var m memory
	for _, line := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch key {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.HWM
		default:
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return memory{}, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, key, line)
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return memory{}, err
		}
		*dst = kb << 10
	}
	if m.RSS == 0 || m.HWM == 0 {
		return memory{}, errors.New("no VmRSS/VmHWM in /proc/" + strconv.Itoa(pid) + "/status")
	}
	return m, nil
}

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux this runs on).
const clockTick = 10 * time.Millisecond

// cpuTime is the user plus system CPU time pid has used (0 for self).
func cpuTime(pid int) (time.Duration, error) {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it follow
	// its closing parenthesis. utime and stime are fields 14 and 15.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: too few fields", path)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: bad CPU times", path)
	}
	return time.Duration(utime+stime) * clockTick, nil
}
