package cli

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
)

// sacctmgr list's default field lists (Slurm 22.05's).
const (
	sacctmgrAssocFields   = "Cluster,Account,User,Partition,Share,Priority,GrpJobs,GrpTRES,GrpSubmit,GrpWall,GrpTRESMins,MaxJobs,MaxTRES,MaxTRESPerNode,MaxSubmit,MaxWall,MaxTRESMins,QOS,DefaultQOS,GrpTRESRunMins"
	sacctmgrAccountFields = "Account,Descr,Org"
	sacctmgrUserFields    = "User,DefaultAccount,AdminLevel"
	sacctmgrQOSFields     = "Name,Priority,GraceTime,Preempt,PreemptExemptTime,PreemptMode,Flags,UsageThres,UsageFactor,GrpTRES,GrpTRESMins,GrpTRESRunMins,GrpJobs,GrpSubmit,GrpWall,MaxTRES,MaxTRESPerNode,MaxTRESMins,MaxWall,MaxTRESPU,MaxJobsPU,MaxSubmitPU,MaxTRESPA,MaxJobsPA,MaxSubmitPA,MinTRES"
)

// acctRow is one row of sacctmgr list: an account (User empty), a user's
// association, a user (list user) or a QOS.
type acctRow struct {
	account string
	acct    *api.Account     // nil for root
	user    *api.AccountUser // nil for an account's row
	qos     *api.QOS
	cfg     *api.ClusterConfig
	depth   int // the account's depth below root (list assoc tree)
}

// acctField is one sacctmgr column: its format name, aliases, header,
// Slurm's width (negative: left-justified) and value.
type acctField struct {
	name    string
	aliases []string
	header  string
	width   int
	value   func(r *acctRow) string
}

