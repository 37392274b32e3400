package fairshare

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/fairway-hpc/fairway/api"
)

// Row is one line of `sshare -l`: an association (the root, an account or a
// user) with Slurm's columns.
//
//   - Account, User: the account; User is empty on an account's row (and on
//     the root's, whose Account is "root").
//   - RawShares: the configured shares (1 for implicit associations). With
//     Parent set sshare prints "parent" instead.
//   - NormShares: the shares normalized to the level's total (Fair Tree) or to
//     the whole tree, multiplied down from the root (classic); a
//     FairShare=parent association shows its parent's.
//   - RawUsage: the decayed usage of the association's subtree.
//   - NormUsage: RawUsage as a fraction of the root's.
//   - EffectvUsage: Fair Tree: RawUsage as a fraction of the usage of the
//     account it competes under; classic: the effective usage UE.
//   - FairShare: the user's factor. Classic also gives accounts their
//     2^(-UE/S); Fair Tree ranks users only and leaves accounts 0 (sshare
//     prints it blank).
//   - LevelFS: Fair Tree's S/U, +Inf when the association has shares and no
//     usage (sshare prints "inf"); 0 and printed blank in classic and on
//     FairShare=parent rows.
//
// The root's row has NormShares 1, NormUsage and EffectvUsage 1 (0 when
// there is no usage) and sshare prints its RawShares, FairShare and LevelFS
// blank.
//
// Row encodes to JSON with LevelFS "inf" when infinite (JSON has no
// infinity).
type Row struct {
	Account      string
	User         string
	RawShares    int
	NormShares   float64
	RawUsage     float64
	NormUsage    float64
	EffectvUsage float64
	FairShare    float64
	LevelFS      float64
	// Parent is Slurm's FairShare=parent.
	Parent bool
}

// Rows returns the sshare rows of the whole tree in Slurm's order: the root,
// then depth first each account followed by its users (by name) and its
// sub-accounts (by name). algorithm and usage are as for Factors.
func (t *Tree) Rows(algorithm string, usage map[string]float64) []Row {
	c := t.compute(algorithm, usage)
	rootU := c.usage[0]
	rows := make([]Row, len(t.nodes))
	for i := range t.nodes {
		nd := &t.nodes[i]
		r := Row{Account: nd.account, RawShares: nd.rawShares, NormShares: c.share[i], RawUsage: c.usage[i],
			EffectvUsage: c.eff[i], LevelFS: c.lfs[i], Parent: nd.sharesParent}
		if rootU > 0 {
			r.NormUsage = c.usage[i] / rootU
		}
		switch {
		case i == 0:
			r.RawShares = 0
		case nd.user:
			r.User = nd.name
			r.FairShare = c.factor[i]
		case algorithm == api.FairShareClassic:
			r.FairShare = c.factor[i]
		}
		if nd.sharesParent {
			r.LevelFS = 0
		}
		rows[i] = r
	}
	return rows
}

// rowJSON is Row's JSON form.
type rowJSON struct {
	Account      string    `json:"account"`
	User         string    `json:"user,omitempty"`
	RawShares    int       `json:"raw_shares"`
	NormShares   float64   `json:"norm_shares"`
	RawUsage     float64   `json:"raw_usage"`
	NormUsage    float64   `json:"norm_usage"`
	EffectvUsage float64   `json:"effectv_usage"`
	FairShare    float64   `json:"fair_share"`
	LevelFS      jsonFloat `json:"level_fs"`
	Parent       bool      `json:"parent,omitempty"`
}

// MarshalJSON encodes the row with snake_case names; an infinite LevelFS is
// the string "inf".
func (r Row) MarshalJSON() ([]byte, error) {
	return json.Marshal(rowJSON{r.Account, r.User, r.RawShares, r.NormShares, r.RawUsage, r.NormUsage,
		r.EffectvUsage, r.FairShare, jsonFloat(r.LevelFS), r.Parent})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (r *Row) UnmarshalJSON(b []byte) error {
	var j rowJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("decode sshare row: %w", err)
	}
	*r = Row{j.Account, j.User, j.RawShares, j.NormShares, j.RawUsage, j.NormUsage, j.EffectvUsage,
		j.FairShare, float64(j.LevelFS), j.Parent}
	return nil
}

// jsonFloat is a float64 that encodes +Inf as "inf".
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(f), 1) {
		return []byte(`"inf"`), nil
	}
	return json.Marshal(float64(f))
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == `"inf"` {
		*f = jsonFloat(math.Inf(1))
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("level_fs: want a number or \"inf\": %w", err)
	}
	*f = jsonFloat(v)
	return nil
}
