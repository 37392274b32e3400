package api

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Associations: sacctmgr's changes to the accounts, users (their
// associations with accounts) and QOS of the cluster configuration. A
// change is computed by ApplyAssoc against a configuration and the jobs
// that are active; the controller commits it through raft (one command per
// operation), so it takes effect at the scheduler's next pass.

// Entities an AssocRequest acts on.
const (
	EntityAccount = "account"
	EntityUser    = "user"
	EntityQOS     = "qos"
)

// Operations of an AssocRequest.
const (
	AssocAdd    = "add"
	AssocModify = "modify"
	AssocDelete = "delete"
)

// UserAssoc is one user's association with an account.
type UserAssoc struct {
	Account string      `json:"account"`
	User    AccountUser `json:"user"`
}

// AssocFilter selects what a modify or delete acts on (sacctmgr's where
// clause). Empty lists select everything, but a request must set Names or
// Accounts.
type AssocFilter struct {
	// Names are account, user or QOS names, by the request's Entity.
	Names []string `json:"names,omitempty"`
	// Accounts restricts users to their associations with these accounts.
	Accounts []string `json:"accounts,omitempty"`
	// Parents restricts accounts to the children of these accounts.
	Parents []string `json:"parents,omitempty"`
}

func (f AssocFilter) empty() bool {
	return len(f.Names) == 0 && len(f.Accounts) == 0 && len(f.Parents) == 0
}

// AssocSet is the set clause of a modify, in sacctmgr's terms; a nil field
// is left as it is. Limits of 0 remove the limit (sacctmgr's -1).
type AssocSet struct {
	// Fairshare is the raw shares (accounts and users); FairshareParent is
	// Fairshare=parent.
	Fairshare       *int  `json:"fairshare,omitempty"`
	FairshareParent *bool `json:"fairshare_parent,omitempty"`
	// Parent moves an account under another (root for the top).
	Parent *string `json:"parent,omitempty"`
	// GrpJobs: the account's running jobs (Account.MaxRunningJobs).
	GrpJobs *int `json:"grp_jobs,omitempty"`
	// GrpGPUs is GrpTRES=gres/gpu=N: an account's GPUs in use
	// (Account.MaxGPUs), or a user's in the account (AccountUser.MaxGPUs).
	GrpGPUs *int `json:"grp_gpus,omitempty"`
	// MaxJobs: running jobs of each user of an account
	// (Account.MaxRunningJobsPerUser), or of the user (AccountUser.MaxRunningJobs).
	MaxJobs *int `json:"max_jobs,omitempty"`
	// MaxGPUsPerUser is MaxTRESPerUser=gres/gpu=N on an account.
	MaxGPUsPerUser *int `json:"max_gpus_per_user,omitempty"`
	// MaxSubmitJobs: pending and running jobs of each user of an account,
	// or of the user.
	MaxSubmitJobs *int `json:"max_submit_jobs,omitempty"`
	// Guarantees sets an account's guaranteed GPUs per partition (Fairway's
	// Guarantee=PARTITION:N); 0 removes a partition's guarantee. Others are kept.
	Guarantees map[string]int `json:"guarantees,omitempty"`
	// QOS and DefaultQOS of an account.
	QOS        *[]string `json:"qos,omitempty"`
	DefaultQOS *string   `json:"default_qos,omitempty"`
	// Description and Organization of an account.
	Description  *string `json:"description,omitempty"`
	Organization *string `json:"organization,omitempty"`
	// DefaultAccount of a user: one of its associations.
	DefaultAccount *string `json:"default_account,omitempty"`
	// Priority, PreemptMode and GraceSecs of a QOS.
	Priority    *int         `json:"priority,omitempty"`
	PreemptMode *PreemptMode `json:"preempt_mode,omitempty"`
	GraceSecs   *int         `json:"grace_secs,omitempty"`
}