func countStr(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func gpuTRESStr(n int) string {
	if n <= 0 {
		return ""
	}
	return "gres/gpu=" + strconv.Itoa(n)
}

// blankField is a column Fairway does not track: printed empty.
func blankField(name, header string, width int, aliases ...string) acctField {
	return acctField{name: name, aliases: aliases, header: header, width: width, value: func(*acctRow) string { return "" }}
}

// assocFieldTable is the columns of list assoc, list account and list user.
func assocFieldTable() []acctField {
	isUser := func(r *acctRow) bool { return r.user != nil }
	return []acctField{
		{name: "Cluster", header: "Cluster", width: 10, value: func(*acctRow) string { return sacctmgrCluster }},
		{name: "Account", header: "Account", width: 10, value: func(r *acctRow) string { return r.account }},
		{name: "User", header: "User", width: 10, value: func(r *acctRow) string {
			if r.user == nil {
				return ""
			}
			return r.user.Name
		}},
		blankField("Partition", "Partition", 10),
		{name: "Share", aliases: []string{"Fairshare", "Shares"}, header: "Share", width: 9, value: func(r *acctRow) string {
			switch {
			case isUser(r) && r.user.SharesParent, !isUser(r) && r.acct != nil && r.acct.SharesParent:
				return "parent"
			case isUser(r):
				return strconv.Itoa(r.user.Shares)
			case r.acct == nil:
				return "1"
			}
			return strconv.Itoa(r.acct.Shares)
		}},
		blankField("Priority", "Priority", 10),
		{name: "GrpJobs", header: "GrpJobs", width: 7, value: func(r *acctRow) string {
			if isUser(r) || r.acct == nil {
				return ""
			}
			return countStr(r.acct.MaxRunningJobs)
		}},
		{name: "GrpTRES", header: "GrpTRES", width: 13, value: func(r *acctRow) string {
			switch {
			case isUser(r):
				return gpuTRESStr(r.user.MaxGPUs)
			case r.acct == nil:
				return ""
			}
			return gpuTRESStr(r.acct.MaxGPUs)
		}},
		blankField("GrpSubmit", "GrpSubmit", 9, "GrpSubmitJobs"),
		blankField("GrpWall", "GrpWall", 11),
		blankField("GrpTRESMins", "GrpTRESMins", 13),
		{name: "MaxJobs", header: "MaxJobs", width: 7, value: func(r *acctRow) string {
			switch {
			case isUser(r):
				return countStr(r.user.MaxRunningJobs)
			case r.acct == nil:
				return ""
			}
			return countStr(r.acct.MaxRunningJobsPerUser)
		}},
		blankField("MaxTRES", "MaxTRES", 13, "MaxTRESPerJob"),
		blankField("MaxTRESPerNode", "MaxTRESPerNode", 14),
		{name: "MaxSubmit", aliases: []string{"MaxSubmitJobs"}, header: "MaxSubmit", width: 9, value: func(r *acctRow) string {
			switch {
			case isUser(r):
				return countStr(r.user.MaxSubmitJobs)
			case r.acct == nil:
				return ""
			}
			return countStr(r.acct.MaxSubmitJobsPerUser)
		}},
		blankField("MaxWall", "MaxWall", 11, "MaxWallDurationPerJob"),
		blankField("MaxTRESMins", "MaxTRESMins", 13),
		{name: "QOS", header: "QOS", width: 20, value: func(r *acctRow) string {
			allowed, _ := r.cfg.AccountQOS(r.account)
			return strings.Join(allowed, ",")
		}},
		{name: "DefaultQOS", aliases: []string{"DefQOS"}, header: "Def QOS", width: 9, value: func(r *acctRow) string {
			_, def := r.cfg.AccountQOS(r.account)
			return def
		}},
		blankField("GrpTRESRunMins", "GrpTRESRunMins", 13),
		{name: "ParentName", header: "Par Name", width: 10, value: func(r *acctRow) string {
			if isUser(r) || r.acct == nil {
				return ""
			}
			return cmp.Or(r.acct.Parent, api.RootAccount)
		}},
		// Guarantee is Fairway's: GPUs guaranteed to the account per partition.
		{name: "Guarantee", aliases: []string{"Guarantees", "GrpGuarantee"}, header: "Guarantee", width: 20, value: func(r *acctRow) string {
			if isUser(r) || r.acct == nil {
				return ""
			}
			return formatGuarantees(r.acct.Guarantees)
		}},
		{name: "MaxTRESPU", aliases: []string{"MaxTRESPerUser"}, header: "MaxTRESPU", width: 13, value: func(r *acctRow) string {
			if isUser(r) || r.acct == nil {
				return ""
			}
			return gpuTRESStr(r.acct.MaxGPUsPerUser)
		}},
		{name: "Descr", aliases: []string{"Description"}, header: "Descr", width: 20, value: func(r *acctRow) string {
			if r.acct == nil {
				return "default root account"
			}
			return r.acct.Description
		}},
		{name: "Org", aliases: []string{"Organization"}, header: "Org", width: 20, value: func(r *acctRow) string {
			if r.acct == nil {
				return api.RootAccount
			}
			return r.acct.Organization
		}},
		{name: "DefaultAccount", aliases: []string{"DefAcct"}, header: "Def Acct", width: 10, value: func(r *acctRow) string {
			if r.user == nil {
				return ""
			}
			return r.cfg.UserDefaultAccount(r.user.Name)
		}},
		{name: "AdminLevel", aliases: []string{"Admin"}, header: "Admin", width: 9, value: func(r *acctRow) string {
			if r.user == nil {
				return ""
			}
			switch {
			case slices.Contains(r.cfg.Administrators, r.user.Name) || r.user.Name == "root":
				return "Administrator"
			case slices.Contains(r.cfg.Operators, r.user.Name):
				return "Operator"
			}
			return "None"
		}},
	}
}

// qosFieldTable is the columns of list qos.
func qosFieldTable() []acctField {
	return []acctField{
		{name: "Name", header: "Name", width: 10, value: func(r *acctRow) string { return r.qos.Name }},
		{name: "Priority", header: "Priority", width: 10, value: func(r *acctRow) string { return strconv.Itoa(r.qos.Priority) }},
		{name: "GraceTime", header: "GraceTime", width: 10, value: func(r *acctRow) string { return slurmtime.Clock(int64(r.qos.GraceSecs)) }},
		blankField("Preempt", "Preempt", 10),
		{name: "PreemptExemptTime", header: "PreemptExemptTime", width: 19, value: func(r *acctRow) string {
			if r.qos.MinRuntimeSecs == 0 {
				return ""
			}
			return slurmtime.Clock(r.qos.MinRuntimeSecs)
		}},
		{name: "PreemptMode", header: "PreemptMode", width: 11, value: func(r *acctRow) string { return cmp.Or(string(r.qos.PreemptMode), "cluster") }},
		blankField("Flags", "Flags", 40),
		blankField("UsageThres", "UsageThres", 10),
		{name: "UsageFactor", header: "UsageFactor", width: 11, value: func(*acctRow) string { return "1.000000" }},
		blankField("GrpTRES", "GrpTRES", 13),
		blankField("GrpTRESMins", "GrpTRESMins", 13),
		blankField("GrpTRESRunMins", "GrpTRESRunMins", 13),
		blankField("GrpJobs", "GrpJobs", 7),
		blankField("GrpSubmit", "GrpSubmit", 9),
		blankField("GrpWall", "GrpWall", 11),
		blankField("MaxTRES", "MaxTRES", 13),
		blankField("MaxTRESPerNode", "MaxTRESPerNode", 14),
		blankField("MaxTRESMins", "MaxTRESMins", 13),
		blankField("MaxWall", "MaxWall", 11),
		blankField("MaxTRESPU", "MaxTRESPU", 13),
		blankField("MaxJobsPU", "MaxJobsPU", 9),
		blankField("MaxSubmitPU", "MaxSubmitPU", 11),
		blankField("MaxTRESPA", "MaxTRESPA", 13),
		blankField("MaxJobsPA", "MaxJobsPA", 9),
		blankField("MaxSubmitPA", "MaxSubmitPA", 11),
		blankField("MinTRES", "MinTRES", 13),
	}
}

// parseAcctFormat parses a format= list: names (or aliases) matched
// case-insensitively, exactly or else by prefix, each optionally with
// %WIDTH (a negative width left-justifies).
func parseAcctFormat(list string, table []acctField) ([]acctField, error) {
	var out []acctField
	for _, item := range splitList(list) {
		name, width, hasWidth := strings.Cut(item, "%")
		idx := slices.IndexFunc(table, func(f acctField) bool {
			return strings.EqualFold(f.name, name) || slices.ContainsFunc(f.aliases, func(a string) bool { return strings.EqualFold(a, name) })
		})
		if idx < 0 && name != "" {
			idx = slices.IndexFunc(table, func(f acctField) bool {
				return len(name) <= len(f.name) && strings.EqualFold(f.name[:len(name)], name)
			})
		}
		if idx < 0 {
			var names []string
			for _, f := range table {
				names = append(names, f.name)
			}
			return nil, &api.FieldError{Field: "format", Value: name, Msg: "unknown field; fields are " + strings.Join(names, ", ")}
		}
		f := table[idx]
		if hasWidth {
			n, err := strconv.Atoi(width)
			if err != nil || n == 0 {
				return nil, &api.FieldError{Field: "format", Value: item, Msg: "the width after % must be a non-zero number, as in Account%30"}
			}
			f.width = n
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, &api.FieldError{Field: "format", Value: list, Msg: "no fields given"}
	}
	return out, nil
}

// assocRows lists the associations in the fair-share tree's order (the
// order sshare prints): root, then each account, its users by name, then
// its sub-accounts by name.
func assocRows(cfg *api.ClusterConfig) []acctRow {
	kids := map[string][]int{}
	for i, a := range cfg.Accounts {
		p := cmp.Or(a.Parent, api.RootAccount)
		kids[p] = append(kids[p], i)
	}
	for _, k := range kids {
		slices.SortFunc(k, func(a, b int) int { return cmp.Compare(cfg.Accounts[a].Name, cfg.Accounts[b].Name) })
	}
	rows := []acctRow{{account: api.RootAccount, cfg: cfg}}
	var walk func(name string, depth int)
	walk = func(name string, depth int) {
		if depth > len(cfg.Accounts) {
			return
		}
		for _, i := range kids[name] {
			a := &cfg.Accounts[i]
			rows = append(rows, acctRow{account: a.Name, acct: a, cfg: cfg, depth: depth + 1})
			users := slices.Clone(a.Users)
			slices.SortFunc(users, func(x, y api.AccountUser) int { return cmp.Compare(x.Name, y.Name) })
			for j := range users {
				rows = append(rows, acctRow{account: a.Name, acct: a, user: &users[j], cfg: cfg, depth: depth + 1})
			}
			walk(a.Name, depth+1)
		}
	}
	walk(api.RootAccount, 0)
	return rows
}

// sacctmgrList prints list/show of accounts, users, associations or QOS.
func sacctmgrList(ctx context.Context, inv *invocation, a *sacctmgrArgs) error {
	cfg, err := inv.client().Config(ctx)
	if err != nil {
		return fmt.Errorf("get the configuration: %w", err)
	}
	var names, accounts, users, parents []string
	tree := false
	for _, n := range a.names {
		switch strings.ToLower(n) {
		case "tree":
			tree = true
		case "withassoc", "withsubaccounts", "withdeleted", "withcoord", "wopinfo", "wopl", "wolimits":
			// Slurm's listing options: Fairway keeps no deleted records,
			// and every listing has what they add or leave out.
		default:
			names = append(names, n)
		}
	}
	for _, k := range a.where {
		switch {
		case keyIs(k.key, "Name", "Names"):
			names = append(names, splitList(k.value)...)
		case keyIs(k.key, "Account", "Accounts", "Acct"):
			accounts = append(accounts, splitList(k.value)...)
		case keyIs(k.key, "User", "Users"):
			users = append(users, splitList(k.value)...)
		case keyIs(k.key, "Parent", "Parents") && a.entity == api.EntityAccount:
			parents = append(parents, splitList(k.value)...)
		case keyIs(k.key, "Cluster", "Clusters"):
		default:
			return &api.FieldError{Field: k.key, Value: k.value, Msg: fmt.Sprintf("unknown condition for list %s", a.entity)}
		}
	}
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	table, list := assocFieldTable(), ""
	var rows []acctRow
	switch a.entity {
	case "assoc":
		list = sacctmgrAssocFields
		for _, r := range assocRows(cfg) {
			if len(users) > 0 && (r.user == nil || !slices.Contains(users, r.user.Name)) {
				continue
			}
			if in(accounts, r.account) && (len(names) == 0 || slices.Contains(names, r.account)) {
				rows = append(rows, r)
			}
		}
	case api.EntityAccount:
		list = sacctmgrAccountFields
		names = append(names, accounts...)
		for _, r := range assocRows(cfg) {
			if r.user == nil && in(names, r.account) && (len(parents) == 0 || r.acct != nil && slices.Contains(parents, cmp.Or(r.acct.Parent, api.RootAccount))) {
				rows = append(rows, r)
			}
		}
		slices.SortStableFunc(rows, func(x, y acctRow) int { return cmp.Compare(x.account, y.account) })
	case api.EntityUser:
		list = sacctmgrUserFields
		names = append(names, users...)
		seen := map[string]bool{}
		for _, r := range assocRows(cfg) {
			if r.user == nil || seen[r.user.Name] || !in(names, r.user.Name) || !in(accounts, r.account) {
				continue
			}
			seen[r.user.Name] = true
			rows = append(rows, r)
		}
		slices.SortStableFunc(rows, func(x, y acctRow) int { return cmp.Compare(x.user.Name, y.user.Name) })
	case api.EntityQOS:
		table, list = qosFieldTable(), sacctmgrQOSFields
		qs := slices.Clone(cfg.QOS)
		if !slices.ContainsFunc(qs, func(q api.QOS) bool { return q.Name == api.DefaultQOS }) {
			qs = append([]api.QOS{{Name: api.DefaultQOS}}, qs...)
		}
		for i := range qs {
			if in(names, qs[i].Name) {
				rows = append(rows, acctRow{qos: &qs[i], cfg: cfg})
			}
		}
	}
	if a.format != "" {
		list = a.format
	}
	fields, err := parseAcctFormat(list, table)
	if err != nil {
		return err
	}
	if tree && a.entity == "assoc" {
		// tree: accounts indented by depth in a left-justified column of
		// 20 (Slurm's), users one level below their account.
		for i, f := range fields {
			if f.name != "Account" {
				continue
			}
			if !strings.Contains(strings.ToLower(list), "account%") {
				fields[i].width = -20
			}
			fields[i].value = func(r *acctRow) string {
				d := r.depth
				if r.user != nil {
					d++
				}
				return strings.Repeat(" ", d) + r.account
			}
		}
	}
	fmt.Fprint(inv.env.Stdout, formatAcctTable(fields, rows, inv.opts.flag("parsable"), inv.opts.flag("parsable2"), inv.opts.flag("noheader")))
	return nil
}

// formatAcctTable lays rows out as Slurm's print_fields does: a header cut
// to each width and a dashed line, cells justified to the width (a "+"
// marks a cut value), each followed by a space; or, parsable, values
// separated by | (-p: with a trailing |).
func formatAcctTable(fields []acctField, rows []acctRow, parsable, parsable2, noheader bool) string {
	var b strings.Builder
	sep := parsable || parsable2
	trailing := parsable && !parsable2
	line := func(cell func(f acctField) string) {
		for i, f := range fields {
			b.WriteString(cell(f))
			if sep && (i < len(fields)-1 || trailing) {
				b.WriteByte('|')
			}
		}
		b.WriteByte('\n')
	}
	if !noheader {
		line(func(f acctField) string {
			if sep {
				return f.header
			}
			w := max(f.width, -f.width)
			h := f.header
			if len(h) > w {
				h = h[:w]
			}
			if f.width < 0 {
				return fmt.Sprintf("%-*s ", w, h)
			}
			return fmt.Sprintf("%*s ", w, h)
		})
		if !sep {
			line(func(f acctField) string { return strings.Repeat("-", max(f.width, -f.width)) + " " })
		}
	}
	for i := range rows {
		r := &rows[i]
		line(func(f acctField) string {
			v := f.value(r)
			if sep {
				return v
			}
			return sshareCell(shareValue{kind: 's', str: v, isNull: v == ""}, f.width)
		})
	}
	return b.String()
}
