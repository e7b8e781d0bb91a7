package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// Calls: every event of one provider call (channel, call id) folds into one
// "call" message in the client's conversation (inbox.Call.Fold), whatever
// order the events arrive in. The first event stored creates the message
// and a calls row holding the call as folded so far; each later event
// updates both and writes message.updated. Every event also writes
// call.updated, and an inbound ringing one call.ringing for the operator
// of the extension that rings (the channel's team when unmapped). The
// events' own dedupe keys live in call_events, so a redelivered event of
// any kind changes nothing.
//
// A call that turns out missed (inbound, ended unanswered) bumps its
// conversation's unread count again, so the conversation needs action, and
// creates a callback task due CallbackWithin from now, for the operator of
// the extension that rang, else the conversation's assignee. An inbound
// call answered, or an outbound call, to the same card closes its open
// callback tasks and says so on them (done_note).

// callMessage is the draft message of a call event, before folding: what
// filing reads the direction from.
func callMessage(env *inbox.Envelope) inbox.Message {
	text, meta := callEntry(*env.Call, env.Meta, env.Text)
	return inbox.Message{
		Direction:  env.Call.Direction,
		Kind:       inbox.KindCall,
		Text:       text,
		Meta:       meta,
		ExternalID: env.ExternalID,
	}
}

// callEntry is what a call's message says: the summary as text, unless the
// connector gave one, and the call's details in meta under call_* keys over
// base.
func callEntry(c inbox.Call, base map[string]string, text string) (string, map[string]string) {
	meta := maps.Clone(base)
	if meta == nil {
		meta = map[string]string{}
	}
	set := func(k, v string) {
		if v != "" {
			meta[k] = v
		} else {
			delete(meta, k)
		}
	}
	set("call_id", c.ID)
	set("call_event", c.Event)
	set("call_from", c.From)
	set("call_to", c.To)
	set("call_extension", c.Extension)
	set("call_operator", c.Operator)
	set("call_disposition", c.Outcome())
	set("call_recording_url", c.RecordingURL)
	if d := c.Talk(); d > 0 {
		set("call_duration", strconv.Itoa(int(d/time.Second)))
	}
	for k, t := range map[string]time.Time{"call_started_at": c.StartedAt, "call_answered_at": c.AnsweredAt,
		"call_ended_at": c.EndedAt} {
		if !t.IsZero() {
			meta[k] = dbTime(t)
		} else {
			delete(meta, k)
		}
	}
	if text == "" {
		text = c.Summary()
	}
	return text, meta
}

// callRow is a stored call with its message's conversation.
type callRow struct {
	ID             int64  `db:"id"`
	MessageID      int64  `db:"message_id"`
	State          string `db:"state"`
	ConversationID int64  `db:"conversation_id"`
}

// callState is a call as the batch knows it.
type callState struct {
	id   int64
	call inbox.Call
	msg  inbox.Message
	conv inbox.Conversation // the conversation the call's message is in
}

// callFiled is what filing one call event did, for buildEvents.
type callFiled struct {
	st       *callState
	created  bool
	call     inbox.Call // the call as folded, after this event
	missed   bool       // this event made the call missed
	ringing  bool       // this event rings an operator
	operator int64      // the operator of the call's extension, 0 when unmapped
	tasks    []inbox.PendingEvent
}

// callEventKeys returns which of keys are stored call events.
func (f *filing) callEventKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	return foundKeys(ctx, f.tx, f.s.q.CallEventKeys, "find call events", keys)
}

// fileCalls is the piece for inbox.ItemCall, run after the other kinds'
// messages are inserted: each call event in order creates its call or
// folds into it.
func (f *filing) fileCalls(ctx context.Context) error {
	known := map[string]*callState{}
	for _, i := range f.todo {
		if f.item[i] != inbox.ItemCall {
			continue
		}
		env := &f.envs[i]
		key := env.ChannelID + "\x00" + env.Call.ID
		st, ok := known[key]
		if !ok {
			var err error
			if st, err = f.loadCall(ctx, env.ChannelID, env.Call.ID); err != nil {
				return err
			}
		}
		var (
			cf  *callFiled
			err error
		)
		if st == nil {
			cf, err = f.createCall(ctx, i)
		} else {
			cf, err = f.foldCall(ctx, i, st)
		}
		if err != nil {
			return err
		}
		if cf == nil { // filed by a concurrent transaction
			f.filed[i] = inbox.Filed{Dup: true}
			continue
		}
		known[key] = cf.st
		if err := f.callTasks(ctx, i, cf); err != nil {
			return err
		}
		f.calls[i] = cf
		f.filed[i] = inbox.Filed{Message: cf.st.msg}
	}
	return nil
}