// AssocRequest is one sacctmgr change (POST /v1/assoc). An add creates
// the Accounts, Users and QOS given; a modify changes what Where selects of
// Entity with Set; a delete removes it. Either all of it applies or none.
type AssocRequest struct {
	Op     string `json:"op"`               // AssocAdd, AssocModify, AssocDelete
	Entity string `json:"entity,omitempty"` // modify, delete: EntityAccount, EntityUser, EntityQOS
	// Accounts, Users and QOS are what an add creates. An account's Users
	// must be empty: users are added as Users.
	Accounts []Account   `json:"accounts,omitempty"`
	Users    []UserAssoc `json:"users,omitempty"`
	QOS      []QOS       `json:"qos,omitempty"`
	Where    AssocFilter `json:"where,omitzero"`
	Set      AssocSet    `json:"set,omitzero"`
	// DryRun checks the change and reports what it would do without
	// committing it (sacctmgr's question before it commits).
	DryRun bool `json:"dry_run,omitempty"`
}

// AssocResult is what a change did (or, dry, would do): the accounts,
// associations and QOS it added, modified or deleted, sorted.
type AssocResult struct {
	Index    uint64      `json:"index,omitempty"`
	DryRun   bool        `json:"dry_run,omitempty"`
	Accounts []string    `json:"accounts,omitempty"`
	Users    []UserAssoc `json:"users,omitempty"`
	QOS      []string    `json:"qos,omitempty"`
}

// Empty reports whether the change touched nothing.
func (r *AssocResult) Empty() bool {
	return len(r.Accounts) == 0 && len(r.Users) == 0 && len(r.QOS) == 0
}

// ActiveAssocJobs counts pending and running jobs, for the checks of
// deletes and of submission limits.
type ActiveAssocJobs struct {
	Accounts map[string]int // by account
	Users    map[string]int // by AssocKey(account, user)
	QOS      map[string]int // by QOS name
}

// CountActiveJobs counts the PENDING and RUNNING jobs among jobs; a job
// array's record counts once per task not yet started.
func CountActiveJobs(jobs []*Job) ActiveAssocJobs {
	c := ActiveAssocJobs{Accounts: map[string]int{}, Users: map[string]int{}, QOS: map[string]int{}}
	for _, j := range jobs {
		if j.State != JobPending && j.State != JobRunning {
			continue
		}
		n := 1
		if j.IsArrayRecord() {
			n = max(len(j.ArrayPending), 1)
		}
		c.Add(j.Spec.Account, j.Spec.User, j.Spec.QOS, n)
	}
	return c
}

// Add counts n jobs of a user in an account under a QOS.
func (c *ActiveAssocJobs) Add(account, user, qos string, n int) {
	c.Accounts[account] += n
	c.Users[AssocKey(account, user)] += n
	c.QOS[cmp.Or(qos, DefaultQOS)] += n
}

// ApplyAssoc returns cfg with the change req applied, and what changed;
// cfg itself is not modified. The result is checked as SetConfig checks a
// configuration (ValidateConfig), after checks that name sacctmgr's
// options: unknown parents and accounts, cycles, negative shares and
// limits, unknown QOS and partitions, accounts with sub-accounts, and
// accounts, associations or QOS with active jobs. Errors are
// *FieldError values.
func ApplyAssoc(cfg *ClusterConfig, req *AssocRequest, active ActiveAssocJobs) (ClusterConfig, AssocResult, error) {
	out := cloneAssocConfig(cfg)
	var res AssocResult
	var err *FieldError
	switch req.Op {
	case AssocAdd:
		err = assocAdd(&out, req, &res)
	case AssocModify:
		err = assocModify(&out, req, &res)
	case AssocDelete:
		err = assocDelete(&out, req, &res, active)
	default:
		err = fieldErr("op", req.Op, "must be add, modify or delete")
	}
	if err != nil {
		return ClusterConfig{}, AssocResult{}, err
	}
	if err := ValidateConfig(&out); err != nil {
		return ClusterConfig{}, AssocResult{}, fmt.Errorf("the configuration after the change: %w", err)
	}
	slices.Sort(res.Accounts)
	slices.Sort(res.QOS)
	slices.SortFunc(res.Users, func(a, b UserAssoc) int {
		return cmp.Or(cmp.Compare(a.User.Name, b.User.Name), cmp.Compare(a.Account, b.Account))
	})
	return out, res, nil
}

