package cli

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

// sacctmgr's command line: verbs, entities, "where ... set ..." and the
// values of each option.

// sacctmgrArgs is a parsed sacctmgr command line after the options:
// VERB ENTITY [NAME...] [where] KEY=VALUE... [set KEY=VALUE...].
type sacctmgrArgs struct {
	verb   string // api.AssocAdd, AssocModify, AssocDelete, or "list"
	entity string // api.EntityAccount, EntityUser, EntityQOS, or "assoc"
	names  []string
	where  []acctKV // conditions (for add: the settings)
	set    []acctKV
	format string
}

// acctKV is one KEY=VALUE word, the key as written.
type acctKV struct{ key, value string }

// sacctmgrVerb maps sacctmgr's command words to operations.
func sacctmgrVerb(w string) (string, bool) {
	switch strings.ToLower(w) {
	case "add", "create":
		return api.AssocAdd, true
	case "modify", "update":
		return api.AssocModify, true
	case "delete", "remove":
		return api.AssocDelete, true
	case "list", "show":
		return "list", true
	}
	return "", false
}

// sacctmgrEntity maps sacctmgr's entity words.
func sacctmgrEntity(w string) (string, bool) {
	switch strings.ToLower(w) {
	case "account", "accounts", "acct":
		return api.EntityAccount, true
	case "user", "users":
		return api.EntityUser, true
	case "qos":
		return api.EntityQOS, true
	case "assoc", "assocs", "association", "associations":
		return "assoc", true
	}
	return "", false
}

// parseSacctmgrArgs parses the words after the options.
func parseSacctmgrArgs(words []string) (*sacctmgrArgs, error) {
	if len(words) == 0 {
		return nil, errors.New("no command given: use add, modify, delete or list, such as sacctmgr list assoc")
	}
	verb, ok := sacctmgrVerb(words[0])
	if !ok {
		return nil, &api.FieldError{Field: "command", Value: words[0], Msg: "unknown command; use add, create, modify, delete, list or show"}
	}
	if len(words) < 2 {
		return nil, fmt.Errorf("%s what? give account, user, qos or assoc", words[0])
	}
	entity, ok := sacctmgrEntity(words[1])
	if !ok || entity == "assoc" && verb != "list" {
		return nil, &api.FieldError{Field: "entity", Value: words[1], Msg: "must be account, user or qos (or assoc for list)"}
	}
	a := &sacctmgrArgs{verb: verb, entity: entity}
	inSet := false
	for _, w := range words[2:] {
		switch strings.ToLower(w) {
		case "where":
			if inSet {
				return nil, errors.New("where must come before set")
			}
			continue
		case "set":
			if verb != api.AssocModify {
				return nil, &api.FieldError{Field: "set", Value: w, Msg: "set is used with modify only"}
			}
			inSet = true
			continue
		}
		k, v, hasEq := strings.Cut(w, "=")
		switch {
		case !hasEq && inSet:
			return nil, &api.FieldError{Field: w, Value: "", Msg: "unknown option: set takes KEY=VALUE"}
		case !hasEq:
			a.names = append(a.names, splitList(w)...)
		case strings.EqualFold(k, "format") && verb == "list":
			a.format = v
		case inSet:
			a.set = append(a.set, acctKV{k, v})
		default:
			a.where = append(a.where, acctKV{k, v})
		}
	}
	if verb == api.AssocModify && len(a.set) == 0 {
		return nil, errors.New("nothing to change: give set KEY=VALUE, such as set Fairshare=10")
	}
	return a, nil
}

// keyIs reports whether key names one of the options, case-insensitively.
func keyIs(key string, names ...string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(key, n) })
}

// limitValue parses a count limit: N, or -1 for none (0 here).
func limitValue(k acctKV) (int, error) {
	n, err := strconv.Atoi(k.value)
	switch {
	case err != nil:
		return 0, &api.FieldError{Field: k.key, Value: k.value, Msg: "must be a number, or -1 for no limit"}
	case n == -1:
		return 0, nil
	case n < 0:
		return 0, &api.FieldError{Field: k.key, Value: k.value, Msg: "must be 0 or more, or -1 for no limit"}
	}
	return n, nil
}

// gpuTRES parses a TRES list limit (GrpTRES=gres/gpu=8): only GPUs are
// limited by Fairway.
func gpuTRES(k acctKV) (int, error) {
	n := -2
	for _, item := range splitList(k.value) {
		name, val, ok := strings.Cut(item, "=")
		if !ok {
			return 0, &api.FieldError{Field: k.key, Value: item, Msg: "must be TRES=N, such as gres/gpu=8"}
		}
		if !keyIs(name, "gres/gpu", "gpu") {
			return 0, &api.FieldError{Field: k.key, Value: item, Msg: "Fairway limits GPUs only: use gres/gpu=N (-1 for no limit)"}
		}
		v, err := limitValue(acctKV{k.key, val})
		if err != nil {
			return 0, err
		}
		n = v
	}
	if n == -2 {
		return 0, &api.FieldError{Field: k.key, Value: k.value, Msg: "must be gres/gpu=N"}
	}
	return n, nil
}

// parseGuarantees parses Guarantee=PARTITION:N[,PARTITION:N]: GPUs
// guaranteed to the account in each partition; 0 or -1 removes one.
func parseGuarantees(k acctKV) (map[string]int, error) {
	out := map[string]int{}
	for _, item := range splitList(k.value) {
		part, val, ok := strings.Cut(item, ":")
		if !ok {
			part, val, ok = strings.Cut(item, "=")
		}
		if !ok || part == "" {
			return nil, &api.FieldError{Field: k.key, Value: item, Msg: "must be PARTITION:GPUS, such as gpu:8"}
		}
		n, err := limitValue(acctKV{k.key, val})
		if err != nil {
			return nil, err
		}
		out[part] = n
	}
	if len(out) == 0 {
		return nil, &api.FieldError{Field: k.key, Value: k.value, Msg: "must be PARTITION:GPUS, such as gpu:8"}
	}
	return out, nil
}