// loadCall returns the stored call, or nil.
func (f *filing) loadCall(ctx context.Context, channelID, callID string) (*callState, error) {
	var row callRow
	err := f.tx.GetContext(ctx, &row, f.s.q.CallByProvider, channelID, callID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load call: %w", err)
	}
	st := &callState{id: row.ID}
	if err := json.Unmarshal([]byte(row.State), &st.call); err != nil {
		return nil, fmt.Errorf("call %d state: %w", row.ID, err)
	}
	var m messageRow
	if err := f.tx.GetContext(ctx, &m, f.s.q.MessageByID, row.MessageID); err != nil {
		return nil, fmt.Errorf("call %d message: %w", row.ID, err)
	}
	if st.msg, err = m.message(); err != nil {
		return nil, err
	}
	if st.conv, err = f.s.conversation(ctx, f.tx, f.s.q.ConversationByID, row.ConversationID); err != nil {
		return nil, fmt.Errorf("call %d conversation: %w", row.ID, err)
	}
	return st, nil
}

// createCall stores the first event of a call: its message, its calls row
// and its event key. It returns nil when a concurrent transaction stored
// the message's dedupe key first.
func (f *filing) createCall(ctx context.Context, i int) (*callFiled, error) {
	env := &f.envs[i]
	d := &f.draft[i]
	d.ConversationID = f.convOf[i].conv.ID
	d.Text, d.ExternalID, d.CreatedAt = clean(d.Text), clean(d.ExternalID), f.now
	rec, due := f.recordingDue(*env.Call)
	if rec != "" {
		d.Meta = maps.Clone(d.Meta)
		d.Meta["call_recording"] = rec // the entry says a recording is coming
	}
	meta, err := metaText(d.Meta)
	if err != nil {
		return nil, fmt.Errorf("encode meta: %w", err)
	}
	arg, err := jsonArg([]newMessage{{
		ConversationID: d.ConversationID, Direction: string(d.Direction), Kind: string(d.Kind),
		Text: d.Text, Meta: meta, ExternalID: d.ExternalID,
		DedupeKey: clean(env.DedupeKey), CreatedAt: dbTime(f.now),
	}})
	if err != nil {
		return nil, err
	}
	var inserted []struct {
		ID        int64  `db:"id"`
		DedupeKey string `db:"dedupe_key"`
	}
	if err := f.tx.SelectContext(ctx, &inserted, f.s.q.InsertMessages, arg); err != nil {
		return nil, fmt.Errorf("insert call message: %w", err)
	}
	if len(inserted) == 0 {
		return nil, nil
	}
	st := &callState{call: *env.Call, msg: *d, conv: f.convOf[i].conv}
	st.msg.ID = inserted[0].ID
	state, err := json.Marshal(st.call)
	if err != nil {
		return nil, fmt.Errorf("encode call: %w", err)
	}
	err = f.s.q.InsertCall.get(ctx, f.tx, &st.id, callInsert{ChannelID: env.ChannelID, CallID: env.Call.ID,
		MessageID: st.msg.ID, State: string(state), RecordingState: rec, RecordingDueAt: due, At: dbTime(f.now)})
	if err != nil {
		return nil, fmt.Errorf("insert call: %w", err)
	}
	if ok, err := f.recordCallEvent(ctx, env.DedupeKey, st.id); err != nil || !ok {
		return nil, err
	}
	return &callFiled{st: st, created: true, call: st.call, missed: st.call.Missed(),
		ringing: ringing(st.call, *env.Call)}, nil
}