// cloneAssocConfig copies cfg deeply enough that changing its accounts
// and QOS does not change cfg.
func cloneAssocConfig(cfg *ClusterConfig) ClusterConfig {
	out := *cfg
	out.Accounts = make([]Account, len(cfg.Accounts))
	for i, a := range cfg.Accounts {
		a.Guarantees = maps.Clone(a.Guarantees)
		a.Users = slices.Clone(a.Users)
		a.Coordinators = slices.Clone(a.Coordinators)
		a.QOS = slices.Clone(a.QOS)
		out.Accounts[i] = a
	}
	out.QOS = slices.Clone(cfg.QOS)
	return out
}

func (c *ClusterConfig) accountIndex(name string) int {
	return slices.IndexFunc(c.Accounts, func(a Account) bool { return a.Name == name })
}

func (c *ClusterConfig) qosIndex(name string) int {
	return slices.IndexFunc(c.QOS, func(q QOS) bool { return q.Name == name })
}

// knownQOS reports whether name is a QOS of c (normal always is).
func (c *ClusterConfig) knownQOS(name string) bool {
	return name == DefaultQOS || c.qosIndex(name) >= 0
}

func assocAdd(cfg *ClusterConfig, req *AssocRequest, res *AssocResult) *FieldError {
	if len(req.Accounts)+len(req.Users)+len(req.QOS) == 0 {
		return fieldErr("add", "", "nothing to add: give accounts, users or QOS")
	}
	for _, q := range req.QOS {
		switch {
		case !nameRE().MatchString(q.Name):
			return fieldErr("Name", q.Name, "must be a QOS name of letters, digits and . _ @ -")
		case cfg.knownQOS(q.Name):
			return fieldErr("Name", q.Name, "QOS %s already exists", q.Name)
		}
		cfg.QOS = append(cfg.QOS, q)
		res.QOS = append(res.QOS, q.Name)
	}
	for _, a := range req.Accounts {
		switch {
		case !nameRE().MatchString(a.Name) || a.Name == RootAccount:
			return fieldErr("Name", a.Name, "must be an account name of letters, digits and . _ @ - other than root")
		case cfg.accountIndex(a.Name) >= 0:
			return fieldErr("Name", a.Name, "account %s already exists", a.Name)
		case len(a.Users) > 0:
			return fieldErr("Users", a.Name, "add users with sacctmgr add user NAME Account=%s", a.Name)
		}
		cfg.Accounts = append(cfg.Accounts, a)
		res.Accounts = append(res.Accounts, a.Name)
	}
	// Accounts are checked once all are added: a parent may be added with its child.
	for _, a := range req.Accounts {
		if err := checkAccountSettings(cfg, cfg.Accounts[cfg.accountIndex(a.Name)]); err != nil {
			return err
		}
	}
	for _, ua := range req.Users {
		u := ua.User
		i := cfg.accountIndex(ua.Account)
		switch {
		case u.Name == "" || strings.ContainsAny(u.Name, "/:@ \t\x00\n"):
			return fieldErr("Name", u.Name, "must be a user name")
		case ua.Account == "":
			return fieldErr("Account", "", "a user is added to an account: give Account=NAME")
		case i < 0:
			return fieldErr("Account", ua.Account, "no such account")
		case slices.ContainsFunc(cfg.Accounts[i].Users, func(x AccountUser) bool { return x.Name == u.Name }):
			return fieldErr("Name", u.Name, "user %s is already associated with account %s", u.Name, ua.Account)
		}
		if err := checkUserSettings(u); err != nil {
			return err
		}
		if u.Default {
			clearDefault(cfg, u.Name)
		}
		cfg.Accounts[i].Users = append(cfg.Accounts[i].Users, u)
		res.Users = append(res.Users, ua)
	}
	return nil
}

