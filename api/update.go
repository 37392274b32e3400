package api

import (
	"fmt"
	"slices"
	"strings"
)

// JobUpdate is a change to a job (scontrol update JobId=N Field=Value ...).
// A nil field is left as it is. Every field but the time limit needs a
// pending job; the time limit changes a running job too.
type JobUpdate struct {
	// TimeLimitSecs is the new time limit (TimeLimit=); TimeLimitUnlimited
	// or more is UNLIMITED.
	TimeLimitSecs *int64 `json:"time_limit_secs,omitempty"`
	// TimeLimitDeltaSecs adds to (or, negative, subtracts from) the job's
	// current time limit (TimeLimit=+T, TimeLimit=-T).
	TimeLimitDeltaSecs *int64   `json:"time_limit_delta_secs,omitempty"`
	Partitions         []string `json:"partitions,omitempty"` // Partition=a,b
	Priority           *int     `json:"priority,omitempty"`   // Priority= (Fairway's 0-99 priority inside the account)
	Nice               *int     `json:"nice,omitempty"`
	Dependency         *string  `json:"dependency,omitempty"` // "" clears it
	Nodes              *int     `json:"nodes,omitempty"`      // NumNodes=
	QOS                *string  `json:"qos,omitempty"`
	Account            *string  `json:"account,omitempty"`
}

// Fields names the fields the update sets, in scontrol's spelling and a
// fixed order.
func (u *JobUpdate) Fields() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(u.TimeLimitSecs != nil || u.TimeLimitDeltaSecs != nil, "TimeLimit")
	add(u.Partitions != nil, "Partition")
	add(u.Priority != nil, "Priority")
	add(u.Nice != nil, "Nice")
	add(u.Dependency != nil, "Dependency")
	add(u.Nodes != nil, "NumNodes")
	add(u.QOS != nil, "QOS")
	add(u.Account != nil, "Account")
	return out
}

// OnlyTimeLimit reports whether the update changes the time limit and
// nothing else: the one change a running job takes.
func (u *JobUpdate) OnlyTimeLimit() bool {
	f := u.Fields()
	return len(f) == 1 && f[0] == "TimeLimit"
}

// ApplyTo changes spec as the update says. current is the job's time limit
// now (its --time, else its partition's default), the base of a relative
// change. It reports an error naming the field when a relative change
// meets an UNLIMITED limit or goes below one minute, as Slurm does.
func (u *JobUpdate) ApplyTo(spec *JobSpec, current int64) error {
	switch {
	case u.TimeLimitSecs != nil:
		spec.TimeLimitSecs = min(*u.TimeLimitSecs, TimeLimitUnlimited)
	case u.TimeLimitDeltaSecs != nil:
		if Unlimited(current) {
			return &FieldError{Field: "TimeLimit", Value: FormatDuration(*u.TimeLimitDeltaSecs), Msg: "the time limit is UNLIMITED: it cannot be increased or decreased, only set"}
		}
		n := current + *u.TimeLimitDeltaSecs
		if n < 60 {
			return &FieldError{Field: "TimeLimit", Value: FormatDuration(*u.TimeLimitDeltaSecs), Msg: fmt.Sprintf("the time limit %s would fall below one minute", FormatDuration(current))}
		}
		spec.TimeLimitSecs = n
	}
	if u.Partitions != nil {
		spec.Partitions = slices.Clone(u.Partitions)
	}
	if u.Priority != nil {
		spec.Priority = *u.Priority
	}
	if u.Nice != nil {
		spec.Nice = *u.Nice
	}
	if u.Dependency != nil {
		spec.Dependency = *u.Dependency
	}
	if u.Nodes != nil {
		spec.Nodes = *u.Nodes
		if spec.Nodes < 1 {
			return &FieldError{Field: "NumNodes", Value: fmt.Sprint(*u.Nodes), Msg: "must be 1 or more"}
		}
		// As DefaultSpec: at least one task per node.
		spec.NTasks = max(spec.NTasks, spec.Nodes)
	}
	if u.QOS != nil {
		spec.QOS = *u.QOS
	}
	if u.Account != nil {
		spec.Account = *u.Account
	}
	return nil
}

