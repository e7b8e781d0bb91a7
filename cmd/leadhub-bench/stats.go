package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted: the smallest sample that at least p% of the samples do not
// exceed. It interpolates nothing, so every figure reported is a latency
// that some message really had. Zero when there are no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps float error (99.9/100*1000 = 999.0000000000001)
	// from moving the rank up by one.
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// latency is a distribution as reported, in milliseconds so that the JSON
// reads without unit conversions.
type latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// summarize sorts d in place and describes it.
func summarize(d []time.Duration) latency {
	slices.Sort(d)
	l := latency{Count: len(d)}
	if len(d) == 0 {
		return l
	}
	l.P50 = ms(percentile(d, 50))
	l.P90 = ms(percentile(d, 90))
	l.P99 = ms(percentile(d, 99))
	l.P999 = ms(percentile(d, 99.9))
	l.Max = ms(d[len(d)-1])
	return l
}

// ms is d in milliseconds, rounded to microseconds.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3
}