// clearDefault makes none of user's associations the default.
func clearDefault(cfg *ClusterConfig, user string) {
	for i := range cfg.Accounts {
		for j := range cfg.Accounts[i].Users {
			if cfg.Accounts[i].Users[j].Name == user {
				cfg.Accounts[i].Users[j].Default = false
			}
		}
	}
}

// checkAccountSettings checks an account's values with sacctmgr's names.
func checkAccountSettings(cfg *ClusterConfig, a Account) *FieldError {
	switch {
	case a.Shares < 0:
		return fieldErr("Fairshare", itoa(a.Shares), "must be 0 or more (or parent)")
	case a.MaxRunningJobs < 0:
		return fieldErr("GrpJobs", itoa(a.MaxRunningJobs), "must be 0 or more, or -1 for no limit")
	case a.MaxGPUs < 0:
		return fieldErr("GrpTRES", "gres/gpu="+itoa(a.MaxGPUs), "must be 0 or more, or -1 for no limit")
	case a.MaxRunningJobsPerUser < 0:
		return fieldErr("MaxJobs", itoa(a.MaxRunningJobsPerUser), "must be 0 or more, or -1 for no limit")
	case a.MaxGPUsPerUser < 0:
		return fieldErr("MaxTRESPerUser", "gres/gpu="+itoa(a.MaxGPUsPerUser), "must be 0 or more, or -1 for no limit")
	case a.MaxSubmitJobsPerUser < 0:
		return fieldErr("MaxSubmitJobs", itoa(a.MaxSubmitJobsPerUser), "must be 0 or more, or -1 for no limit")
	}
	if p := cmp.Or(a.Parent, RootAccount); p != RootAccount {
		if cfg.accountIndex(p) < 0 {
			return fieldErr("Parent", p, "no such account")
		}
		// Walk up from the parent; meeting the account again is a cycle.
		for cur, steps := p, 0; cur != RootAccount; steps++ {
			if cur == a.Name || steps > len(cfg.Accounts) {
				return fieldErr("Parent", p, "account %s would be its own ancestor (a cycle)", a.Name)
			}
			i := cfg.accountIndex(cur)
			if i < 0 {
				break
			}
			cur = cmp.Or(cfg.Accounts[i].Parent, RootAccount)
		}
	}
	for _, part := range slices.Sorted(maps.Keys(a.Guarantees)) {
		if _, ok := cfg.Partition(part); !ok {
			return fieldErr("Guarantee", part, "no such partition; known partitions: %s", knownPartitions(cfg))
		}
		if n := a.Guarantees[part]; n < 0 {
			return fieldErr("Guarantee", part+":"+itoa(n), "guaranteed GPUs must be 0 or more")
		}
	}
	for _, q := range a.QOS {
		if !cfg.knownQOS(q) {
			return fieldErr("QOS", q, "no such QOS")
		}
	}
	if a.DefaultQOS != "" {
		switch {
		case !cfg.knownQOS(a.DefaultQOS):
			return fieldErr("DefaultQOS", a.DefaultQOS, "no such QOS")
		case len(a.QOS) > 0 && !slices.Contains(a.QOS, a.DefaultQOS):
			return fieldErr("DefaultQOS", a.DefaultQOS, "must be one of the account's QOS (%s)", strings.Join(a.QOS, ","))
		}
	}
	return nil
}