// foldCall folds a later event into a stored call. It returns nil when a
// concurrent transaction recorded the event first.
func (f *filing) foldCall(ctx context.Context, i int, st *callState) (*callFiled, error) {
	env := &f.envs[i]
	if ok, err := f.recordCallEvent(ctx, env.DedupeKey, st.id); err != nil || !ok {
		return nil, err
	}
	before := st.call
	st.call = before.Fold(*env.Call)
	// The message keeps what is not the call's (an unparsed number, a
	// recording attached); the call's own keys are written anew.
	base := st.msg.Meta
	for k, v := range env.Meta {
		if _, ok := base[k]; !ok {
			base = maps.Clone(base)
			if base == nil {
				base = map[string]string{}
			}
			base[k] = v
		}
	}
	st.msg.Text, st.msg.Meta = callEntry(st.call, base, "")
	rec, due := f.recordingDue(st.call)
	if rec != "" && st.msg.Meta["call_recording"] == "" {
		st.msg.Meta["call_recording"] = rec
	}
	att, err := attachmentsText(st.msg.Attachments)
	if err != nil {
		return nil, fmt.Errorf("encode attachments: %w", err)
	}
	meta, err := metaText(st.msg.Meta)
	if err != nil {
		return nil, fmt.Errorf("encode meta: %w", err)
	}
	if _, err := f.tx.ExecContext(ctx, f.s.q.EditMessage, st.msg.Subject, clean(st.msg.Text), att, meta, st.msg.ID); err != nil {
		return nil, fmt.Errorf("update call message: %w", err)
	}
	state, err := json.Marshal(st.call)
	if err != nil {
		return nil, fmt.Errorf("encode call: %w", err)
	}
	if _, err := f.s.q.UpdateCall.exec(ctx, f.tx, callUpdate{ID: st.id, State: string(state), RecordingState: rec,
		RecordingDueAt: due, At: dbTime(f.now)}); err != nil {
		return nil, fmt.Errorf("update call: %w", err)
	}
	return &callFiled{st: st, call: st.call, missed: !before.Missed() && st.call.Missed(),
		ringing: ringing(st.call, *env.Call)}, nil
}

// ringing reports whether event e rings an operator: an inbound ringing
// event of a call that, with it folded in, is neither answered nor over
// (an end that arrived before its start rings nobody).
func ringing(after, e inbox.Call) bool {
	return e.Event == inbox.CallRinging && after.Direction == inbox.DirectionIn && after.Event == inbox.CallRinging
}

// recordingDue says whether the call has a recording to fetch: pending,
// due now, when the provider named one.
func (f *filing) recordingDue(c inbox.Call) (string, any) {
	if c.Recording == "" && c.RecordingURL == "" {
		return "", nil
	}
	return "pending", dbTime(f.now.Add(recordingDelay))
}

// recordCallEvent stores an event's dedupe key under its call; false means
// a concurrent transaction stored it first.
func (f *filing) recordCallEvent(ctx context.Context, key string, callID int64) (bool, error) {
	var got []string
	if err := f.tx.SelectContext(ctx, &got, f.s.q.InsertCallEvent, clean(key), callID, dbTime(f.now)); err != nil {
		return false, fmt.Errorf("record call event: %w", err)
	}
	return len(got) > 0, nil
}

