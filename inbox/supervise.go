package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Supervision: nobody forgets a client. The Supervisor runs on every
// instance and, on each pass, raises the alerts that fell due (an SLA
// warning to the assignee, a breach to supervisors, a task's reminder to its
// assignee, an overdue task to supervisors), hands conversations of
// round-robin channels to operators who are online, puts back in the queue
// conversations whose assignee went away, and sends supervisors' alerts out
// to Telegram or email. Every step claims its rows with a conditional
// update, so with several instances each alert is raised and sent once.

// Alert kinds; each is also the type of the event that carries the alert.
const (
	AlertSLAWarning  = "sla.warning"
	AlertSLABreached = "sla.breached"
	AlertTaskDue     = "task.due"
	AlertTaskOverdue = "task.overdue"
)

// AlertFor says who an alert is for.
type AlertFor string

const (
	AlertForOperator    AlertFor = "operator"    // OperatorID alone
	AlertForTeam        AlertFor = "team"        // whoever sees the channel's unassigned conversations
	AlertForSupervisors AlertFor = "supervisors" // supervisors and admins
)

// Alert is something a person must act on now.
type Alert struct {
	ID   int64    `json:"id"`
	Kind string   `json:"kind"`
	For  AlertFor `json:"for"`
	// OperatorID is the recipient when For is "operator".
	OperatorID     *int64 `json:"operator_id"`
	ConversationID *int64 `json:"conversation_id"`
	ClientID       int64  `json:"client_id"`
	ClientName     string `json:"client_name"`
	ChannelID      string `json:"channel"`
	TaskID         *int64 `json:"task_id"`
	TaskTitle      string `json:"task_title,omitempty"`
	// AssigneeID is whose conversation or task it is (nil: nobody's).
	AssigneeID *int64    `json:"assignee_id"`
	DueAt      time.Time `json:"due_at"`
	// LateSeconds is how late the answer or task was when the alert was
	// raised; negative before the due time (a warning).
	LateSeconds int64     `json:"late_seconds"`
	CreatedAt   time.Time `json:"created_at"`
	// Read is the viewer's own mark (lists only).
	Read bool `json:"read"`
}

// AlertPage is a page of an operator's alerts, how many of all theirs are
// unread, and the cursor of the next page (0 after the last).
type AlertPage struct {
	Items  []Alert `json:"items"`
	Unread int     `json:"unread"`
	Next   int64   `json:"-"`
}

// AlertPayload is the data of an alert's events.
type AlertPayload struct {
	Alert Alert `json:"alert"`
}

// EventAlertCreated is a new alert, for its recipients (their bell).
const EventAlertCreated = "alert.created"

// AlertEvents are an alert's two events: the fact (sla.warning,
// sla.breached, task.due, task.overdue) for whoever sees its conversation
// or card — the page, outgoing webhooks — and alert.created for its
// recipients alone.
func AlertEvents(a Alert) []PendingEvent {
	// A task is about a card; an answer is about a conversation, whose
	// assignee the alert names.
	fact := Audience{Kind: AudienceCard, ClientID: a.ClientID}
	if a.ConversationID != nil && a.TaskID == nil {
		fact = Audience{Kind: AudienceConversation, ConversationID: *a.ConversationID, ClientID: a.ClientID, ChannelID: a.ChannelID}
		if a.AssigneeID != nil {
			fact.AssigneeID = *a.AssigneeID
		}
	}
	to := Audience{Kind: AudienceSupervisors, ClientID: a.ClientID}
	switch a.For {
	case AlertForOperator:
		to.Kind = AudienceSelf
		if a.OperatorID != nil {
			to.OperatorID = *a.OperatorID
		}
	case AlertForTeam:
		to.Kind, to.ChannelID = AudienceChannel, a.ChannelID
	}
	return []PendingEvent{
		{Type: a.Kind, Data: AlertPayload{a}, Audience: fact},
		{Type: EventAlertCreated, Data: AlertPayload{a}, Audience: to},
	}
}

// AssignmentRule is how a channel's conversations get an assignee.
type AssignmentRule struct {
	// RoundRobin hands each waiting conversation to the online operator of
	// the channel's team (every operator when it has none) who got one
	// least recently.
	RoundRobin bool
	// MaxOpen caps an operator's open conversations for round-robin; 0 is
	// no cap.
	MaxOpen int
	// OfflineRequeue puts a conversation back in the queue when its
	// assignee has been offline this long; 0 never does.
	OfflineRequeue time.Duration
}

