package cli

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/sched/fairshare"
)

// getConfig serves GET /v1/config from f.cfg.
func (f *fakeCtld) getConfig(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	writeJSON(w, http.StatusOK, f.cfg)
}

// changeAssoc serves POST /v1/assoc with the controller's own function
// (api.ApplyAssoc), no jobs active; a dry run changes nothing.
func (f *fakeCtld) changeAssoc(w http.ResponseWriter, r *http.Request) {
	var req api.AssocRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assocReqs = append(f.assocReqs, req)
	cfg, res, err := api.ApplyAssoc(&f.cfg, &req, api.CountActiveJobs(f.jobs))
	if err != nil {
		var fe *api.FieldError
		field := ""
		if errors.As(err, &fe) {
			field = fe.Field
		}
		writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: err.Error(), Field: field})
		return
	}
	res.DryRun = req.DryRun
	if !req.DryRun {
		f.cfg = cfg
	}
	writeJSON(w, http.StatusOK, res)
}

// acctFixture gives the fake controller an account tree:
//
//	root > science (10 shares) > physics (5; gpu:8 guaranteed, 16 GPUs at most;
//	       users alice (default, 2 shares) and bob (Fairshare=parent))
//	root > biology (1 share, QOS high,normal default high; user carol, MaxJobs 2)
func (f *fakeCtld) acctFixture() *fakeCtld {
	f.cfg = api.ClusterConfig{
		Partitions:        []api.Partition{{Name: "gpu", Default: true}, {Name: "cpu"}},
		NodeDownAfterSecs: 60,
		Administrators:    []string{"alice"},
		QOS:               []api.QOS{{Name: "high", Priority: 10, PreemptMode: api.PreemptRequeue, GraceSecs: 120}},
		Accounts: []api.Account{
			{Name: "science", Shares: 10, Description: "science", Organization: "science"},
			{Name: "physics", Parent: "science", Shares: 5, Guarantees: map[string]int{"gpu": 8}, MaxGPUs: 16, Description: "Physics dept", Organization: "science",
				Users: []api.AccountUser{{Name: "bob", SharesParent: true}, {Name: "alice", Shares: 2, Default: true}}},
			{Name: "biology", Shares: 1, QOS: []string{"high", "normal"}, DefaultQOS: "high", Description: "biology", Organization: "biology",
				Users: []api.AccountUser{{Name: "carol", Shares: 1, MaxRunningJobs: 2, Default: true}}},
		},
	}
	return f
}

// terminal is a stdin that says it is a terminal, with the answer typed.
type terminal struct{ *strings.Reader }

func (terminal) IsTerminal() bool { return true }