// updateFieldNames maps the submission options ValidateSpec names to the
// scontrol update fields that set them.
var updateFieldNames = map[string]string{
	"--time": "TimeLimit", "--partition": "Partition", "--priority": "Priority", "--nice": "Nice",
	"--dependency": "Dependency", "--nodes": "NumNodes", "--ntasks": "NumNodes", "--qos": "QOS", "--account": "Account",
}

// UpdateFieldError renames the field of a validation error of an updated
// spec to the scontrol update field that set it (--time becomes
// TimeLimit); other errors are returned as they are.
func UpdateFieldError(err error) error {
	fe, ok := err.(*FieldError)
	if !ok {
		return err
	}
	if name, ok := updateFieldNames[fe.Field]; ok {
		return &FieldError{Field: name, Value: fe.Value, Msg: fe.Msg}
	}
	return err
}

// Node states an administrator sets with scontrol update NodeName=...
// State=... (NodeUpdate.State).
const (
	NodeStateDrain   = "DRAIN"
	NodeStateResume  = "RESUME"
	NodeStateUndrain = "UNDRAIN"
	NodeStateDown    = "DOWN"
)

// NodeUpdate changes the state of nodes (scontrol update NodeName=LIST
// State=DRAIN|RESUME|UNDRAIN|DOWN Reason="...").
type NodeUpdate struct {
	Nodes  []string `json:"nodes"`
	State  string   `json:"state"`            // NodeStateDrain, ...
	Reason string   `json:"reason,omitempty"` // required for DRAIN and DOWN
}

// ValidateNodeUpdate checks a node update: nodes named, a known state
// (case-insensitive; it is upper-cased) and a reason for DRAIN and DOWN,
// with Slurm's message.
func ValidateNodeUpdate(u *NodeUpdate) error {
	if len(u.Nodes) == 0 {
		return &FieldError{Field: "NodeName", Value: "", Msg: "name the nodes to update, such as NodeName=gpu[01-04]"}
	}
	u.State = strings.ToUpper(u.State)
	switch u.State {
	case NodeStateDrain, NodeStateDown:
		if strings.TrimSpace(u.Reason) == "" {
			return &FieldError{Field: "Reason", Value: "", Msg: "You must specify a reason when DOWNING or DRAINING a node. Request denied"}
		}
	case NodeStateResume, NodeStateUndrain:
	default:
		return &FieldError{Field: "State", Value: u.State, Msg: "must be DRAIN, RESUME, UNDRAIN or DOWN"}
	}
	if len(u.Reason) > 1024 || strings.ContainsAny(u.Reason, "\n\r") {
		return &FieldError{Field: "Reason", Value: u.Reason, Msg: "must be one line of at most 1024 characters"}
	}
	return nil
}

// Partition states (Partition.State); empty means UP.
const (
	PartitionUp       = "UP"
	PartitionDown     = "DOWN"
	PartitionDrain    = "DRAIN"
	PartitionInactive = "INACTIVE"
)

// PartitionUpdate changes a partition (scontrol update PartitionName=P
// State=... MaxTime=... DefaultTime=... MaxNodes=...). A nil field is left
// as it is.
type PartitionUpdate struct {
	Name            string  `json:"name"`
	State           *string `json:"state,omitempty"`
	MaxTimeSecs     *int64  `json:"max_time_secs,omitempty"` // 0: UNLIMITED
	DefaultTimeSecs *int64  `json:"default_time_secs,omitempty"`
	MaxNodes        *int    `json:"max_nodes,omitempty"` // 0: UNLIMITED
}

// ApplyTo changes p as the update says (State upper-cased); the caller
// validates the result (ValidateConfig).
func (u *PartitionUpdate) ApplyTo(p *Partition) {
	if u.State != nil {
		p.State = strings.ToUpper(*u.State)
	}
	if u.MaxTimeSecs != nil {
		p.MaxTimeSecs = *u.MaxTimeSecs
	}
	if u.DefaultTimeSecs != nil {
		p.DefaultTimeSecs = *u.DefaultTimeSecs
	}
	if u.MaxNodes != nil {
		p.MaxNodes = *u.MaxNodes
	}
}

// NodeUpdateResponse answers a node update: the raft index and the jobs a
// DOWN requeued or ended.
type NodeUpdateResponse struct {
	Index    uint64  `json:"index"`
	Affected []JobID `json:"affected,omitempty"`
}
