package inbox

import (
	"sort"
	"sync"
	"time"
)

// HealthState says whether a channel currently reaches its provider.
type HealthState string

const (
	// HealthUnknown: nothing was tried yet (a mailbox before its first
	// connection, a webhook channel nobody has called).
	HealthUnknown HealthState = "unknown"
	// HealthOK: the last attempt worked.
	HealthOK HealthState = "ok"
	// HealthDegraded: it works with trouble (retrying after a transient
	// error, a warning an admin should read).
	HealthDegraded HealthState = "degraded"
	// HealthDown: it does not work until someone acts (wrong password,
	// revoked token).
	HealthDown HealthState = "down"
)

// ChannelHealth is what operators and admins see of a channel's connection
// to its provider. Error is a short reason written for an admin; it never
// holds a secret.
type ChannelHealth struct {
	Channel string      `json:"channel"`
	State   HealthState `json:"state"`
	Error   string      `json:"error,omitempty"`
	// Since is when the channel entered State.
	Since time.Time `json:"since,omitzero"`
	// LastOK is the last time an attempt worked.
	LastOK time.Time `json:"last_ok,omitzero"`
	// Failures counts attempts that failed in a row.
	Failures int `json:"failures,omitempty"`
}

// HealthBoard keeps the latest health each channel of this process
// reported. Connectors report to it as they work (a poller after each
// round, a sender after each call); the API and the page read it. It is
// safe for concurrent use; a nil *HealthBoard ignores reports, so a
// connector built without one needs no checks.
type HealthBoard struct {
	mu    sync.Mutex
	clock Clock
	m     map[string]ChannelHealth
}

// NewHealthBoard returns an empty board; a nil clock means the system's.
func NewHealthBoard(clock Clock) *HealthBoard {
	if clock == nil {
		clock = SystemClock{}
	}
	return &HealthBoard{clock: clock, m: map[string]ChannelHealth{}}
}

// OK records that the channel's last attempt worked.
func (b *HealthBoard) OK(channel string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	h := b.get(channel)
	if h.State != HealthOK {
		h.Since = now
	}
	h.State, h.Error, h.Failures, h.LastOK = HealthOK, "", 0, now
	b.m[channel] = h
}

// Fail records a failed attempt: state is HealthDegraded for what retrying
// may cure, HealthDown for what needs an admin. reason must hold no secret.
func (b *HealthBoard) Fail(channel string, state HealthState, reason string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.get(channel)
	if h.State != state {
		h.Since = b.clock.Now()
	}
	h.State, h.Error = state, reason
	h.Failures++
	b.m[channel] = h
}

// Get returns the channel's health; a channel that never reported is
// HealthUnknown.
func (b *HealthBoard) Get(channel string) ChannelHealth {
	if b == nil {
		return ChannelHealth{Channel: channel, State: HealthUnknown}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.get(channel)
}

// All returns every channel that reported, by channel id.
func (b *HealthBoard) All() []ChannelHealth {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]ChannelHealth, 0, len(b.m))
	for _, h := range b.m {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Channel < out[j].Channel })
	return out
}

func (b *HealthBoard) get(channel string) ChannelHealth {
	if h, ok := b.m[channel]; ok {
		return h
	}
	return ChannelHealth{Channel: channel, State: HealthUnknown}
}