// parseAssocSet turns KEY=VALUE words into an AssocSet. allowed lists the
// options the entity takes (case-insensitive); others are errors naming
// the option.
func parseAssocSet(words []acctKV, entity string) (api.AssocSet, error) {
	var s api.AssocSet
	intp := func(n int) *int { return &n }
	strp := func(v string) *string { return &v }
	for _, k := range words {
		var err error
		switch {
		case keyIs(k.key, "Fairshare", "Shares"):
			if strings.EqualFold(k.value, "parent") {
				t := true
				s.FairshareParent = &t
				continue
			}
			n, e := strconv.Atoi(k.value)
			if e != nil || n < 0 {
				return s, &api.FieldError{Field: k.key, Value: k.value, Msg: "must be a number of shares, 0 or more, or parent"}
			}
			f := false
			s.Fairshare, s.FairshareParent = intp(n), &f
		case keyIs(k.key, "GrpJobs"):
			var n int
			n, err = limitValue(k)
			s.GrpJobs = intp(n)
		case keyIs(k.key, "GrpTRES"):
			var n int
			n, err = gpuTRES(k)
			s.GrpGPUs = intp(n)
		case keyIs(k.key, "MaxJobs"):
			var n int
			n, err = limitValue(k)
			s.MaxJobs = intp(n)
		case keyIs(k.key, "MaxSubmitJobs", "MaxSubmit"):
			var n int
			n, err = limitValue(k)
			s.MaxSubmitJobs = intp(n)
		case keyIs(k.key, "MaxTRESPerUser", "MaxTRESPU"):
			var n int
			n, err = gpuTRES(k)
			s.MaxGPUsPerUser = intp(n)
		case keyIs(k.key, "Guarantee", "Guarantees", "GrpGuarantee"):
			s.Guarantees, err = parseGuarantees(k)
		case keyIs(k.key, "Parent"):
			s.Parent = strp(k.value)
		case keyIs(k.key, "QOS", "QOSLevel"):
			list := splitList(k.value)
			s.QOS = &list
		case keyIs(k.key, "DefaultQOS", "DefQOS"):
			s.DefaultQOS = strp(k.value)
		case keyIs(k.key, "Description", "Descr"):
			s.Description = strp(k.value)
		case keyIs(k.key, "Organization", "Org"):
			s.Organization = strp(k.value)
		case keyIs(k.key, "DefaultAccount", "DefAcct"):
			s.DefaultAccount = strp(k.value)
		case keyIs(k.key, "Priority"):
			n, e := strconv.Atoi(k.value)
			if e != nil || n < 0 {
				return s, &api.FieldError{Field: k.key, Value: k.value, Msg: "must be a number, 0 or more"}
			}
			s.Priority = intp(n)
		case keyIs(k.key, "PreemptMode"):
			m := api.PreemptMode(strings.ToLower(k.value))
			if m == "cluster" {
				m = ""
			}
			if !slices.Contains([]api.PreemptMode{"", api.PreemptOff, api.PreemptRequeue, api.PreemptCancel}, m) {
				return s, &api.FieldError{Field: k.key, Value: k.value, Msg: "must be off, requeue, cancel or cluster"}
			}
			s.PreemptMode = &m
		case keyIs(k.key, "GraceTime"):
			secs, e := parseGraceTime(k.value)
			if e != nil {
				return s, &api.FieldError{Field: k.key, Value: k.value, Msg: "must be seconds or [D-]HH:MM:SS"}
			}
			s.GraceSecs = intp(secs)
		default:
			return s, &api.FieldError{Field: k.key, Value: k.value, Msg: fmt.Sprintf("unknown option for %s", entity)}
		}
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// parseGraceTime parses a grace time: plain seconds (as Slurm's GraceTime)
// or a time such as 00:02:00.
func parseGraceTime(v string) (int, error) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return n, nil
	}
	if !strings.Contains(v, ":") {
		return 0, errors.New("bad time")
	}
	secs, unlimited, err := slurmtime.ParseLimit(v)
	if err != nil || unlimited {
		return 0, errors.New("bad time")
	}
	return int(secs), nil
}

// filterFor turns where conditions into an AssocFilter.
func filterFor(a *sacctmgrArgs) (api.AssocFilter, error) {
	f := api.AssocFilter{Names: slices.Clone(a.names)}
	for _, k := range a.where {
		switch {
		case keyIs(k.key, "Name", "Names"),
			a.entity == api.EntityUser && keyIs(k.key, "User", "Users"),
			a.entity == api.EntityAccount && keyIs(k.key, "Account", "Accounts"):
			f.Names = append(f.Names, splitList(k.value)...)
		case a.entity == api.EntityUser && keyIs(k.key, "Account", "Accounts"):
			f.Accounts = append(f.Accounts, splitList(k.value)...)
		case a.entity == api.EntityAccount && keyIs(k.key, "Parent", "Parents"):
			f.Parents = append(f.Parents, splitList(k.value)...)
		case keyIs(k.key, "Cluster", "Clusters"):
			if !slices.Contains(splitList(k.value), sacctmgrCluster) {
				return f, &api.FieldError{Field: k.key, Value: k.value, Msg: "Fairway runs one cluster, " + sacctmgrCluster}
			}
		default:
			return f, &api.FieldError{Field: k.key, Value: k.value, Msg: fmt.Sprintf("unknown condition for %s (use Name=, Account= or Parent=)", a.entity)}
		}
	}
	return f, nil
}