// PresenceTTL is how long an operator counts as online after an instance
// last saw one of their sockets open; instances refresh it at a third of
// that.
const PresenceTTL = 45 * time.Second

// SupervisionStore is what the Supervisor needs of the store. Each method
// claims what it acts on, so that concurrent instances never act twice.
type SupervisionStore interface {
	// RaiseAlerts raises up to limit alerts that are due: SLA warnings
	// and breaches, task reminders, and tasks overdue by taskOverdue
	// (never when negative). It returns their events.
	RaiseAlerts(ctx context.Context, taskOverdue time.Duration, limit int) ([]Event, error)
	// Requeue unassigns the open conversations of the channels' rules
	// whose assignee has been offline longer than the rule allows.
	Requeue(ctx context.Context, rules map[string]AssignmentRule) ([]Event, error)
	// AssignWaiting gives the waiting conversations of round-robin
	// channels to online operators.
	AssignWaiting(ctx context.Context, rules map[string]AssignmentRule, limit int) ([]Event, error)
	// ClaimAlertDispatch returns up to limit supervisors' alerts not yet
	// sent out, each leased for lease.
	ClaimAlertDispatch(ctx context.Context, limit int, lease time.Duration) ([]Alert, error)
	// AlertDispatched records the outcome: sent (err nil), or failed and
	// tried again later with growing pauses, at most MaxAlertAttempts
	// times.
	AlertDispatched(ctx context.Context, id int64, sendErr error) error
}

// AlertNotifier sends a supervisors' alert out of the hub (a Telegram
// chat, an email address).
type AlertNotifier interface {
	NotifyAlert(ctx context.Context, a Alert, text AlertText) error
}

// AlertText is an alert written out for people outside the page.
type AlertText struct {
	Subject string
	Body    string
	Link    string
}

// SupervisorOptions configures a Supervisor.
type SupervisorOptions struct {
	Store     SupervisionStore
	Publisher Publisher
	Clock     Clock
	Logger    *slog.Logger
	// Assignment holds the rules of the channels that have one.
	Assignment map[string]AssignmentRule
	// TaskOverdueAlert is how long past due an open task alerts
	// supervisors; negative never. Zero takes an hour.
	TaskOverdueAlert time.Duration
	// Notifiers send supervisors' alerts out; none keeps them in the page.
	Notifiers []AlertNotifier
	// PublicURL makes the links in alerts sent out.
	PublicURL string
	// Language of alerts sent out: "ru" (default) or "en".
	Language string
	// Poll is the time between passes. Default 2 s: a new conversation of
	// a round-robin channel waits at most that long for its operator.
	Poll time.Duration
}

// Supervisor raises alerts and assigns conversations; Run it once per
// instance.
type Supervisor struct{ opts SupervisorOptions }

// NewSupervisor returns the supervisor with defaults filled in.
func NewSupervisor(o SupervisorOptions) *Supervisor {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.TaskOverdueAlert == 0 {
		o.TaskOverdueAlert = time.Hour
	}
	return &Supervisor{opts: o}
}

// Run makes passes until ctx ends.
func (s *Supervisor) Run(ctx context.Context) error {
	return drain(ctx, s.opts.Poll, nil, s.opts.Logger, "supervision", s.RunOnce)
}

// alertBatch bounds what one pass raises, so that a pass after a long
// outage commits in steps.
const alertBatch = 200

