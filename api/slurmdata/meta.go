package slurmdata

import (
	"strconv"
	"strings"
)

// SlurmRelease is the Slurm release whose data_parser v0.0.41 output this
// package matches (meta.slurm.release); the suffix says it is Fairway.
const SlurmRelease = "24.05.0-fairway"

// Options is what the converters need besides Fairway's objects.
type Options struct {
	// Now is the time of the answer (unix seconds): the controller's
	// clock as the response carried it.
	Now int64
	// Cluster is the cluster's name (meta.slurm.cluster, cluster fields).
	Cluster string
	// Command is the command line that asked (meta.command), nil for the
	// REST API.
	Command []string
	// ClientUser and ClientGroup name who asked (meta.client); ClientSource
	// is where from (a terminal, an address).
	ClientUser, ClientGroup, ClientSource string
	// GroupName returns a group's name for a gid (job_info.group_name,
	// the accounting group); nil or "" prints the gid.
	GroupName func(gid int) string
}

// groupName is o.GroupName(gid), or the gid as text.
func (o Options) groupName(gid int) string {
	if o.GroupName != nil {
		if n := o.GroupName(gid); n != "" {
			return n
		}
	}
	return strconv.Itoa(gid)
}

// NewMeta returns the meta object of a response made with o.
func NewMeta(o Options) Meta {
	major, rest, _ := strings.Cut(SlurmRelease, ".")
	minor, micro, _ := strings.Cut(rest, ".")
	micro, _, _ = strings.Cut(micro, "-")
	cmd := StringArray{}
	cmd = append(cmd, o.Command...)
	return Meta{
		Plugin:  MetaPlugin{DataParser: DataParser, AccountingStorage: "accounting_storage/fairway"},
		Client:  MetaClient{Source: o.ClientSource, User: o.ClientUser, Group: o.ClientGroup},
		Command: cmd,
		Slurm: MetaSlurm{
			Version: MetaSlurmVersion{Major: major, Minor: minor, Micro: micro},
			Release: SlurmRelease,
			Cluster: o.Cluster,
		},
	}
}

// setU64 is a set uint64 no_val value.
func setU64(n int64) Uint64NoVal { return Uint64NoVal{Set: true, Number: n} }

// setU32 is a set uint32 no_val value.
func setU32(n int64) Uint32NoVal { return Uint32NoVal{Set: true, Number: n} }

// setU16 is a set uint16 no_val value.
func setU16(n int64) Uint16NoVal { return Uint16NoVal{Set: true, Number: n} }

// infiniteU32 is Slurm's INFINITE as a uint32 no_val value: the data
// parser prints {"set": false, "infinite": true, "number": 0}.
func infiniteU32() Uint32NoVal { return Uint32NoVal{Infinite: true} }

// signalName is Slurm's sig_num2name: the name without SIG, or the number.
func signalName(sig int) string {
	names := map[int]string{1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE", 9: "KILL",
		10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE", 14: "ALRM", 15: "TERM", 17: "CHLD", 18: "CONT", 19: "STOP",
		20: "TSTP", 21: "TTIN", 22: "TTOU", 23: "URG", 24: "XCPU", 25: "XFSZ", 26: "VTALRM", 27: "PROF", 28: "WINCH",
		29: "IO", 30: "PWR", 31: "SYS"}
	if n, ok := names[sig]; ok {
		return n
	}
	return strconv.Itoa(sig)
}

// ExitCode is Slurm's process_exit_code_verbose of a process that exited
// with code, or was killed by signal when signal is not 0.
func ExitCode(code, signal int) ProcessExitCodeVerbose {
	e := ProcessExitCodeVerbose{Signal: ProcessExitCodeVerboseSignal{}}
	switch {
	case signal != 0:
		e.Status = []string{"SIGNALED"}
		e.Signal.ID = setU16(int64(signal))
		e.Signal.Name = signalName(signal)
	case code != 0:
		e.Status = []string{"ERROR"}
		e.ReturnCode = setU32(int64(code))
	default:
		e.Status = []string{"SUCCESS"}
		e.ReturnCode = setU32(0)
	}
	return e
}

// pendingExitCode is the exit code of a process that has not ended
// (Slurm's NO_VAL return code).
func pendingExitCode() ProcessExitCodeVerbose {
	return ProcessExitCodeVerbose{Status: []string{"PENDING"}}
}

// memString prints megabytes as Slurm's TRES strings do: in the largest
// unit that divides them exactly ("16G", "1500M").
func memString(mb int64) string {
	if mb <= 0 {
		return "0"
	}
	units := "MGTP"
	i := 0
	for i < len(units)-1 && mb%1024 == 0 {
		mb /= 1024
		i++
	}
	return strconv.FormatInt(mb, 10) + units[i:i+1]
}

// orEmpty returns s, or an empty list for nil (Slurm prints [] not null).
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