// TestSacctmgrListGolden checks sacctmgr list against Slurm 22.05's layouts:
// its default fields and widths, right-justified cells with a trailing
// space, "+" on a cut value, -P/-p/-n and format=.
func TestSacctmgrListGolden(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sacctmgr", "show", "assoc"}, lines(
			"   Cluster    Account       User  Partition     Share   Priority GrpJobs       GrpTRES GrpSubmit     GrpWall   GrpTRESMins MaxJobs       MaxTRES MaxTRESPerNode MaxSubmit     MaxWall   MaxTRESMins                  QOS   Def QOS GrpTRESRunMin ",
			"---------- ---------- ---------- ---------- --------- ---------- ------- ------------- --------- ----------- ------------- ------- ------------- -------------- --------- ----------- ------------- -------------------- --------- ------------- ",
			"   fairway       root                               1                                                                                                                                                                                            ",
			"   fairway    biology                               1                                                                                                                                                        high,normal      high               ",
			"   fairway    biology      carol                    1                                                                            2                                                                           high,normal      high               ",
			"   fairway    science                              10                                                                                                                                                                                            ",
			"   fairway    physics                               5                      gres/gpu=16                                                                                                                                                           ",
			"   fairway    physics      alice                    2                                                                                                                                                                                            ",
			"   fairway    physics        bob               parent                                                                                                                                                                                            ",
		)},
		{[]string{"sacctmgr", "list", "assoc", "-P", "format=Account,User,Share,GrpTRES,MaxJobs,Guarantee,ParentName"}, lines(
			"Account|User|Share|GrpTRES|MaxJobs|Guarantee|Par Name",
			"root||1||||",
			"biology||1||||root",
			"biology|carol|1||2||",
			"science||10||||root",
			"physics||5|gres/gpu=16||gpu:8|science",
			"physics|alice|2||||",
			"physics|bob|parent||||",
		)},
		{[]string{"sacctmgr", "-n", "-p", "list", "assoc", "where", "user=alice,carol", "format=acc,user%-6,share"}, lines(
			"biology|carol|1|",
			"physics|alice|2|",
		)},
		{[]string{"sacctmgr", "list", "assoc", "account=physics", "format=Account%-5,User,Share%3"}, lines(
			"Accou       User Sha ",
			"----- ---------- --- ",
			"phys+              5 ",
			"phys+      alice   2 ",
			"phys+        bob pa+ ",
		)},
		{[]string{"sacctmgr", "show", "assoc", "tree", "format=Account,User,Share"}, lines(
			"Account                    User     Share ",
			"-------------------- ---------- --------- ",
			"root                                    1 ",
			" biology                                1 ",
			"  biology                 carol         1 ",
			" science                               10 ",
			"  physics                               5 ",
			"   physics                alice         2 ",
			"   physics                  bob    parent ",
		)},
		{[]string{"sacctmgr", "list", "account"}, lines(
			"   Account                Descr                  Org ",
			"---------- -------------------- -------------------- ",
			"   biology              biology              biology ",
			"   physics         Physics dept              science ",
			"      root default root account                 root ",
			"   science              science              science ",
		)},
		{[]string{"sacctmgr", "show", "user"}, lines(
			"      User   Def Acct     Admin ",
			"---------- ---------- --------- ",
			"     alice    physics Administ+ ",
			"       bob                 None ",
			"     carol    biology      None ",
		)},
		{[]string{"sacctmgr", "-P", "list", "qos", "format=Name,Priority,GraceTime,PreemptMode,UsageFactor"}, lines(
			"Name|Priority|GraceTime|PreemptMode|UsageFactor",
			"normal|0|00:00:00|cluster|1.000000",
			"high|10|00:02:00|requeue|1.000000",
		)},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := newFakeCtld(t).acctFixture()
			te := &testEnv{}
			if code := te.run(t, f, tt.args...); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
			}
			if diff := cmp.Diff(tt.want, te.stdout.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSacctmgrChanges checks sacctmgr's messages for each change and what
// it sends, as Slurm prints them; without -i and with stdin not a terminal
// it commits as Slurm's does.
func TestSacctmgrChanges(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin *terminal
		want  string
		// check looks at the configuration after the command.
		check func(t *testing.T, cfg *api.ClusterConfig)
	}{
		{"add account", []string{"sacctmgr", "-i", "add", "account", "chem", "Parent=science", "Fairshare=3", "Description=Chemistry", "GrpTRES=gres/gpu=4", "Guarantee=gpu:2"}, nil, lines(
			" Adding Account(s)",
			"  chem",
			" Settings",
			"  Description     = Chemistry",
			"  Organization    = science",
			" Associations",
			"  A = chem       C = fairway   ",
			" Settings",
			"  Fairshare     = 3",
			"  GrpTRES       = gres/gpu=4",
			"  Guarantee     = gpu:2",
			"  Parent        = science",
		), func(t *testing.T, cfg *api.ClusterConfig) {
			want := api.Account{Name: "chem", Parent: "science", Shares: 3, MaxGPUs: 4, Guarantees: map[string]int{"gpu": 2}, Description: "Chemistry", Organization: "science"}
			if diff := cmp.Diff(want, cfg.Accounts[3]); diff != "" {
				t.Errorf("new account (-want +got):\n%s", diff)
			}
		}},
		{"add user, stdin not a terminal", []string{"sacctmgr", "add", "user", "dave", "Account=biology,physics", "DefaultAccount=physics", "MaxJobs=3"}, nil, lines(
			" Adding User(s)",
			"  dave",
			" Settings =",
			"  Default Account = physics",
			" Associations =",
			"  U = dave      A = biology    C = fairway   ",
			"  U = dave      A = physics    C = fairway   ",
			" Non Default Settings",
			"  MaxJobs       = 3",
		), func(t *testing.T, cfg *api.ClusterConfig) {
			if got := cfg.UserDefaultAccount("dave"); got != "physics" {
				t.Errorf("dave's default account %q, want physics", got)
			}
		}},
		{"modify, answered yes", []string{"sacctmgr", "modify", "user", "where", "name=carol", "account=biology", "set", "MaxJobs=-1", "GrpTRES=gres/gpu=2", "Fairshare=7"}, &terminal{strings.NewReader("y\n")}, lines(
			" Modified user associations...",
			"  C = fairway    A = biology    U = carol    ",
			"Would you like to commit changes? (You have 30 seconds to decide)",
		) + "(N/y): ", func(t *testing.T, cfg *api.ClusterConfig) {
			want := []api.AccountUser{{Name: "carol", Shares: 7, MaxGPUs: 2, Default: true}}
			if diff := cmp.Diff(want, cfg.Accounts[2].Users); diff != "" {
				t.Errorf("carol (-want +got):\n%s", diff)
			}
		}},
		{"modify, answered no", []string{"sacctmgr", "modify", "account", "physics", "set", "Parent=biology"}, &terminal{strings.NewReader("n\n")}, lines(
			" Modified account associations...",
			"  C = fairway    A = physics              of science",
			"Would you like to commit changes? (You have 30 seconds to decide)",
			"(N/y):  Changes Discarded",
		), func(t *testing.T, cfg *api.ClusterConfig) {
			if cfg.Accounts[1].Parent != "science" {
				t.Errorf("physics moved under %q although the answer was no", cfg.Accounts[1].Parent)
			}
		}},
		{"delete a user's association", []string{"sacctmgr", "-i", "delete", "user", "where", "name=bob", "account=physics"}, nil, lines(
			" Deleting user associations...",
			"  C = fairway    A = physics    U = bob      ",
		), func(t *testing.T, cfg *api.ClusterConfig) {
			if len(cfg.Accounts[1].Users) != 1 {
				t.Errorf("physics users %v, want alice only", cfg.Accounts[1].Users)
			}
		}},
		{"add qos", []string{"sacctmgr", "-i", "add", "qos", "low", "Priority=1", "PreemptMode=cancel", "GraceTime=30"}, nil, lines(
			" Adding QOS(s)",
			"  low",
			" Settings",
			"  Description   = low",
			"  Priority      = 1",
			"  PreemptMode   = cancel",
			"  GraceTime     = 00:00:30",
		), func(t *testing.T, cfg *api.ClusterConfig) {
			if diff := cmp.Diff(api.QOS{Name: "low", Priority: 1, PreemptMode: api.PreemptCancel, GraceSecs: 30}, cfg.QOS[1]); diff != "" {
				t.Errorf("new QOS (-want +got):\n%s", diff)
			}
		}},
		{"delete account", []string{"sacctmgr", "-i", "delete", "account", "biology"}, nil, lines(
			" Deleting accounts...",
			"  biology",
		), func(t *testing.T, cfg *api.ClusterConfig) {
			if len(cfg.Accounts) != 2 {
				t.Errorf("%d accounts left, want 2", len(cfg.Accounts))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCtld(t).acctFixture()
			te := &testEnv{}
			var code int
			if tt.stdin != nil {
				code = te.runStdin(t, f, tt.stdin, tt.args...)
			} else {
				code = te.run(t, f, tt.args...)
			}
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
			}
			if diff := cmp.Diff(tt.want, te.stdout.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			tt.check(t, &f.cfg)
		})
	}
}

// runStdin runs a command with stdin as given.
func (te *testEnv) runStdin(t *testing.T, f *fakeCtld, stdin *terminal, args ...string) int {
	t.Helper()
	if te.vars == nil {
		te.vars = map[string]string{}
	}
	te.vars["FAIRWAY_ADDR"] = f.srv.URL
	te.stdout.Reset()
	te.stderr.Reset()
	env := te.env()
	env.Stdin = stdin
	return Run(t.Context(), env, append([]string{"/usr/bin/" + args[0]}, args[1:]...))
}

// TestSacctmgrErrors: bad input is refused with a message naming the
// option, before anything is sent, or by the controller's checks.
func TestSacctmgrErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sacctmgr", "-i", "add", "account", "chem", "Colour=red"}, `sacctmgr: error: invalid Colour "red": unknown option for account` + "\n"},
		{[]string{"sacctmgr", "-i", "modify", "user", "bob", "set", "GrpTRES=cpu=4"}, `sacctmgr: error: invalid GrpTRES "cpu=4": Fairway limits GPUs only: use gres/gpu=N (-1 for no limit)` + "\n"},
		{[]string{"sacctmgr", "-i", "modify", "account", "physics", "set", "Fairshare=-3"}, `sacctmgr: error: invalid Fairshare "-3": must be a number of shares, 0 or more, or parent` + "\n"},
		{[]string{"sacctmgr", "-i", "modify", "account", "science", "set", "Parent=physics"}, `sacctmgr: error: invalid Parent "physics": account science would be its own ancestor (a cycle)` + "\n"},
		{[]string{"sacctmgr", "-i", "add", "account", "chem", "Parent=nosuch"}, `sacctmgr: error: invalid Parent "nosuch": no such account` + "\n"},
		{[]string{"sacctmgr", "-i", "delete", "account", "science"}, `sacctmgr: error: invalid Name "science": account science has sub-accounts (physics): delete or move them first` + "\n"},
		{[]string{"sacctmgr", "-i", "modify", "account", "biology", "set", "QOS=gold"}, `sacctmgr: error: invalid QOS "gold": no such QOS` + "\n"},
		{[]string{"sacctmgr", "-i", "add", "user", "erin"}, `sacctmgr: error: invalid Account "": a user is added to an account: give Account=NAME (or DefaultAccount=NAME)` + "\n"},
		{[]string{"sacctmgr", "-i", "modify", "user", "where", "name=nobody", "set", "MaxJobs=1"}, ""},
		{[]string{"sacctmgr", "frobnicate", "account"}, `sacctmgr: error: invalid command "frobnicate": unknown command; use add, create, modify, delete, list or show` + "\n"},
		{[]string{"sacctmgr", "list", "assoc", "format=Account,Colour"}, `sacctmgr: error: invalid format "Colour": unknown field; fields are Cluster, Account, User, Partition, Share, Priority, GrpJobs, GrpTRES, GrpSubmit, GrpWall, GrpTRESMins, MaxJobs, MaxTRES, MaxTRESPerNode, MaxSubmit, MaxWall, MaxTRESMins, QOS, DefaultQOS, GrpTRESRunMins, ParentName, Guarantee, MaxTRESPU, Descr, Org, DefaultAccount, AdminLevel` + "\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := newFakeCtld(t).acctFixture()
			before := f.cfg
			te := &testEnv{}
			if code := te.run(t, f, tt.args...); code != 1 {
				t.Errorf("exit %d, want 1 (stdout %q)", code, te.stdout.String())
			}
			if tt.want != "" {
				if diff := cmp.Diff(tt.want, te.stderr.String()); diff != "" {
					t.Errorf("stderr (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(before, f.cfg); diff != "" {
				t.Errorf("a refused command changed the configuration (-before +after):\n%s", diff)
			}
		})
	}
}