// RunOnce makes one pass; it returns how much it did, so that a busy pass
// is followed by another at once.
func (s *Supervisor) RunOnce(ctx context.Context) (int, error) {
	var (
		n    int
		errs []error
	)
	step := func(what string, f func() ([]Event, error)) {
		evs, err := f()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
		n += len(evs)
		if len(evs) > 0 && s.opts.Publisher != nil {
			s.opts.Publisher.Publish(ctx, evs)
		}
	}
	step("raise alerts", func() ([]Event, error) {
		return s.opts.Store.RaiseAlerts(ctx, s.opts.TaskOverdueAlert, alertBatch)
	})
	if len(s.opts.Assignment) > 0 {
		step("requeue", func() ([]Event, error) { return s.opts.Store.Requeue(ctx, s.opts.Assignment) })
		step("assign", func() ([]Event, error) {
			return s.opts.Store.AssignWaiting(ctx, s.opts.Assignment, alertBatch)
		})
	}
	if len(s.opts.Notifiers) > 0 {
		sent, err := s.dispatch(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		n += sent
	}
	return n, errors.Join(errs...)
}

// MaxAlertAttempts bounds the tries to send one alert out.
const MaxAlertAttempts = 8

// AlertBackoff is the pause after failed send n (1, 2, ...): a minute,
// doubling, at most four hours.
func AlertBackoff(n int) time.Duration { return Doubling(time.Minute, 4*time.Hour, n) }

// dispatch sends claimed supervisors' alerts through every notifier.
func (s *Supervisor) dispatch(ctx context.Context) (int, error) {
	alerts, err := s.opts.Store.ClaimAlertDispatch(ctx, 20, time.Minute)
	if err != nil {
		return 0, fmt.Errorf("claim alerts to send: %w", err)
	}
	for _, a := range alerts {
		text := FormatAlert(a, s.opts.Language, s.opts.PublicURL)
		var errs []error
		for _, nt := range s.opts.Notifiers {
			if err := nt.NotifyAlert(ctx, a, text); err != nil {
				errs = append(errs, err)
			}
		}
		sendErr := errors.Join(errs...)
		if sendErr != nil {
			s.opts.Logger.Warn("alert not sent", "alert", a.ID, "err", sendErr)
		}
		if err := s.opts.Store.AlertDispatched(ctx, a.ID, sendErr); err != nil {
			return len(alerts), fmt.Errorf("alert %d sent: %w", a.ID, err)
		}
	}
	return len(alerts), nil
}

// FormatAlert writes an alert out for a chat or a mail: what, which
// client, how late, and a link to the conversation.
func FormatAlert(a Alert, lang, publicURL string) AlertText {
	ru := lang != "en"
	client := a.ClientName
	if client == "" {
		client = fmt.Sprintf("#%d", a.ClientID)
	}
	late := (time.Duration(a.LateSeconds) * time.Second).Round(time.Minute)
	var what string
	switch a.Kind {
	case AlertSLAWarning:
		what = pick(ru, "Скоро истечёт срок ответа", "An answer is due soon")
	case AlertSLABreached:
		what = pick(ru, "Срок ответа клиенту истёк", "An answer to a client is late")
	case AlertTaskDue:
		what = pick(ru, "Пора выполнить задачу", "A task is due")
	case AlertTaskOverdue:
		what = pick(ru, "Задача просрочена", "A task is overdue")
	default:
		what = a.Kind
	}
	subject := fmt.Sprintf("%s: %s", what, client)
	body := subject
	if a.TaskTitle != "" {
		body += "\n" + pick(ru, "Задача: ", "Task: ") + a.TaskTitle
	}
	if late > 0 {
		body += "\n" + pick(ru, "Опоздание: ", "Late by: ") + late.String()
	}
	body += "\n" + pick(ru, "Срок: ", "Due: ") + a.DueAt.UTC().Format("2006-01-02 15:04 UTC")
	// The page opens a conversation from #c=<id>.
	link := ""
	if publicURL != "" && a.ConversationID != nil {
		link = fmt.Sprintf("%s/#c=%d", strings.TrimRight(publicURL, "/"), *a.ConversationID)
		body += "\n" + link
	}
	return AlertText{Subject: subject, Body: body, Link: link}
}

func pick(ru bool, r, e string) string {
	if ru {
		return r
	}
	return e
}

// OperatorLoad is an operator as the supervisor's view shows them.
type OperatorLoad struct {
	ID     int64  `json:"id" db:"id"`
	Name   string `json:"name" db:"name"`
	Email  string `json:"email" db:"email"`
	Role   Role   `json:"role" db:"role"`
	Online bool   `json:"online" db:"online"`
	// Open counts the conversations that are theirs and not closed.
	Open int `json:"open" db:"-"`
}

// Supervision is the supervisor's view: every conversation that is not
// closed, most urgent first; the operators with their open load; the tasks
// that are overdue.
type Supervision struct {
	Conversations []Conversation `json:"conversations"`
	Operators     []OperatorLoad `json:"operators"`
	OverdueTasks  []Task         `json:"overdue_tasks"`
}
