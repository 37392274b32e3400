package eventq_test

import (
	"cmp"
	"testing"

	"github.com/fairway-hpc/fairway/sched/eventq"
	gocmp "github.com/google/go-cmp/cmp"
)

type ev struct {
	at  int64
	seq int
}

func byTimeThenSeq(a, b ev) bool {
	return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq)) < 0
}

func TestQueueOrder(t *testing.T) {
	tests := []struct {
		name string
		push []ev
		want []ev
	}{
		{"empty", nil, nil},
		{"one", []ev{{5, 0}}, []ev{{5, 0}}},
		{"by time", []ev{{9, 0}, {3, 1}, {7, 2}}, []ev{{3, 1}, {7, 2}, {9, 0}}},
		{"ties by sequence", []ev{{4, 2}, {4, 0}, {1, 3}, {4, 1}}, []ev{{1, 3}, {4, 0}, {4, 1}, {4, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := eventq.New(byTimeThenSeq)
			for _, e := range tt.push {
				q.Push(e)
			}
			if q.Len() != len(tt.push) {
				t.Fatalf("Len = %d, want %d", q.Len(), len(tt.push))
			}
			var got []ev
			for {
				first, okPeek := q.Peek()
				e, ok := q.Pop()
				if ok != okPeek || first != e {
					t.Fatalf("Peek = %v %v, Pop = %v %v", first, okPeek, e, ok)
				}
				if !ok {
					break
				}
				got = append(got, e)
			}
			if d := gocmp.Diff(tt.want, got, gocmp.AllowUnexported(ev{})); d != "" {
				t.Errorf("order (-want +got):\n%s", d)
			}
		})
	}
}