// TestSacctmgrDevNull: /dev/null is a character device but no terminal:
// sacctmgr commits without asking, as with a pipe.
func TestSacctmgrDevNull(t *testing.T) {
	f := newFakeCtld(t).acctFixture()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	te := &testEnv{vars: map[string]string{"FAIRWAY_ADDR": f.srv.URL}}
	env := te.env()
	env.Stdin = null
	if code := Run(t.Context(), env, []string{"sacctmgr", "modify", "account", "physics", "set", "GrpJobs=4"}); code != 0 {
		t.Fatalf("exit %d: %s", code, te.stderr.String())
	}
	if strings.Contains(te.stdout.String(), "Would you like") || f.cfg.Accounts[1].MaxRunningJobs != 4 {
		t.Errorf("stdout %q, GrpJobs %d: want no question and the change committed", te.stdout.String(), f.cfg.Accounts[1].MaxRunningJobs)
	}
}

// TestSacctmgrNothing: a change that selects nothing says so (exit 1).
func TestSacctmgrNothing(t *testing.T) {
	f := newFakeCtld(t).acctFixture()
	te := &testEnv{}
	if code := te.run(t, f, "sacctmgr", "-i", "modify", "user", "where", "name=nobody", "set", "MaxJobs=1"); code != 1 || te.stdout.String() != " Nothing modified\n" {
		t.Errorf("exit %d, stdout %q, want 1 and \" Nothing modified\"", code, te.stdout.String())
	}
}

