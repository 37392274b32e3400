// Package eventq is the priority queue of timed events that the discrete-event
// loops (the trace simulator, the start-time forecast) run on: the event that
// comes first by the loop's own order is taken first.
package eventq

import "container/heap"

// Queue is a min-queue of events under the order given to New. The zero value
// is not usable; make one with New.
type Queue[T any] struct {
	h items[T]
}

// New returns an empty queue ordered by before (a strict weak order: before(a,
// b) when a must be taken before b). Loops that must be deterministic make
// before total, breaking ties on a sequence number or an ID.
func New[T any](before func(a, b T) bool) *Queue[T] {
	return &Queue[T]{h: items[T]{before: before}}
}

// Len is the number of events queued.
func (q *Queue[T]) Len() int { return len(q.h.s) }

// Push queues an event.
func (q *Queue[T]) Push(e T) { heap.Push(&q.h, e) }

// Peek returns the first event without taking it; ok is false when the queue
// is empty.
func (q *Queue[T]) Peek() (e T, ok bool) {
	if len(q.h.s) == 0 {
		return e, false
	}
	return q.h.s[0], true
}

// Pop takes the first event; ok is false when the queue is empty.
func (q *Queue[T]) Pop() (e T, ok bool) {
	if len(q.h.s) == 0 {
		return e, false
	}
	return heap.Pop(&q.h).(T), true
}

// items adapts the slice to container/heap.
type items[T any] struct {
	s      []T
	before func(a, b T) bool
}

func (h items[T]) Len() int           { return len(h.s) }
func (h items[T]) Less(a, b int) bool { return h.before(h.s[a], h.s[b]) }
func (h items[T]) Swap(a, b int)      { h.s[a], h.s[b] = h.s[b], h.s[a] }
func (h *items[T]) Push(x any)        { h.s = append(h.s, x.(T)) }
func (h *items[T]) Pop() any {
	n := len(h.s) - 1
	x := h.s[n]
	var zero T
	h.s[n] = zero
	h.s = h.s[:n]
	return x
}