// callTasks creates the callback task of a call that became missed, and
// closes the card's callback tasks when this call reaches the client.
func (f *filing) callTasks(ctx context.Context, i int, cf *callFiled) error {
	c := cf.call
	if c.Operator != "" {
		var id int64
		err := f.tx.GetContext(ctx, &id, f.s.q.ActiveOperator, strings.ToLower(c.Operator))
		switch {
		case err == nil:
			cf.operator = id
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("operator of extension %s: %w", c.Extension, err)
		}
	}
	clientID := cf.st.conv.ClientID
	if f.silent(clientID) {
		return nil
	}
	reached := (c.Direction == inbox.DirectionIn && c.Outcome() == inbox.DispositionAnswered) ||
		c.Direction == inbox.DirectionOut
	if reached {
		note := "closed by an answered call"
		if c.Direction == inbox.DirectionOut {
			note = "closed by an outbound call"
		}
		var rows []taskRow
		if err := f.s.q.CloseCallbacks.selectAll(ctx, f.tx, &rows, callbackClose{ClientID: clientID, CallID: cf.st.id,
			Note: note, At: dbTime(f.now)}); err != nil {
			return fmt.Errorf("close callback tasks: %w", err)
		}
		for _, r := range rows {
			cf.tasks = append(cf.tasks, inbox.TaskUpdated(r.task(), false))
		}
	}
	if !cf.missed {
		return nil
	}
	within := c.CallbackWithin
	if within <= 0 {
		within = inbox.DefaultCallbackWithin
	}
	due := f.now.Add(within).UTC().Truncate(time.Microsecond)
	t := inbox.Task{ClientID: clientID, Kind: inbox.TaskCallback, DueAt: &due, CreatedAt: f.now}
	t.Title = "Call back " + firstNonEmpty(c.ClientNumber(), "the caller")
	var assignee any
	switch {
	case cf.operator != 0:
		t.AssigneeID = &cf.operator
	case cf.st.conv.AssigneeID != nil:
		a := *cf.st.conv.AssigneeID
		t.AssigneeID = &a
	}
	if t.AssigneeID != nil {
		assignee = *t.AssigneeID
	}
	err := f.s.q.InsertTask.get(ctx, f.tx, &t.ID, taskInsert{ClientID: clientID, Title: clean(t.Title), DueAt: dbTime(due),
		AssigneeID: assignee, At: dbTime(f.now), Kind: string(inbox.TaskCallback), CallID: cf.st.id})
	if err != nil {
		return fmt.Errorf("insert callback task: %w", err)
	}
	cf.tasks = append(cf.tasks, inbox.TaskCreated(t))
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// callEvents advances the conversation for a call event and returns its
// events: message.created for a new call, message.updated for a folded
// event, then call.updated, call.ringing when it rings, and its tasks'.
// A new call counts like any item; a call that became missed counts again,
// as unread, so its conversation needs action.
func (f *filing) callEvents(i int, st *convState) []inbox.PendingEvent {
	cf := f.calls[i]
	conv := cf.st.conv
	bump := cf.created || cf.missed
	if st != nil && st.conv.ID == conv.ID {
		if bump {
			st.added++
			if cf.created && cf.call.Direction == inbox.DirectionOut {
				st.conv.Unread = 0
			} else {
				st.conv.Unread++
			}
			st.conv.LastMessageAt = f.now
		}
		conv = st.conv
	}
	cf.st.conv = conv
	msg := cf.st.msg
	var evs []inbox.PendingEvent
	if cf.created {
		evs = append(evs, inbox.MessageCreated(msg, conv))
	} else {
		evs = append(evs, inbox.MessageUpdated(msg, conv))
	}
	p := inbox.CallPayload{Call: cf.call, Message: msg, Conversation: &conv, ClientID: conv.ClientID,
		ClientName: conv.ClientName, Number: cf.call.ClientNumber()}
	p.Call.Operator = "" // emails stay among operators' data, not in every payload
	evs = append(evs, inbox.CallUpdatedEvent(p, conv))
	if cf.ringing {
		evs = append(evs, inbox.CallRingingEvent(p, conv.ChannelID, cf.operator))
	}
	return append(evs, cf.tasks...)
}

// foldStoredCalls files the call events whose call is stored already: each
// folds into its call where the call's entry is, and leaves f.todo, so that
// no card is matched and no conversation opened for it (a recording posted
// after the operator closed the conversation must not open an empty one).
// A call that turns missed here bumps its conversation's unread count
// itself. A call event that names no client (a recording a provider reports
// on its own) whose call is not stored yet is EUNAVAILABLE: the worker
// files the batch's envelopes one by one, and this one again later, after
// its call. Other events of calls not stored yet stay for fileCalls.
func (f *filing) foldStoredCalls(ctx context.Context) ([]inbox.PendingEvent, error) {
	var (
		evs  []inbox.PendingEvent
		rest = f.todo[:0:0]
	)
	for _, i := range f.todo {
		env := &f.envs[i]
		if f.item[i] != inbox.ItemCall {
			rest = append(rest, i)
			continue
		}
		st, err := f.loadCall(ctx, env.ChannelID, env.Call.ID)
		if err != nil {
			return nil, err
		}
		if st == nil {
			if env.CallAddendum() {
				return nil, inbox.Errorf(inbox.EUNAVAILABLE, "the call of %s is not stored yet", env.DedupeKey)
			}
			rest = append(rest, i)
			continue
		}
		cf, err := f.foldCall(ctx, i, st)
		if err != nil {
			return nil, err
		}
		if cf == nil {
			f.filed[i] = inbox.Filed{Dup: true}
			continue
		}
		if err := f.callTasks(ctx, i, cf); err != nil {
			return nil, err
		}
		if cf.missed {
			if _, err := f.tx.ExecContext(ctx, f.s.q.BumpUnread, dbTime(f.now), st.conv.ID); err != nil {
				return nil, fmt.Errorf("bump unread: %w", err)
			}
			if st.conv, err = f.s.conversation(ctx, f.tx, f.s.q.ConversationByID, st.conv.ID); err != nil {
				return nil, err
			}
		}
		f.calls[i] = cf
		f.filed[i] = inbox.Filed{Message: cf.st.msg}
		evs = append(evs, f.callEvents(i, nil)...)
	}
	f.todo = rest
	return evs, nil
}
