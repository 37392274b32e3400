package ctld

import (
	"context"
	"fmt"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/raftstore"
)

// authorizeAssoc lets operators and administrators change accounts, users
// and QOS, as Slurm's AdminLevel=Operator may with sacctmgr.
func authorizeAssoc(id Identity, cfg *api.ClusterConfig, op string) *Error {
	if roleOf(id, cfg) >= RoleOperator {
		return nil
	}
	return newError(KindForbidden, "%s may not %s accounts, users or QOS: only an operator or an administrator may", who(id), op)
}

// ChangeAssociations applies a sacctmgr change (add, modify or delete of
// accounts, users' associations or QOS) through raft: the commit checks it
// against the configuration it makes and the active jobs, and applies all
// of it or none, so the scheduler sees it at its next pass. A DryRun
// request is checked the same way against this controller's state and
// reports what would change, committing nothing. Only operators and
// administrators may.
func (s *Service) ChangeAssociations(ctx context.Context, caller Identity, req api.AssocRequest) (api.AssocResult, error) {
	st := s.store.State()
	current := st.Config()
	if err := authorizeAssoc(caller, &current, req.Op); err != nil {
		s.denied(caller, "assoc-"+req.Op, err)
		return api.AssocResult{}, err
	}
	// Check first on this replica's state: a refused change is answered
	// without a raft entry, and a dry run ends here.
	_, res, err := api.ApplyAssoc(&current, &req, api.CountActiveJobs(st.ActiveJobsShared()))
	if err != nil {
		return api.AssocResult{}, s.classify(err)
	}
	if req.DryRun {
		res.DryRun = true
		res.Index = st.Index()
		return res, nil
	}
	var cmd raftstore.Command
	switch req.Op {
	case api.AssocAdd:
		cmd = raftstore.AddAssociations{Accounts: req.Accounts, Users: req.Users, QOS: req.QOS}
	case api.AssocModify:
		cmd = raftstore.ModifyAssociations{Entity: req.Entity, Where: req.Where, Set: req.Set}
	case api.AssocDelete:
		cmd = raftstore.DeleteAssociations{Entity: req.Entity, Where: req.Where}
	default:
		return api.AssocResult{}, s.classify(&api.FieldError{Field: "op", Value: req.Op, Msg: "must be add, modify or delete"})
	}
	ar, err := s.apply(ctx, cmd)
	if err != nil {
		return api.AssocResult{}, err
	}
	if ar.Assoc == nil {
		return api.AssocResult{}, fmt.Errorf("%s associations: the commit returned no result", req.Op)
	}
	out := *ar.Assoc
	out.Index = ar.Index
	return out, nil
}
