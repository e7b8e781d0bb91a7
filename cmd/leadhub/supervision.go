package main

import (
	"time"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox"
)

// slaPolicy is the answer targets of the configuration; nil when no channel
// has one, so that conversations carry no timers.
func slaPolicy(cfg config.Config) (*inbox.SLAPolicy, error) {
	sched, err := cfg.Schedule()
	if err != nil {
		return nil, err
	}
	targets := func(t config.Targets) inbox.SLATargets {
		return inbox.SLATargets{First: t.FirstResponse, Next: t.NextResponse, WarnBefore: cfg.SLA.WarnBefore.Duration}
	}
	p := &inbox.SLAPolicy{Schedule: sched, Channels: make(map[string]inbox.SLATargets)}
	p.Default = targets(config.Targets{FirstResponse: cfg.SLA.FirstResponse.Duration, NextResponse: cfg.SLA.NextResponse.Duration})
	any := p.Default.First > 0 || p.Default.Next > 0
	for _, ch := range cfg.Channels {
		t := targets(cfg.Targets(ch))
		p.Channels[ch.ID] = t
		any = any || t.First > 0 || t.Next > 0
	}
	if !any {
		return nil, nil
	}
	return p, nil
}

// assignmentRules are the channels that assign by themselves or requeue.
func assignmentRules(cfg config.Config) map[string]inbox.AssignmentRule {
	rules := make(map[string]inbox.AssignmentRule)
	for _, ch := range cfg.Channels {
		r := inbox.AssignmentRule{RoundRobin: ch.Assignment == "round_robin", MaxOpen: ch.MaxOpen,
			OfflineRequeue: cfg.Targets(ch).OfflineRequeue}
		if r.RoundRobin || r.OfflineRequeue > 0 {
			rules[ch.ID] = r
		}
	}
	return rules
}

// reportLocation is the business's time zone ([sla] time_zone): reports
// count its days.
func reportLocation(cfg config.Config) *time.Location {
	if sched, err := cfg.Schedule(); err == nil {
		return sched.Location()
	}
	return time.UTC
}
