package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

// sacctmgrCluster is the cluster name sacctmgr prints (Fairway runs one).
const sacctmgrCluster = "fairway"

// sacctmgrPromptWait is how long sacctmgr waits for an answer to its
// question, as Slurm's does.
const sacctmgrPromptWait = 30 * time.Second

func sacctmgrOpts() []*opt {
	return []*opt{
		{long: "immediate", short: 'i', kind: optFlag, usage: "commit changes without asking for confirmation"},
		{long: "noheader", short: 'n', kind: optFlag, usage: "do not print the header"},
		{long: "parsable", short: 'p', kind: optFlag, usage: "fields separated by |, with a trailing |"},
		{long: "parsable2", short: 'P', kind: optFlag, usage: "fields separated by |, without a trailing |"},
		{long: "quiet", short: 'Q', kind: optFlag, usage: "print no messages other than errors"},
		{long: "readonly", short: 'r', kind: optFlag, usage: "refuse to change anything"},
		{long: "verbose", short: 'v', kind: optFlag, ignored: true},
		{long: "associations", short: 's', kind: optFlag, unsupported: "use sacctmgr list assoc"},
		{long: "clusters", short: 'M', unsupported: "Fairway runs one cluster"},
		addrOpt(),
		helpOpt(0),
	}
}

// sacctmgr runs Slurm's sacctmgr: add, modify, delete and list accounts,
// users' associations and QOS.
func sacctmgr(ctx context.Context, inv *invocation) error {
	a, err := parseSacctmgrArgs(inv.args)
	if err != nil {
		return err
	}
	if a.verb == "list" {
		return sacctmgrList(ctx, inv, a)
	}
	if inv.opts.flag("readonly") {
		return errors.New("sacctmgr is read-only (-r): nothing may change")
	}
	cl := inv.client()
	cfg, err := cl.Config(ctx)
	if err != nil {
		return fmt.Errorf("get the configuration: %w", err)
	}
	req, err := assocRequest(a, cfg)
	if err != nil {
		return err
	}
	commit := inv.opts.flag("immediate") || !stdinIsTerminal(inv.env.Stdin)
	dry := *req
	dry.DryRun = true
	res, err := cl.ChangeAssociations(ctx, dry)
	if err != nil {
		return err
	}
	out := inv.env.Stdout
	if res.Empty() {
		fmt.Fprint(out, nothingMessage(req.Op))
		return &exitError{code: 1}
	}
	if !inv.opts.flag("quiet") {
		fmt.Fprint(out, describeAssocChange(req, res, cfg))
	}
	if !commit && !confirm(ctx, inv.env) {
		fmt.Fprintln(out, " Changes Discarded")
		return nil
	}
	if _, err := cl.ChangeAssociations(ctx, *req); err != nil {
		return err
	}
	return nil
}

// nothingMessage is what sacctmgr prints when a change selects nothing.
func nothingMessage(op string) string {
	switch op {
	case api.AssocModify:
		return " Nothing modified\n"
	case api.AssocDelete:
		return " Nothing deleted\n"
	}
	return " Nothing new added.\n"
}

// stdinIsTerminal reports whether r is a terminal. Slurm's sacctmgr asks
// before committing only then; with input from a pipe or file it commits
// as -i does.
func stdinIsTerminal(r io.Reader) bool {
	if t, ok := r.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	// A terminal answers TCGETS; /dev/null, also a character device, does not.
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// confirm asks Slurm's question and waits up to 30 seconds for y.
func confirm(ctx context.Context, env *Env) bool {
	fmt.Fprint(env.Stdout, "Would you like to commit changes? (You have 30 seconds to decide)\n(N/y): ")
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
		answer <- strings.TrimSpace(line)
	}()
	t := time.NewTimer(sacctmgrPromptWait)
	defer t.Stop()
	select {
	case s := <-answer:
		return strings.HasPrefix(strings.ToLower(s), "y")
	case <-t.C:
		fmt.Fprintln(env.Stdout, "\nYou didn't respond in time.")
	case <-ctx.Done():
	}
	return false
}