// TestSacctmgrAgreesWithSshare: sacctmgr show assoc and sshare list the
// same associations with the same raw shares, the tree computed as the
// controller computes it (fairshare.NewTree).
func TestSacctmgrAgreesWithSshare(t *testing.T) {
	f := newFakeCtld(t).acctFixture()
	te := &testEnv{}
	for _, args := range [][]string{
		{"sacctmgr", "-i", "add", "account", "chem", "Parent=science", "Fairshare=4"},
		{"sacctmgr", "-i", "add", "user", "erin", "Account=chem", "Fairshare=9"},
		{"sacctmgr", "-i", "modify", "account", "biology", "set", "Parent=science", "Fairshare=parent"},
	} {
		if code := te.run(t, f, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, te.stderr.String())
		}
	}
	tree, err := fairshare.NewTree(f.cfg.Accounts, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows []api.ShareRow
	for _, r := range tree.Rows(api.FairShareFairTree, nil) {
		rows = append(rows, api.ShareRow{Account: r.Account, User: r.User, RawShares: r.RawShares, SharesParent: r.Parent})
	}
	f.shares = api.SharesResponse{Index: 1, Algorithm: api.FairShareFairTree, Rows: rows}

	if code := te.run(t, f, "sacctmgr", "-n", "-P", "show", "assoc", "format=Account,User,Share"); code != 0 {
		t.Fatalf("sacctmgr: exit %d: %s", code, te.stderr.String())
	}
	assoc := te.stdout.String()
	if code := te.run(t, f, "sshare", "-a", "-n", "-P", "-o", "Account,User,RawShares"); code != 0 {
		t.Fatalf("sshare: exit %d: %s", code, te.stderr.String())
	}
	var share []string
	for _, l := range strings.Split(strings.TrimSuffix(te.stdout.String(), "\n"), "\n") {
		share = append(share, strings.TrimLeft(l, " "))
	}
	// sshare prints the root's RawShares blank; sacctmgr prints Slurm's 1.
	share[0] = strings.TrimSuffix(share[0], "|") + "|1"
	if diff := cmp.Diff(strings.Join(share, "\n")+"\n", assoc); diff != "" {
		t.Errorf("sshare (-) and sacctmgr show assoc (+) disagree:\n%s", diff)
	}
}

