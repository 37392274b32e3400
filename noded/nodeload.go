package noded

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// defaultProcDir is where the node's memory and load figures are read.
const defaultProcDir = "/proc"

// nodeFigures reads the node's available memory in MB (MemAvailable of
// PROC/meminfo) and its 5-minute load average (PROC/loadavg, the figure
// slurmd reports as CPULoad) for the heartbeat; a figure it cannot read is
// nil and the error says why.
func nodeFigures(proc string) (freeMB *int64, load *float64, err error) {
	var errs []error
	if data, rerr := os.ReadFile(filepath.Join(proc, "meminfo")); rerr != nil {
		errs = append(errs, rerr)
	} else if mb, perr := parseMemAvailable(data); perr != nil {
		errs = append(errs, perr)
	} else {
		freeMB = &mb
	}
	if data, rerr := os.ReadFile(filepath.Join(proc, "loadavg")); rerr != nil {
		errs = append(errs, rerr)
	} else if l, perr := parseLoadAvg(data); perr != nil {
		errs = append(errs, perr)
	} else {
		load = &l
	}
	if len(errs) > 0 {
		err = fmt.Errorf("node figures: %v", errs)
	}
	return freeMB, load, err
}

// parseMemAvailable returns MemAvailable of a /proc/meminfo text in MB
// (whole MB, rounded down, as Slurm's FreeMem).
func parseMemAvailable(data []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "kB") {
			return 0, fmt.Errorf("meminfo: MemAvailable %q: want a number of kB", strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("meminfo: MemAvailable %q: want a number of kB", f[0])
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("meminfo: no MemAvailable line")
}

// parseLoadAvg returns the 5-minute load average (the second figure) of a
// /proc/loadavg text, as slurmd's CPULoad.
func parseLoadAvg(data []byte) (float64, error) {
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0, fmt.Errorf("loadavg: %q: want the kernel's three load averages", string(data))
	}
	l, err := strconv.ParseFloat(f[1], 64)
	if err != nil || l < 0 || l != l || l > 1e9 {
		return 0, fmt.Errorf("loadavg: %q: want a load average such as 0.52", f[1])
	}
	return l, nil
}