// assocRequest builds the change a command line asks for.
func assocRequest(a *sacctmgrArgs, cfg *api.ClusterConfig) (*api.AssocRequest, error) {
	req := &api.AssocRequest{Op: a.verb, Entity: a.entity}
	if a.verb != api.AssocAdd {
		f, err := filterFor(a)
		if err != nil {
			return nil, err
		}
		req.Where = f
		if a.verb == api.AssocModify {
			req.Set, err = parseAssocSet(a.set, a.entity)
			if err != nil {
				return nil, err
			}
		}
		return req, nil
	}
	// add: bare words and Name= are the names; the rest are settings.
	names := slices.Clone(a.names)
	var settings []acctKV
	var accounts []string
	for _, k := range a.where {
		switch {
		case keyIs(k.key, "Name", "Names"), a.entity == api.EntityUser && keyIs(k.key, "User", "Users"):
			names = append(names, splitList(k.value)...)
		case a.entity == api.EntityUser && keyIs(k.key, "Account", "Accounts"):
			accounts = append(accounts, splitList(k.value)...)
		case keyIs(k.key, "Cluster", "Clusters"):
			if !slices.Contains(splitList(k.value), sacctmgrCluster) {
				return nil, &api.FieldError{Field: k.key, Value: k.value, Msg: "Fairway runs one cluster, " + sacctmgrCluster}
			}
		default:
			settings = append(settings, k)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no %s name given: sacctmgr add %s NAME", a.entity, a.entity)
	}
	set, err := parseAssocSet(settings, a.entity)
	if err != nil {
		return nil, err
	}
	switch a.entity {
	case api.EntityAccount:
		if err := onlyOptions(set, api.EntityAccount); err != nil {
			return nil, err
		}
		for _, n := range names {
			acct := api.Account{Name: n, Shares: 1, Description: n}
			parent := ""
			if set.Parent != nil && *set.Parent != api.RootAccount {
				parent = *set.Parent
			}
			acct.Parent = parent
			acct.Organization = n
			if parent != "" {
				acct.Organization = parent
				if i := slices.IndexFunc(cfg.Accounts, func(x api.Account) bool { return x.Name == parent }); i >= 0 && cfg.Accounts[i].Organization != "" {
					acct.Organization = cfg.Accounts[i].Organization
				}
			}
			applyAccountSet(&acct, set)
			req.Accounts = append(req.Accounts, acct)
		}
	case api.EntityUser:
		if err := onlyOptions(set, api.EntityUser); err != nil {
			return nil, err
		}
		if len(accounts) == 0 {
			if set.DefaultAccount == nil {
				return nil, &api.FieldError{Field: "Account", Value: "", Msg: "a user is added to an account: give Account=NAME (or DefaultAccount=NAME)"}
			}
			accounts = []string{*set.DefaultAccount}
		}
		if set.DefaultAccount != nil && !slices.Contains(accounts, *set.DefaultAccount) {
			return nil, &api.FieldError{Field: "DefaultAccount", Value: *set.DefaultAccount, Msg: "must be one of the accounts added (Account=)"}
		}
		for _, n := range names {
			def := ""
			switch {
			case set.DefaultAccount != nil:
				def = *set.DefaultAccount
			case cfg.UserDefaultAccount(n) == "":
				def = accounts[0] // a user's first association is its default
			}
			for _, acct := range accounts {
				u := api.AccountUser{Name: n, Shares: 1, Default: acct == def}
				if set.Fairshare != nil {
					u.Shares = *set.Fairshare
				}
				if set.FairshareParent != nil {
					u.SharesParent = *set.FairshareParent
				}
				setIntPtr(&u.MaxRunningJobs, set.MaxJobs)
				setIntPtr(&u.MaxGPUs, set.GrpGPUs)
				setIntPtr(&u.MaxSubmitJobs, set.MaxSubmitJobs)
				req.Users = append(req.Users, api.UserAssoc{Account: acct, User: u})
			}
		}
	case api.EntityQOS:
		if err := onlyOptions(set, api.EntityQOS); err != nil {
			return nil, err
		}
		for _, n := range names {
			q := api.QOS{Name: n}
			setIntPtr(&q.Priority, set.Priority)
			setIntPtr(&q.GraceSecs, set.GraceSecs)
			if set.PreemptMode != nil {
				q.PreemptMode = *set.PreemptMode
			}
			req.QOS = append(req.QOS, q)
		}
	}
	return req, nil
}

func setIntPtr(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

// applyAccountSet copies an add's settings into a new account.
func applyAccountSet(a *api.Account, s api.AssocSet) {
	setIntPtr(&a.Shares, s.Fairshare)
	if s.FairshareParent != nil {
		a.SharesParent = *s.FairshareParent
	}
	setIntPtr(&a.MaxRunningJobs, s.GrpJobs)
	setIntPtr(&a.MaxGPUs, s.GrpGPUs)
	setIntPtr(&a.MaxRunningJobsPerUser, s.MaxJobs)
	setIntPtr(&a.MaxGPUsPerUser, s.MaxGPUsPerUser)
	setIntPtr(&a.MaxSubmitJobsPerUser, s.MaxSubmitJobs)
	for p, n := range s.Guarantees {
		if n > 0 {
			if a.Guarantees == nil {
				a.Guarantees = map[string]int{}
			}
			a.Guarantees[p] = n
		}
	}
	if s.QOS != nil {
		a.QOS = *s.QOS
	}
	if s.DefaultQOS != nil {
		a.DefaultQOS = *s.DefaultQOS
	}
	if s.Description != nil {
		a.Description = *s.Description
	}
	if s.Organization != nil {
		a.Organization = *s.Organization
	}
}

// onlyOptions refuses settings an add of entity does not take.
func onlyOptions(s api.AssocSet, entity string) error {
	bad := func(name string) error {
		return &api.FieldError{Field: name, Value: "", Msg: "unknown option for sacctmgr add " + entity}
	}
	type opt struct {
		name string
		set  bool
	}
	var refused []opt
	switch entity {
	case api.EntityAccount:
		refused = []opt{{"DefaultAccount", s.DefaultAccount != nil}, {"Priority", s.Priority != nil}, {"PreemptMode", s.PreemptMode != nil}, {"GraceTime", s.GraceSecs != nil}}
	case api.EntityUser:
		refused = []opt{{"Parent", s.Parent != nil}, {"GrpJobs", s.GrpJobs != nil}, {"MaxTRESPerUser", s.MaxGPUsPerUser != nil},
			{"Guarantee", s.Guarantees != nil}, {"QOS", s.QOS != nil}, {"DefaultQOS", s.DefaultQOS != nil},
			{"Description", s.Description != nil}, {"Organization", s.Organization != nil},
			{"Priority", s.Priority != nil}, {"PreemptMode", s.PreemptMode != nil}, {"GraceTime", s.GraceSecs != nil}}
	case api.EntityQOS:
		refused = []opt{{"Fairshare", s.Fairshare != nil || s.FairshareParent != nil}, {"Parent", s.Parent != nil}, {"GrpJobs", s.GrpJobs != nil},
			{"GrpTRES", s.GrpGPUs != nil}, {"MaxJobs", s.MaxJobs != nil}, {"MaxSubmitJobs", s.MaxSubmitJobs != nil},
			{"MaxTRESPerUser", s.MaxGPUsPerUser != nil}, {"Guarantee", s.Guarantees != nil}, {"QOS", s.QOS != nil},
			{"DefaultQOS", s.DefaultQOS != nil}, {"Description", s.Description != nil}, {"Organization", s.Organization != nil},
			{"DefaultAccount", s.DefaultAccount != nil}}
	}
	for _, o := range refused {
		if o.set {
			return bad(o.name)
		}
	}
	return nil
}

// describeAssocChange writes what a change does, in sacctmgr's words.
func describeAssocChange(req *api.AssocRequest, res *api.AssocResult, cfg *api.ClusterConfig) string {
	var b strings.Builder
	switch req.Op {
	case api.AssocAdd:
		if len(req.QOS) > 0 {
			b.WriteString(" Adding QOS(s)\n")
			for _, q := range req.QOS {
				fmt.Fprintf(&b, "  %s\n", q.Name)
			}
			b.WriteString(" Settings\n")
			for _, q := range req.QOS {
				fmt.Fprintf(&b, "  %-13s = %s\n", "Description", q.Name)
				if q.Priority != 0 {
					fmt.Fprintf(&b, "  %-13s = %d\n", "Priority", q.Priority)
				}
				if q.PreemptMode != "" {
					fmt.Fprintf(&b, "  %-13s = %s\n", "PreemptMode", q.PreemptMode)
				}
				if q.GraceSecs != 0 {
					fmt.Fprintf(&b, "  %-13s = %s\n", "GraceTime", slurmtime.Clock(int64(q.GraceSecs)))
				}
			}
		}
		if len(req.Accounts) > 0 {
			b.WriteString(" Adding Account(s)\n")
			for _, a := range req.Accounts {
				fmt.Fprintf(&b, "  %s\n", a.Name)
			}
			a := req.Accounts[0]
			b.WriteString(" Settings\n")
			fmt.Fprintf(&b, "  Description     = %s\n", a.Description)
			fmt.Fprintf(&b, "  Organization    = %s\n", a.Organization)
			b.WriteString(" Associations\n")
			for _, a := range req.Accounts {
				fmt.Fprintf(&b, "  A = %-10.10s C = %-10.10s\n", a.Name, sacctmgrCluster)
			}
			b.WriteString(" Settings\n")
			writeAccountLimits(&b, a)
		}
		if len(req.Users) > 0 {
			b.WriteString(" Adding User(s)\n")
			var names []string
			for _, u := range req.Users {
				if !slices.Contains(names, u.User.Name) {
					names = append(names, u.User.Name)
				}
			}
			for _, n := range names {
				fmt.Fprintf(&b, "  %s\n", n)
			}
			for _, u := range req.Users {
				if u.User.Default {
					b.WriteString(" Settings =\n")
					fmt.Fprintf(&b, "  Default Account = %s\n", u.Account)
					break
				}
			}
			b.WriteString(" Associations =\n")
			for _, u := range req.Users {
				fmt.Fprintf(&b, "  U = %-9.9s A = %-10.10s C = %-10.10s\n", u.User.Name, u.Account, sacctmgrCluster)
			}
			if lim := userLimitLines(req.Users[0].User); lim != "" {
				b.WriteString(" Non Default Settings\n")
				b.WriteString(lim)
			}
		}
	case api.AssocModify:
		switch req.Entity {
		case api.EntityAccount:
			b.WriteString(" Modified account associations...\n")
			for _, n := range res.Accounts {
				parent := api.RootAccount
				if i := slices.IndexFunc(cfg.Accounts, func(x api.Account) bool { return x.Name == n }); i >= 0 {
					parent = cmp.Or(cfg.Accounts[i].Parent, api.RootAccount)
				}
				fmt.Fprintf(&b, "  C = %-10.10s A = %-20.20s of %s\n", sacctmgrCluster, n, parent)
			}
		case api.EntityUser:
			b.WriteString(" Modified user associations...\n")
			for _, u := range res.Users {
				fmt.Fprintf(&b, "  C = %-10.10s A = %-10.10s U = %-9.9s\n", sacctmgrCluster, u.Account, u.User.Name)
			}
		case api.EntityQOS:
			b.WriteString(" Modified qos...\n")
			for _, n := range res.QOS {
				fmt.Fprintf(&b, "  %s\n", n)
			}
		}
	case api.AssocDelete:
		switch req.Entity {
		case api.EntityAccount:
			b.WriteString(" Deleting accounts...\n")
			for _, n := range res.Accounts {
				fmt.Fprintf(&b, "  %s\n", n)
			}
		case api.EntityUser:
			if len(req.Where.Accounts) == 0 {
				b.WriteString(" Deleting users...\n")
				var seen []string
				for _, u := range res.Users {
					if !slices.Contains(seen, u.User.Name) {
						seen = append(seen, u.User.Name)
						fmt.Fprintf(&b, "  %s\n", u.User.Name)
					}
				}
			} else {
				b.WriteString(" Deleting user associations...\n")
				for _, u := range res.Users {
					fmt.Fprintf(&b, "  C = %-10.10s A = %-10.10s U = %-9.9s\n", sacctmgrCluster, u.Account, u.User.Name)
				}
			}
		case api.EntityQOS:
			b.WriteString(" Deleting QOS(s)...\n")
			for _, n := range res.QOS {
				fmt.Fprintf(&b, "  %s\n", n)
			}
		}
	}
	return b.String()
}

// writeAccountLimits writes a new account's association settings.
func writeAccountLimits(b *strings.Builder, a api.Account) {
	line := func(k, v string) { fmt.Fprintf(b, "  %-13s = %s\n", k, v) }
	if a.SharesParent {
		line("Fairshare", "parent")
	} else if a.Shares != 1 {
		line("Fairshare", strconv.Itoa(a.Shares))
	}
	if a.MaxRunningJobs > 0 {
		line("GrpJobs", strconv.Itoa(a.MaxRunningJobs))
	}
	if a.MaxGPUs > 0 {
		line("GrpTRES", "gres/gpu="+strconv.Itoa(a.MaxGPUs))
	}
	if a.MaxRunningJobsPerUser > 0 {
		line("MaxJobs", strconv.Itoa(a.MaxRunningJobsPerUser))
	}
	if a.MaxSubmitJobsPerUser > 0 {
		line("MaxSubmitJobs", strconv.Itoa(a.MaxSubmitJobsPerUser))
	}
	if a.MaxGPUsPerUser > 0 {
		line("MaxTRESPU", "gres/gpu="+strconv.Itoa(a.MaxGPUsPerUser))
	}
	if len(a.Guarantees) > 0 {
		line("Guarantee", formatGuarantees(a.Guarantees))
	}
	line("Parent", cmp.Or(a.Parent, api.RootAccount))
	if len(a.QOS) > 0 {
		line("QOS", strings.Join(a.QOS, ","))
	}
	if a.DefaultQOS != "" {
		line("DefQOS", a.DefaultQOS)
	}
}

// userLimitLines lists an association's settings that are not defaults.
func userLimitLines(u api.AccountUser) string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "  %-13s = %s\n", k, v) }
	if u.SharesParent {
		line("Fairshare", "parent")
	} else if u.Shares != 1 {
		line("Fairshare", strconv.Itoa(u.Shares))
	}
	if u.MaxGPUs > 0 {
		line("GrpTRES", "gres/gpu="+strconv.Itoa(u.MaxGPUs))
	}
	if u.MaxRunningJobs > 0 {
		line("MaxJobs", strconv.Itoa(u.MaxRunningJobs))
	}
	if u.MaxSubmitJobs > 0 {
		line("MaxSubmitJobs", strconv.Itoa(u.MaxSubmitJobs))
	}
	return b.String()
}

// formatGuarantees prints guarantees as Guarantee= takes them: gpu:8,a100:2.
func formatGuarantees(g map[string]int) string {
	var parts []string
	for _, p := range slices.Sorted(maps.Keys(g)) {
		if g[p] > 0 {
			parts = append(parts, p+":"+strconv.Itoa(g[p]))
		}
	}
	return strings.Join(parts, ",")
}
