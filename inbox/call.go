package inbox

import "time"

// Dispositions: how a call ended, in the words every provider's own are
// mapped to.
const (
	DispositionAnswered = "answered"
	DispositionMissed   = "missed"
	DispositionBusy     = "busy"
	DispositionFailed   = "failed"
)

// DefaultCallbackWithin is when a missed call's callback task falls due
// unless the channel says otherwise.
const DefaultCallbackWithin = 15 * time.Minute

// TaskKind says what a task is for.
type TaskKind string

const (
	TaskCallback TaskKind = "callback"
	TaskMeeting  TaskKind = "meeting"
	TaskFollowUp TaskKind = "follow_up"
)

// Valid reports whether k is a known task kind.
func (k TaskKind) Valid() bool {
	return k == TaskCallback || k == TaskMeeting || k == TaskFollowUp
}

// stage orders the events of a call: whatever order they arrive in, the
// folded call is at the furthest stage any of them reached.
func stage(event string) int {
	switch event {
	case CallRinging:
		return 1
	case CallAnswered:
		return 2
	case CallEnded:
		return 3
	}
	return 0 // a recording or a provider's own word says nothing of the stage
}

// Fold adds event e of the same call to c, the call as known so far. It is
// order-independent in what matters: the stage is the furthest reached, the
// start and answer times the earliest reported, the end the latest; the
// disposition an end event reports wins over one implied earlier; the
// extension that answered first wins over one that only rang. A transfer is
// a later answer on another extension and leaves the call one call.
func (c Call) Fold(e Call) Call {
	if c.ID == "" {
		return e
	}
	if stage(e.Event) > stage(c.Event) {
		c.Event = e.Event
	}
	if c.Direction == "" {
		c.Direction = e.Direction
	}
	c.From = firstNonEmpty(c.From, e.From)
	c.To = firstNonEmpty(c.To, e.To)
	c.StartedAt = earliest(c.StartedAt, e.StartedAt)
	answerer := !e.AnsweredAt.IsZero() && (c.AnsweredAt.IsZero() || e.AnsweredAt.Before(c.AnsweredAt))
	if e.Event == CallAnswered && c.AnsweredAt.IsZero() && e.AnsweredAt.IsZero() {
		answerer = true
	}
	if e.Extension != "" && (answerer || c.Extension == "") {
		c.Extension, c.Operator = e.Extension, e.Operator
	}
	c.AnsweredAt = earliest(c.AnsweredAt, e.AnsweredAt)
	if e.EndedAt.After(c.EndedAt) {
		c.EndedAt = e.EndedAt
	}
	switch {
	case e.Disposition == "":
	case e.Event == CallEnded, c.Disposition == "":
		c.Disposition = e.Disposition
	}
	if e.Event == CallAnswered && c.Disposition == "" {
		c.Disposition = DispositionAnswered
	}
	c.Duration = max(c.Duration, e.Duration)
	c.Recording = firstNonEmpty(e.Recording, c.Recording)
	c.RecordingURL = firstNonEmpty(e.RecordingURL, c.RecordingURL)
	if c.CallbackWithin == 0 {
		c.CallbackWithin = e.CallbackWithin
	}
	return c
}

// Outcome is how the call went as far as is known: its disposition, or,
// once ended without one, answered when it was answered and missed when
// not; empty while it is not over.
func (c Call) Outcome() string {
	answered := c.Event == CallAnswered || !c.AnsweredAt.IsZero() || c.Duration > 0 || c.Disposition == DispositionAnswered
	switch {
	case c.Event == CallEnded && c.Disposition != "":
		return c.Disposition
	case answered:
		return DispositionAnswered
	case c.Event == CallEnded:
		return DispositionMissed
	}
	return ""
}

// Missed reports whether c is an inbound call that ended unanswered: the
// client called and nobody picked up (missed, busy or failed alike).
func (c Call) Missed() bool {
	return c.Direction == DirectionIn && c.Event == CallEnded && c.Outcome() != DispositionAnswered
}

// Talk is the talk time: the provider's duration, else the time between
// answer and end.
func (c Call) Talk() time.Duration {
	if c.Duration > 0 {
		return time.Duration(c.Duration) * time.Second
	}
	if !c.AnsweredAt.IsZero() && c.EndedAt.After(c.AnsweredAt) {
		return c.EndedAt.Sub(c.AnsweredAt).Round(time.Second)
	}
	return 0
}

// ClientNumber is the client's side of the call as the provider wrote it.
func (c Call) ClientNumber() string {
	if c.Direction == DirectionOut {
		return c.To
	}
	return c.From
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// Task list states (GET /api/v1/tasks?state=).
const (
	TaskStateOpen    = "open"    // not done, overdue or not
	TaskStateOverdue = "overdue" // not done and past its due time
	TaskStateDone    = "done"
)

// TaskFilter selects tasks. Zero fields filter nothing.
type TaskFilter struct {
	AssigneeID int64 // "mine": the operator's own
	ClientID   int64
	State      string // TaskStateOpen, TaskStateOverdue, TaskStateDone or empty
	Cursor     string
	Limit      int
}

// TaskPatch is a change to a task; nil fields stay as they are.
type TaskPatch struct {
	Title      *string
	Done       *bool
	DueAt      *time.Time
	ClearDueAt bool // due_at: null
	AssigneeID *int64
	// ClearAssignee unassigns the task (assignee_id: null).
	ClearAssignee bool
}

// callAddendum reports whether e is a call event that names no client: a
// recording a provider reports on its own (Mango's events/recording). It
// needs no identity, and joins the call it belongs to, which the store
// must know by then.
func (e *Envelope) callAddendum() bool {
	return e.Item == ItemCall && e.Call != nil && e.Call.Event == CallRecording && len(e.From.Identities) == 0
}

// CallAddendum is callAddendum for the store.
func (e *Envelope) CallAddendum() bool { return e.callAddendum() }
