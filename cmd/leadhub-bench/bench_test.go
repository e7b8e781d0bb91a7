package main

import (
	"math"
	"testing"
	"time"
)

// The schedule's mean rate is the one asked for, and its gaps are
// exponential: their standard deviation equals their mean.
func TestArrivalsPoisson(t *testing.T) {
	const rate = 2000.0
	offs := arrivals(rate, 100*time.Second, 42)
	if got := float64(len(offs)) / 100; math.Abs(got-rate)/rate > 0.01 {
		t.Errorf("mean rate %.1f/s, want %.0f/s within 1%%", got, rate)
	}
	var sum, sumSq float64
	prev := time.Duration(0)
	for i, off := range offs {
		if off < prev {
			t.Fatalf("offset %d goes back: %v after %v", i, off, prev)
		}
		gap := (off - prev).Seconds()
		sum += gap
		sumSq += gap * gap
		prev = off
	}
	n := float64(len(offs))
	mean := sum / n
	sd := math.Sqrt(sumSq/n - mean*mean)
	if cv := sd / mean; math.Abs(cv-1) > 0.02 {
		t.Errorf("coefficient of variation of the gaps %.3f, want 1 (exponential)", cv)
	}
	if again := arrivals(rate, 100*time.Second, 42); len(again) != len(offs) || again[len(again)-1] != offs[len(offs)-1] {
		t.Error("one seed gave two schedules")
	}
	if other := arrivals(rate, 100*time.Second, 43); other[0] == offs[0] {
		t.Error("two seeds gave the same schedule")
	}
}

func TestPlanSenders(t *testing.T) {
	plan := planSenders(100000, 0.9, 1000000, 1, 7)
	known := 0
	for _, s := range plan {
		if s.known {
			known++
			if s.n < 0 || s.n >= 1000000 {
				t.Fatalf("known sender %d outside the population", s.n)
			}
		}
	}
	if share := float64(known) / float64(len(plan)); math.Abs(share-0.9) > 0.01 {
		t.Errorf("known share %.3f, want 0.9", share)
	}
	again := planSenders(100000, 0.9, 1000000, 1, 8)
	for i := range plan {
		if plan[i].known != again[i].known || plan[i].known && plan[i].n != again[i].n {
			t.Fatalf("request %d: one seed chose two known senders: %+v, %+v", i, plan[i], again[i])
		}
	}
	if got := (sender{known: true, n: 42}).phone(); got != "+79990000042" || got != knownPhone(42) {
		t.Errorf("known phone %q", got)
	}
	if got := (sender{n: 42}).phone(); got != "+79980000042" {
		t.Errorf("new phone %q", got)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{50, 500 * time.Millisecond}, {99, 990 * time.Millisecond}, {99.9, 999 * time.Millisecond}, {100, time.Second}, {0.01, time.Millisecond}} {
		if got := percentile(d, tt.p); got != tt.want {
			t.Errorf("p%v = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("one sample: p99 = %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("no samples: %v", got)
	}
	l := summarize([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond})
	if l.Count != 3 || l.P50 != 2 || l.Max != 3 {
		t.Errorf("summarize: %+v", l)
	}
}

func TestCheckStreams(t *testing.T) {
	tests := []struct {
		name  string
		ids   [][]int64
		group []int
		want  []streamCheck
	}{
		{"all agree, ids need not be consecutive",
			[][]int64{{1, 2, 5, 9}, {1, 2, 5, 9}}, []int{0, 0},
			[]streamCheck{{}, {}}},
		{"a double and a repeat out of order",
			[][]int64{{1, 2, 2, 3}, {1, 3, 2}}, []int{0, 0},
			[]streamCheck{{Doubles: 1}, {Doubles: 1}}},
		{"a gap",
			[][]int64{{1, 2, 3, 4}, {1, 3, 4}}, []int{0, 0},
			[]streamCheck{{}, {Gaps: 1}}},
		{"the tail after the slowest socket's last id is no gap",
			[][]int64{{1, 2, 3, 4, 5}, {1, 2, 3}}, []int{0, 0},
			[]streamCheck{{}, {}}},
		{"a silent socket misses everything",
			[][]int64{{1, 2, 3}, nil}, []int{0, 0},
			[]streamCheck{{}, {Gaps: 3}}},
		{"groups are compared apart",
			[][]int64{{1, 2, 3}, {2}, {1, 2, 3}, {2}}, []int{0, 1, 0, 1},
			[]streamCheck{{}, {}, {}, {}}},
	}
	for _, tt := range tests {
		got := checkStreams(tt.ids, tt.group)
		for s := range got {
			if got[s] != tt.want[s] {
				t.Errorf("%s: socket %d: %+v, want %+v", tt.name, s, got[s], tt.want[s])
			}
		}
	}
}

func TestFrameHead(t *testing.T) {
	for _, tt := range []struct {
		frame string
		id    int64
		typ   string
	}{
		{`{"id":123,"type":"message.created","data":{"message":{"text":"x"}}}`, 123, "message.created"},
		{`{"type":"conversation.updated","data":{},"id":7}`, 7, "conversation.updated"}, // another order: decoded in full
		{`{ "id": 8, "type": "x" }`, 8, "x"},
	} {
		id, typ, err := frameHead([]byte(tt.frame))
		if err != nil || id != tt.id || typ != tt.typ {
			t.Errorf("%s: %d %q %v", tt.frame, id, typ, err)
		}
	}
	if _, _, err := frameHead([]byte(`{"id":`)); err == nil {
		t.Error("a broken frame decoded")
	}
}

func TestFindMarker(t *testing.T) {
	prefix := []byte("1700000000000000000-")
	for _, tt := range []struct {
		frame string
		i     int
		ok    bool
	}{
		{`{"text":"bench message 1700000000000000000-42"}`, 42, true},
		{`{"text":"bench message 1700000000000000000-0","id":"api:crm:1700000000000000000-0"}`, 0, true},
		{`{"text":"bench message 1600000000000000000-42"}`, 0, false}, // another run
		{`{"text":"1700000000000000000-"}`, 0, false},
	} {
		i, ok := findMarker([]byte(tt.frame), prefix)
		if i != tt.i || ok != tt.ok {
			t.Errorf("%s: %d %v, want %d %v", tt.frame, i, ok, tt.i, tt.ok)
		}
	}
}
