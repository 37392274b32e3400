package raftstore

import (
	"fmt"

	"github.com/fairway-hpc/fairway/api"
)

// Command types of sacctmgr's changes. Never renumber (see commandType).
const (
	cmdAddAssociations    commandType = 21
	cmdModifyAssociations commandType = 22
	cmdDeleteAssociations commandType = 23
)

// AddAssociations adds accounts, users' associations with accounts and QOS
// to the configuration (sacctmgr add), all or none. The result is checked
// against the configuration it makes (api.ApplyAssoc: existing names,
// unknown parents, accounts, partitions and QOS, cycles, negative shares
// and limits, then api.ValidateConfig); a refused change is an
// *api.FieldError naming sacctmgr's option and changes nothing. Its result
// (ApplyResult.Assoc) lists what it added.
type AddAssociations struct {
	Accounts []api.Account   `json:"accounts,omitempty"`
	Users    []api.UserAssoc `json:"users,omitempty"`
	QOS      []api.QOS       `json:"qos,omitempty"`
}

// ModifyAssociations changes the accounts, associations or QOS (Entity:
// api.EntityAccount, EntityUser, EntityQOS) that Where selects with Set
// (sacctmgr modify ... where ... set ...), all or none, checked as
// AddAssociations is. Its result lists what it modified (nothing when
// Where selects nothing).
type ModifyAssociations struct {
	Entity string          `json:"entity"`
	Where  api.AssocFilter `json:"where"`
	Set    api.AssocSet    `json:"set"`
}

// DeleteAssociations removes the accounts (with their users'
// associations), associations or QOS that Where selects (sacctmgr
// delete), all or none. An account with sub-accounts, an account,
// association or QOS with pending or running jobs, the cluster's default
// account and a QOS an account uses are refused with an *api.FieldError.
// Its result lists what it deleted.
type DeleteAssociations struct {
	Entity string          `json:"entity"`
	Where  api.AssocFilter `json:"where"`
}

func (AddAssociations) commandType() commandType    { return cmdAddAssociations }
func (ModifyAssociations) commandType() commandType { return cmdModifyAssociations }
func (DeleteAssociations) commandType() commandType { return cmdDeleteAssociations }

// activeAssocJobs counts the pending and running jobs by account,
// association and QOS.
func activeAssocJobs(w *writer) api.ActiveAssocJobs {
	jobs := append(jobsInState(w.txn, api.JobPending), jobsInState(w.txn, api.JobRunning)...)
	return api.CountActiveJobs(jobs)
}

// changeAssociations applies an association change to the configuration.
func (w *writer) changeAssociations(req api.AssocRequest) (*api.AssocResult, error) {
	m := *w.meta()
	cfg, res, err := api.ApplyAssoc(&m.Config, &req, activeAssocJobs(w))
	if err != nil {
		return nil, err
	}
	m.Config = cfg
	if err := w.put(tableMeta, &m); err != nil {
		return nil, fmt.Errorf("%s associations: %w", req.Op, err)
	}
	return &res, nil
}

// checkSubmitLimit refuses a job beyond a MaxSubmitJobs limit of its
// user's association or account: active counts the jobs already pending
// or running (including those of the same submission before it).
func checkSubmitLimit(cfg *api.ClusterConfig, spec *api.JobSpec, active *api.ActiveAssocJobs, n int) error {
	limit, where := cfg.SubmitLimit(spec.Account, spec.User)
	if limit == 0 {
		return nil
	}
	if have := active.Users[api.AssocKey(spec.Account, spec.User)]; have+n > limit {
		return &api.FieldError{Field: "--account", Value: spec.Account,
			Msg: fmt.Sprintf("Job violates accounting/QOS policy (job submit limit, user's size and/or time limits): %s is %d and user %s has %d pending or running jobs (AssocMaxSubmitJobLimit)", where, limit, spec.User, have)}
	}
	return nil
}
