package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fairway-hpc/fairway/api"
)

func TestLayoutStep(t *testing.T) {
	four := []allocNode{{"gpu01", 4, 2}, {"gpu02", 4, 2}, {"gpu03", 4, 2}}
	for _, tc := range []struct {
		name  string
		alloc []allocNode
		req   layoutRequest
		want  stepLayout
	}{
		{"no options: the job's tasks over the allocation", four, layoutRequest{JobNTasks: 6},
			stepLayout{Nodes: []string{"gpu01", "gpu02", "gpu03"}, TasksPerNode: []int{2, 2, 2}, Ranks: [][]int{{0, 1}, {2, 3}, {4, 5}}, Distribution: "block"}},
		{"no options, one-task job: one node", four, layoutRequest{JobNTasks: 1},
			stepLayout{Nodes: []string{"gpu01"}, TasksPerNode: []int{1}, Ranks: [][]int{{0}}, Distribution: "block"}},
		{"-n 5 spreads over the allocation, counted round robin", four, layoutRequest{NTasks: 5},
			stepLayout{Nodes: []string{"gpu01", "gpu02", "gpu03"}, TasksPerNode: []int{2, 2, 1}, Ranks: [][]int{{0, 1}, {2, 3}, {4}}, Distribution: "block"}},
		{"-n 5 -m cyclic", four, layoutRequest{NTasks: 5, Distribution: "cyclic"},
			stepLayout{Nodes: []string{"gpu01", "gpu02", "gpu03"}, TasksPerNode: []int{2, 2, 1}, Ranks: [][]int{{0, 3}, {1, 4}, {2}}, Distribution: "cyclic"}},
		{"-N 2 -n 5 (Slurm: 3,2)", four, layoutRequest{Nodes: 2, NTasks: 5},
			stepLayout{Nodes: []string{"gpu01", "gpu02"}, TasksPerNode: []int{3, 2}, Ranks: [][]int{{0, 1, 2}, {3, 4}}, Distribution: "block"}},
		{"-N 2 alone: one task per node", four, layoutRequest{Nodes: 2, JobNTasks: 12},
			stepLayout{Nodes: []string{"gpu01", "gpu02"}, TasksPerNode: []int{1, 1}, Ranks: [][]int{{0}, {1}}, Distribution: "block"}},
		{"--ntasks-per-node 2 -N 2", four, layoutRequest{Nodes: 2, NTasksPerNode: 2},
			stepLayout{Nodes: []string{"gpu01", "gpu02"}, TasksPerNode: []int{2, 2}, Ranks: [][]int{{0, 1}, {2, 3}}, Distribution: "block"}},
		{"--ntasks-per-node 1 over the allocation", four, layoutRequest{NTasksPerNode: 1},
			stepLayout{Nodes: []string{"gpu01", "gpu02", "gpu03"}, TasksPerNode: []int{1, 1, 1}, Ranks: [][]int{{0}, {1}, {2}}, Distribution: "block"}},
		{"-w picks the node", four, layoutRequest{NodeList: []string{"gpu02"}, JobNTasks: 6},
			stepLayout{Nodes: []string{"gpu02"}, TasksPerNode: []int{1}, Ranks: [][]int{{0}}, Distribution: "block"}},
		{"-w gpu03 -n 3 -N 2 adds a node in node-ID order", four, layoutRequest{NodeList: []string{"gpu03"}, Nodes: 2, NTasks: 3},
			stepLayout{Nodes: []string{"gpu01", "gpu03"}, TasksPerNode: []int{2, 1}, Ranks: [][]int{{0, 1}, {2}}, Distribution: "block"}},
		{"-x gpu01", four, layoutRequest{Exclude: []string{"gpu01"}, NTasks: 2},
			stepLayout{Nodes: []string{"gpu02", "gpu03"}, TasksPerNode: []int{1, 1}, Ranks: [][]int{{0}, {1}}, Distribution: "block"}},
		{"-c 2 -n 4 fits two per node", four, layoutRequest{CPUsPerTask: 2, NTasks: 4, Nodes: 2},
			stepLayout{Nodes: []string{"gpu01", "gpu02"}, TasksPerNode: []int{2, 2}, Ranks: [][]int{{0, 1}, {2, 3}}, Distribution: "block"}},
		{"--overcommit: -n 10 on one 4-CPU node", four, layoutRequest{Nodes: 1, NTasks: 10, Overcommit: true},
			stepLayout{Nodes: []string{"gpu01"}, TasksPerNode: []int{10}, Ranks: [][]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}, Distribution: "block"}},
		{"uneven CPUs fill the bigger node", []allocNode{{"n1", 1, 0}, {"n2", 4, 0}}, layoutRequest{NTasks: 5},
			stepLayout{Nodes: []string{"n1", "n2"}, TasksPerNode: []int{1, 4}, Ranks: [][]int{{0}, {1, 2, 3, 4}}, Distribution: "block"}},
		{"--gpus-per-task 1 -n 2 -N 1", four, layoutRequest{GPUsPerTask: 1, NTasks: 2, Nodes: 1},
			stepLayout{Nodes: []string{"gpu01"}, TasksPerNode: []int{2}, Ranks: [][]int{{0, 1}}, Distribution: "block"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := layoutStep(tc.alloc, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, *got); d != "" {
				t.Errorf("layout (-want +got):\n%s", d)
			}
			if got.NTasks() != len(flatten(got.Ranks)) {
				t.Errorf("NTasks %d, ranks %v", got.NTasks(), got.Ranks)
			}
		})
	}
}

func flatten(rs [][]int) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r...)
	}
	return out
}

func TestLayoutStepErrors(t *testing.T) {
	two := []allocNode{{"gpu01", 4, 1}, {"gpu02", 4, 1}}
	for _, tc := range []struct {
		req        layoutRequest
		field, msg string
	}{
		{layoutRequest{Nodes: 3}, "--nodes", "Only allocated 2 nodes asked for 3"},
		{layoutRequest{NTasks: 9}, "--ntasks", "More processors requested than permitted"},
		{layoutRequest{NTasks: 4, CPUsPerTask: 4}, "--cpus-per-task", "More processors requested than permitted"},
		{layoutRequest{NodeList: []string{"gpu09"}}, "--nodelist", "gpu09 is not in the job's allocation (gpu[01-02])"},
		{layoutRequest{Exclude: []string{"gpu01", "gpu02"}}, "--exclude", "leaves no node"},
		{layoutRequest{Nodes: 2, NTasks: 1}, "--ntasks", "fewer tasks than the 2 nodes"},
		{layoutRequest{Distribution: "plane"}, "--distribution", "want block or cyclic"},
		{layoutRequest{GPUsPerTask: 1, NTasks: 2, Nodes: 1}, "--gpus-per-task", "need 2 GPUs"},
		{layoutRequest{GPUsPerNode: 2}, "--gpus-per-node", "holds 1 GPUs"},
		{layoutRequest{NTasksPerNode: 5}, "--ntasks-per-node", "More processors requested than permitted"},
	} {
		_, err := layoutStep(two, tc.req)
		var fe *api.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("layoutStep(%+v) = %v; want a %s error saying %q", tc.req, err, tc.field, tc.msg)
		}
	}
}