// checkUserSettings checks an association's values with sacctmgr's names.
func checkUserSettings(u AccountUser) *FieldError {
	switch {
	case u.Shares < 0:
		return fieldErr("Fairshare", itoa(u.Shares), "must be 0 or more (or parent)")
	case u.MaxRunningJobs < 0:
		return fieldErr("MaxJobs", itoa(u.MaxRunningJobs), "must be 0 or more, or -1 for no limit")
	case u.MaxGPUs < 0:
		return fieldErr("GrpTRES", "gres/gpu="+itoa(u.MaxGPUs), "must be 0 or more, or -1 for no limit")
	case u.MaxSubmitJobs < 0:
		return fieldErr("MaxSubmitJobs", itoa(u.MaxSubmitJobs), "must be 0 or more, or -1 for no limit")
	}
	return nil
}

// selectAccounts returns the indices of the accounts the filter selects.
func selectAccounts(cfg *ClusterConfig, w AssocFilter) ([]int, *FieldError) {
	if len(w.Accounts) > 0 {
		return nil, fieldErr("Account", strings.Join(w.Accounts, ","), "select accounts with Name=")
	}
	for _, n := range w.Names {
		if n == RootAccount {
			return nil, fieldErr("Name", n, "the root account cannot be changed")
		}
	}
	var out []int
	for i, a := range cfg.Accounts {
		if (len(w.Names) == 0 || slices.Contains(w.Names, a.Name)) &&
			(len(w.Parents) == 0 || slices.Contains(w.Parents, cmp.Or(a.Parent, RootAccount))) {
			out = append(out, i)
		}
	}
	return out, nil
}

// selectUsers returns the (account, user) indices of the associations the
// filter selects.
func selectUsers(cfg *ClusterConfig, w AssocFilter) ([][2]int, *FieldError) {
	if len(w.Parents) > 0 {
		return nil, fieldErr("Parent", strings.Join(w.Parents, ","), "users have no parent: select them with Name= and Account=")
	}
	for _, a := range w.Accounts {
		if a != RootAccount && cfg.accountIndex(a) < 0 {
			return nil, fieldErr("Account", a, "no such account")
		}
	}
	var out [][2]int
	for i, a := range cfg.Accounts {
		if len(w.Accounts) > 0 && !slices.Contains(w.Accounts, a.Name) {
			continue
		}
		for j, u := range a.Users {
			if len(w.Names) == 0 || slices.Contains(w.Names, u.Name) {
				out = append(out, [2]int{i, j})
			}
		}
	}
	return out, nil
}

// selectQOS returns the indices of the QOS the filter selects.
func selectQOS(cfg *ClusterConfig, w AssocFilter) ([]int, *FieldError) {
	if len(w.Accounts) > 0 || len(w.Parents) > 0 {
		return nil, fieldErr("where", "", "select QOS with Name=")
	}
	var out []int
	for i, q := range cfg.QOS {
		if len(w.Names) == 0 || slices.Contains(w.Names, q.Name) {
			out = append(out, i)
		}
	}
	return out, nil
}

// notFor refuses a set option that does not apply to the entity.
func notFor(entity string, set AssocSet, names ...string) *FieldError {
	has := map[string]bool{
		"Fairshare": set.Fairshare != nil || set.FairshareParent != nil, "Parent": set.Parent != nil,
		"GrpJobs": set.GrpJobs != nil, "GrpTRES": set.GrpGPUs != nil, "MaxJobs": set.MaxJobs != nil,
		"MaxTRESPerUser": set.MaxGPUsPerUser != nil, "MaxSubmitJobs": set.MaxSubmitJobs != nil,
		"Guarantee": set.Guarantees != nil, "QOS": set.QOS != nil, "DefaultQOS": set.DefaultQOS != nil,
		"Description": set.Description != nil, "Organization": set.Organization != nil,
		"DefaultAccount": set.DefaultAccount != nil, "Priority": set.Priority != nil,
		"PreemptMode": set.PreemptMode != nil, "GraceTime": set.GraceSecs != nil,
	}
	for _, n := range names {
		if has[n] {
			return fieldErr(n, "", "cannot be set on a %s", entity)
		}
	}
	return nil
}

