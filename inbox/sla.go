package inbox

import (
	"time"

	"github.com/leadhub/leadhub/inbox/workhours"
)

// SLA: a conversation whose client is waiting for an answer carries a due
// time, counted in working hours from the client's first unanswered
// message. The first answer in a conversation has one target, every later
// one another. Answering, closing or setting the conversation aside
// (pending) stops the timer; the client writing again starts it anew.

// SLAKind says which answer a timer waits for.
type SLAKind string

const (
	SLAFirst SLAKind = "first" // no operator has answered in the conversation yet
	SLANext  SLAKind = "next"  // the client wrote again after an answer
)

// SLATargets are a channel's answer targets in working time; zero means no
// target of that kind.
type SLATargets struct {
	First time.Duration
	Next  time.Duration
	// WarnBefore is how much working time before the due time the assignee
	// is warned; zero means a fifth of the target.
	WarnBefore time.Duration
}

// SLAPolicy decides when answers are due. A nil policy sets no timers.
type SLAPolicy struct {
	// Schedule is the business's working week; nil counts every hour.
	Schedule *workhours.Schedule
	Default  SLATargets
	// Channels override Default for a channel.
	Channels map[string]SLATargets
}

// Due returns when an answer of the kind is due to a client who wrote at
// from in the channel, and when its assignee is warned; ok is false when
// the channel has no such target.
func (p *SLAPolicy) Due(channelID string, kind SLAKind, from time.Time) (due, warn time.Time, ok bool) {
	if p == nil {
		return time.Time{}, time.Time{}, false
	}
	t, found := p.Channels[channelID]
	if !found {
		t = p.Default
	}
	target := t.First
	if kind == SLANext {
		target = t.Next
	}
	if target <= 0 {
		return time.Time{}, time.Time{}, false
	}
	before := t.WarnBefore
	if before <= 0 {
		before = target / 5
	}
	sched := p.Schedule
	if sched == nil {
		sched = workhours.Always()
	}
	due = sched.Add(from, target)
	warn = from
	if before < target {
		warn = sched.Add(from, target-before)
	}
	return due.UTC(), warn.UTC(), true
}
