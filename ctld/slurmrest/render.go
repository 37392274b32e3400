package slurmrest

import (
	"net/http"
	"os/user"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/slurmdata"
)

// Document returns the OpenAPI document this API serves: its paths and
// request schemas with api/slurmdata's component schemas.
func Document() ([]byte, error) {
	return buildDocument(slurmdata.OpenAPIComponents(), slurmdata.SlurmRelease)
}

// options are the converters' options for a response to r at now.
func (h *Handler) options(r *http.Request, now int64) slurmdata.Options {
	u, g := h.opts.Backend.Caller(r.Context())
	groups := map[int]string{}
	return slurmdata.Options{
		Now: now, Cluster: h.opts.ClusterName,
		ClientUser: u, ClientGroup: g, ClientSource: r.RemoteAddr,
		GroupName: func(gid int) string {
			if n, ok := groups[gid]; ok {
				return n
			}
			n := ""
			if grp, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
				n = grp.Name
			}
			groups[gid] = n
			return n
		},
	}
}

// meta is the responses' meta member: slurmdata's, with the plugin that
// answers (openapi/slurmctld, or openapi/slurmdbd for /slurmdb paths).
func (h *Handler) meta(r *http.Request) slurmdata.Meta {
	m := slurmdata.NewMeta(h.options(r, h.opts.Now().Unix()))
	m.Plugin.Type, m.Plugin.Name = "openapi/slurmctld", "Slurm OpenAPI slurmctld"
	if strings.HasPrefix(r.URL.Path, "/slurmdb/") {
		m.Plugin.Type, m.Plugin.Name = "openapi/slurmdbd", "Slurm OpenAPI slurmdbd"
	}
	return m
}

// The routes' responses with nothing in them, for refusals.
func emptyJobInfo() any {
	return slurmdata.JobInfoResp{Jobs: slurmdata.JobInfoMsg{}, Errors: slurmdata.Errors{}, Warnings: slurmdata.Warnings{}}
}

func emptyNodes() any {
	return slurmdata.NodesResp{Nodes: slurmdata.Nodes{}, Errors: slurmdata.Errors{}, Warnings: slurmdata.Warnings{}}
}

func emptyPartitions() any {
	return slurmdata.PartitionResp{Partitions: slurmdata.PartitionInfoMsg{}, Errors: slurmdata.Errors{}, Warnings: slurmdata.Warnings{}}
}

func emptyDiag() any {
	return slurmdata.DiagResp{Errors: slurmdata.Errors{}, Warnings: slurmdata.Warnings{}}
}

func emptyDBJobs() any {
	return slurmdata.SlurmdbdJobsResp{Jobs: slurmdata.DBJobList{}, Errors: slurmdata.Errors{}, Warnings: slurmdata.Warnings{}}
}

func (h *Handler) jobInfo(r *http.Request, jobs []*api.Job, parts []api.Partition, now int64) any {
	return slurmdata.JobInfoResponse(jobs, parts, h.options(r, now))
}

func (h *Handler) nodes(r *http.Request, nodes []*api.Node, now int64) any {
	return slurmdata.NodesResponse(derefNodes(nodes), h.options(r, now))
}

func (h *Handler) partitions(r *http.Request, parts []api.Partition, nodes []*api.Node) any {
	return slurmdata.PartitionResponse(parts, derefNodes(nodes), h.options(r, h.opts.Now().Unix()))
}

func (h *Handler) diag(r *http.Request, d api.DiagResponse) any {
	return slurmdata.DiagResponse(&d, h.options(r, d.Now))
}

func (h *Handler) dbJobs(r *http.Request, jobs []*api.Job, parts []api.Partition, now int64) any {
	return slurmdata.SlurmdbdJobsResponse(jobs, parts, h.options(r, now))
}

func derefNodes(nodes []*api.Node) []api.Node {
	out := make([]api.Node, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, *n)
	}
	return out
}