func assocModify(cfg *ClusterConfig, req *AssocRequest, res *AssocResult) *FieldError {
	if req.Where.empty() {
		return fieldErr("where", "", "a modify needs a where clause such as where Name=NAME")
	}
	set := req.Set
	switch req.Entity {
	case EntityAccount:
		if err := notFor("account", set, "DefaultAccount", "Priority", "PreemptMode", "GraceTime"); err != nil {
			return err
		}
		idx, err := selectAccounts(cfg, req.Where)
		if err != nil {
			return err
		}
		for _, i := range idx {
			a := &cfg.Accounts[i]
			setInt(&a.Shares, set.Fairshare)
			if set.FairshareParent != nil {
				a.SharesParent = *set.FairshareParent
			}
			if set.Parent != nil {
				a.Parent = *set.Parent
				if a.Parent == RootAccount {
					a.Parent = ""
				}
			}
			setInt(&a.MaxRunningJobs, set.GrpJobs)
			setInt(&a.MaxGPUs, set.GrpGPUs)
			setInt(&a.MaxRunningJobsPerUser, set.MaxJobs)
			setInt(&a.MaxGPUsPerUser, set.MaxGPUsPerUser)
			setInt(&a.MaxSubmitJobsPerUser, set.MaxSubmitJobs)
			if set.Guarantees != nil {
				if a.Guarantees == nil {
					a.Guarantees = map[string]int{}
				}
				for p, n := range set.Guarantees {
					a.Guarantees[p] = n
				}
			}
			if set.QOS != nil {
				a.QOS = slices.Clone(*set.QOS)
			}
			setStr(&a.DefaultQOS, set.DefaultQOS)
			setStr(&a.Description, set.Description)
			setStr(&a.Organization, set.Organization)
			res.Accounts = append(res.Accounts, a.Name)
		}
		for _, i := range idx {
			if err := checkAccountSettings(cfg, cfg.Accounts[i]); err != nil {
				return err
			}
			for p, n := range cfg.Accounts[i].Guarantees {
				if n == 0 {
					delete(cfg.Accounts[i].Guarantees, p)
				}
			}
		}
	case EntityUser:
		if err := notFor("user", set, "Parent", "GrpJobs", "MaxTRESPerUser", "Guarantee", "QOS", "DefaultQOS",
			"Description", "Organization", "Priority", "PreemptMode", "GraceTime"); err != nil {
			return err
		}
		idx, err := selectUsers(cfg, req.Where)
		if err != nil {
			return err
		}
		for _, ij := range idx {
			u := &cfg.Accounts[ij[0]].Users[ij[1]]
			setInt(&u.Shares, set.Fairshare)
			if set.FairshareParent != nil {
				u.SharesParent = *set.FairshareParent
			}
			setInt(&u.MaxRunningJobs, set.MaxJobs)
			setInt(&u.MaxGPUs, set.GrpGPUs)
			setInt(&u.MaxSubmitJobs, set.MaxSubmitJobs)
			if err := checkUserSettings(*u); err != nil {
				return err
			}
			res.Users = append(res.Users, UserAssoc{Account: cfg.Accounts[ij[0]].Name, User: *u})
		}
		if set.DefaultAccount != nil {
			def := *set.DefaultAccount
			users := map[string]bool{}
			for _, ij := range idx {
				users[cfg.Accounts[ij[0]].Users[ij[1]].Name] = true
			}
			for _, name := range slices.Sorted(maps.Keys(users)) {
				i := cfg.accountIndex(def)
				j := -1
				if i >= 0 {
					j = slices.IndexFunc(cfg.Accounts[i].Users, func(u AccountUser) bool { return u.Name == name })
				}
				if j < 0 {
					return fieldErr("DefaultAccount", def, "user %s is not associated with account %s: add the association first", name, def)
				}
				clearDefault(cfg, name)
				cfg.Accounts[i].Users[j].Default = true
			}
		}
	case EntityQOS:
		if err := notFor("QOS", set, "Fairshare", "Parent", "GrpJobs", "GrpTRES", "MaxJobs", "MaxTRESPerUser",
			"MaxSubmitJobs", "Guarantee", "QOS", "DefaultQOS", "Description", "Organization", "DefaultAccount"); err != nil {
			return err
		}
		idx, err := selectQOS(cfg, req.Where)
		if err != nil {
			return err
		}
		for _, i := range idx {
			q := &cfg.QOS[i]
			setInt(&q.Priority, set.Priority)
			if set.PreemptMode != nil {
				q.PreemptMode = *set.PreemptMode
			}
			setInt(&q.GraceSecs, set.GraceSecs)
			switch {
			case q.Priority < 0:
				return fieldErr("Priority", itoa(q.Priority), "must be 0 or more")
			case q.GraceSecs < 0:
				return fieldErr("GraceTime", itoa(q.GraceSecs), "must be 0 or more seconds")
			}
			res.QOS = append(res.QOS, q.Name)
		}
	default:
		return fieldErr("entity", req.Entity, "must be account, user or qos")
	}
	return nil
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func setStr(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func assocDelete(cfg *ClusterConfig, req *AssocRequest, res *AssocResult, active ActiveAssocJobs) *FieldError {
	if req.Where.empty() {
		return fieldErr("where", "", "a delete needs names or a where clause such as where Name=NAME")
	}
	switch req.Entity {
	case EntityAccount:
		idx, err := selectAccounts(cfg, req.Where)
		if err != nil {
			return err
		}
		gone := map[string]bool{}
		for _, i := range idx {
			gone[cfg.Accounts[i].Name] = true
		}
		for _, i := range idx {
			a := cfg.Accounts[i]
			var kids []string
			for _, c := range cfg.Accounts {
				if c.Parent == a.Name && !gone[c.Name] {
					kids = append(kids, c.Name)
				}
			}
			switch {
			case len(kids) > 0:
				return fieldErr("Name", a.Name, "account %s has sub-accounts (%s): delete or move them first", a.Name, strings.Join(kids, ","))
			case active.Accounts[a.Name] > 0:
				return fieldErr("Name", a.Name, "account %s has %d pending or running jobs: cancel them first (Job(s) active, cancel job(s) before remove)", a.Name, active.Accounts[a.Name])
			case cfg.DefaultAccount == a.Name:
				return fieldErr("Name", a.Name, "account %s is the cluster's default account (default_account)", a.Name)
			}
			res.Accounts = append(res.Accounts, a.Name)
			for _, u := range a.Users {
				res.Users = append(res.Users, UserAssoc{Account: a.Name, User: u})
			}
		}
		cfg.Accounts = slices.DeleteFunc(cfg.Accounts, func(a Account) bool { return gone[a.Name] })
	case EntityUser:
		idx, err := selectUsers(cfg, req.Where)
		if err != nil {
			return err
		}
		gone := map[string]bool{}
		for _, ij := range idx {
			a := cfg.Accounts[ij[0]]
			u := a.Users[ij[1]]
			if n := active.Users[AssocKey(a.Name, u.Name)]; n > 0 {
				return fieldErr("Name", u.Name, "user %s has %d pending or running jobs in account %s: cancel them first (Job(s) active, cancel job(s) before remove)", u.Name, n, a.Name)
			}
			gone[AssocKey(a.Name, u.Name)] = true
			res.Users = append(res.Users, UserAssoc{Account: a.Name, User: u})
		}
		for i := range cfg.Accounts {
			name := cfg.Accounts[i].Name
			cfg.Accounts[i].Users = slices.DeleteFunc(cfg.Accounts[i].Users, func(u AccountUser) bool { return gone[AssocKey(name, u.Name)] })
			if len(cfg.Accounts[i].Users) == 0 {
				cfg.Accounts[i].Users = nil
			}
		}
	case EntityQOS:
		idx, err := selectQOS(cfg, req.Where)
		if err != nil {
			return err
		}
		gone := map[string]bool{}
		for _, i := range idx {
			q := cfg.QOS[i]
			if n := active.QOS[q.Name]; n > 0 {
				return fieldErr("Name", q.Name, "QOS %s has %d pending or running jobs: cancel them first", q.Name, n)
			}
			for _, a := range cfg.Accounts {
				if slices.Contains(a.QOS, q.Name) || a.DefaultQOS == q.Name {
					return fieldErr("Name", q.Name, "QOS %s is used by account %s: modify the account first", q.Name, a.Name)
				}
			}
			gone[q.Name] = true
			res.QOS = append(res.QOS, q.Name)
		}
		cfg.QOS = slices.DeleteFunc(cfg.QOS, func(q QOS) bool { return gone[q.Name] })
	default:
		return fieldErr("entity", req.Entity, "must be account, user or qos")
	}
	return checkDefaultsKept(cfg, res.Users)
}

// checkDefaultsKept refuses a delete that removes a user's default
// association while the user keeps others, as Slurm does.
func checkDefaultsKept(cfg *ClusterConfig, deleted []UserAssoc) *FieldError {
	for _, d := range deleted {
		if !d.User.Default {
			continue
		}
		var left []string
		for _, a := range cfg.Accounts {
			if slices.ContainsFunc(a.Users, func(u AccountUser) bool { return u.Name == d.User.Name }) {
				left = append(left, a.Name)
			}
		}
		if len(left) > 0 {
			return fieldErr("DefaultAccount", d.Account, "it is the default account of user %s, who keeps associations with %s: set DefaultAccount to one of them first (sacctmgr modify user %s set DefaultAccount=%s)",
				d.User.Name, strings.Join(left, ","), d.User.Name, left[0])
		}
	}
	return nil
}

// AccountQOS returns the QOS an account's jobs may name and its default
// QOS, from the account or its nearest ancestor that sets them; nil and ""
// when none does (any QOS, default normal).
func (c *ClusterConfig) AccountQOS(account string) (allowed []string, def string) {
	gotList := false
	for cur, steps := account, 0; cur != RootAccount && cur != "" && steps <= len(c.Accounts); steps++ {
		i := c.accountIndex(cur)
		if i < 0 {
			break
		}
		a := &c.Accounts[i]
		if !gotList && len(a.QOS) > 0 {
			allowed, gotList = a.QOS, true
		}
		if def == "" {
			def = a.DefaultQOS
		}
		cur = cmp.Or(a.Parent, RootAccount)
	}
	return allowed, def
}

// UserDefaultAccount returns the account of user's association marked
// Default, or "".
func (c *ClusterConfig) UserDefaultAccount(user string) string {
	for _, a := range c.Accounts {
		for _, u := range a.Users {
			if u.Name == user && u.Default {
				return a.Name
			}
		}
	}
	return ""
}

// SubmitLimit returns the smallest MaxSubmitJobs limit that applies to a
// user's jobs in an account (the association's, the account's per-user
// limit, and its ancestors'), and the sacctmgr name of where it is set;
// 0 when none does.
func (c *ClusterConfig) SubmitLimit(account, user string) (int, string) {
	limit, where := 0, ""
	take := func(n int, w string) {
		if n > 0 && (limit == 0 || n < limit) {
			limit, where = n, w
		}
	}
	if i := c.accountIndex(account); i >= 0 {
		for _, u := range c.Accounts[i].Users {
			if u.Name == user {
				take(u.MaxSubmitJobs, "MaxSubmitJobs of user "+user+" in account "+account)
			}
		}
	}
	for cur, steps := account, 0; cur != RootAccount && cur != "" && steps <= len(c.Accounts); steps++ {
		i := c.accountIndex(cur)
		if i < 0 {
			break
		}
		take(c.Accounts[i].MaxSubmitJobsPerUser, "MaxSubmitJobs of account "+cur)
		cur = cmp.Or(c.Accounts[i].Parent, RootAccount)
	}
	return limit, where
}