// FuzzSacctmgrArgs: any command line parses to a request or an error,
// never a panic, and a request is one the controller's function accepts
// or refuses with an error (never a panic either).
func FuzzSacctmgrArgs(f *testing.F) {
	for _, s := range []string{
		"add account chem Parent=science Fairshare=3 GrpTRES=gres/gpu=4 Guarantee=gpu:2",
		"add user dave Account=biology,physics DefaultAccount=physics MaxJobs=3",
		"modify user where name=carol account=biology set MaxJobs=-1 GrpTRES=gres/gpu=2 Fairshare=parent",
		"modify account physics set Parent=biology QOS=high,normal DefaultQOS=high",
		"delete account where name=chem",
		"add qos low Priority=1 PreemptMode=cancel GraceTime=00:01:00",
		"list assoc where user=alice format=Account,User%-6,Share",
	} {
		f.Add(s)
	}
	cfg := newFakeCtldCfg()
	f.Fuzz(func(t *testing.T, line string) {
		a, err := parseSacctmgrArgs(strings.Fields(line))
		if err != nil || a.verb == "list" {
			return
		}
		req, err := assocRequest(a, &cfg)
		if err != nil {
			return
		}
		if _, _, err := api.ApplyAssoc(&cfg, req, api.ActiveAssocJobs{}); err == nil && req.Op == "" {
			t.Fatalf("%q: an empty operation was accepted", line)
		}
	})
}

// newFakeCtldCfg is acctFixture's configuration.
func newFakeCtldCfg() api.ClusterConfig {
	var f fakeCtld
	return f.acctFixture().cfg
}
