package hostlist

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExpand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"node1", []string{"node1"}},
		{"node[1-3]", []string{"node1", "node2", "node3"}},
		{"node[1-2,5],login", []string{"node1", "node2", "node5", "login"}},
		{"gpu[08-11]", []string{"gpu08", "gpu09", "gpu10", "gpu11"}},
		{"a,b[1-2],c", []string{"a", "b1", "b2", "c"}},
		{"rack[1-2]-n[1-2]", []string{"rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"}},
		{"", nil},
		{"n[7]", []string{"n7"}},
	}
	for _, tt := range tests {
		got, err := Expand(tt.in)
		if err != nil {
			t.Errorf("Expand(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Expand(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	for _, in := range []string{"node[1-", "node[]", "node[3-1]", "node[a-b]", "node1]", "n[1-99999999]"} {
		if got, err := Expand(in); err == nil {
			t.Errorf("Expand(%q) = %v, want an error", in, got)
		}
	}
}

func TestCompress(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"node1"}, "node1"},
		{[]string{"node1", "node2", "node3"}, "node[1-3]"},
		{[]string{"node3", "node1", "node2", "node2"}, "node[1-3]"},
		{[]string{"node1", "node2", "node5", "node7", "node8"}, "node[1-2,5,7-8]"},
		{[]string{"node9", "node10", "node11"}, "node[9-11]"},
		{[]string{"gpu08", "gpu09", "gpu10"}, "gpu[08-10]"},
		{[]string{"node1", "node01"}, "node01,node1"},
		{[]string{"login", "node1", "node2", "gpu1"}, "gpu1,login,node[1-2]"},
		{[]string{"a-1", "a-2", "b-1"}, "a-[1-2],b-1"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := Compress(tt.in); got != tt.want {
			t.Errorf("Compress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, list := range []string{"node[1-3,5]", "gpu[01-16],login1", "c[1-2],d[10-12]"} {
		hosts, err := Expand(list)
		if err != nil {
			t.Fatalf("Expand(%q): %v", list, err)
		}
		if got := Compress(hosts); got != list {
			t.Errorf("Compress(Expand(%q)) = %q", list, got)
		}
	}
}

func TestSort(t *testing.T) {
	names := []string{"node10", "node2", "login", "node1"}
	Sort(names)
	if diff := cmp.Diff([]string{"login", "node1", "node2", "node10"}, names); diff != "" {
		t.Errorf("Sort mismatch (-want +got):\n%s", diff)
	}
}
