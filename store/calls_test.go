package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
)

// callCases are the suite's cases for calls and their tasks, run on every
// dialect.
var callCases = []struct {
	name string
	fn   func(t *testing.T, s *store.Store)
}{
	{"CallFoldsIntoOneEntry", testCallFoldsIntoOneEntry},
	{"CallAnyOrder", testCallAnyOrder},
	{"CallTransfer", testCallTransfer},
	{"MissedCallTask", testMissedCallTask},
	{"CallRingingAudience", testCallRingingAudience},
	{"CallUnparsedNumber", testCallUnparsedNumber},
	{"Tasks", testTasks},
	{"CallRecordingAddendum", testCallRecordingAddendum},
	{"CallErased", testCallErased},
	{"CallAfterClosing", testCallAfterClosing},
}

var callStart = time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC)

// callEnv is event key of call id from number, as a connector makes it.
func callEnv(id, key, number string, c inbox.Call) inbox.Envelope {
	e := envelope("call:pbx:"+id+":"+key, "pbx", "", "", phone(number))
	e.ChannelType, e.Item, e.Kind = inbox.ChannelTelephony, inbox.ItemCall, inbox.KindCall
	c.ID = id
	if c.Direction == "" {
		c.Direction = inbox.DirectionIn
	}
	if c.Direction == inbox.DirectionIn {
		c.From, c.To = number, "+74951234567"
	} else {
		c.From, c.To = "101", number
	}
	e.Call = &c
	return e
}

func answeredCall(id, number string) []inbox.Envelope {
	return []inbox.Envelope{
		callEnv(id, "ringing", number, inbox.Call{Event: inbox.CallRinging, StartedAt: callStart}),
		callEnv(id, "ringing:101", number, inbox.Call{Event: inbox.CallRinging, Extension: "101", StartedAt: callStart}),
		callEnv(id, "answered:101", number, inbox.Call{Event: inbox.CallAnswered, Extension: "101",
			AnsweredAt: callStart.Add(5 * time.Second)}),
		callEnv(id, "ended", number, inbox.Call{Event: inbox.CallEnded, StartedAt: callStart,
			EndedAt: callStart.Add(160 * time.Second), Disposition: inbox.DispositionAnswered}),
	}
}

// testCallFoldsIntoOneEntry: the events of one call, one per batch, make
// one call message that each event updates; a redelivered event changes
// nothing.
func testCallFoldsIntoOneEntry(t *testing.T, s *store.Store) {
	envs := answeredCall("c-77", "+79123456789")
	filed, evs := file(t, s, envs[0])
	m := filed[0].Message
	if m.Kind != inbox.KindCall || m.Direction != inbox.DirectionIn || m.Text != "[incoming call: ringing]" ||
		m.Meta["call_id"] != "c-77" || m.Meta["call_from"] != "+79123456789" {
		t.Fatalf("ringing filed as %+v", m)
	}
	want := []string{inbox.EventConversationCreated, inbox.EventMessageCreated, inbox.EventCallUpdated, inbox.EventCallRinging}
	if got := eventTypes(evs); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	for _, e := range envs[1:] {
		filed, evs = file(t, s, e)
		if filed[0].Dup || filed[0].Message.ID != m.ID {
			t.Fatalf("%s filed as %+v, want the call's message %d", e.DedupeKey, filed[0], m.ID)
		}
		if got := eventTypes(evs); got[0] != inbox.EventMessageUpdated || got[1] != inbox.EventCallUpdated {
			t.Fatalf("%s: events = %v", e.DedupeKey, got)
		}
	}
	got := filed[0].Message
	if got.Text != "[incoming call: ended, answered, 2:35, ext. 101]" || got.Meta["call_disposition"] != "answered" ||
		got.Meta["call_extension"] != "101" || got.Meta["call_duration"] != "155" {
		t.Fatalf("call entry = %q %v", got.Text, got.Meta)
	}
	msgs := messages(t, s, m.ConversationID)
	if len(msgs) != 1 || msgs[0].Text != got.Text {
		t.Fatalf("history = %+v, want one call entry", msgs)
	}
	conv := decode[messageData](t, evs[0]).Conversation
	if conv.Unread != 1 {
		t.Errorf("unread = %d, want 1 (one call)", conv.Unread)
	}
	for _, e := range envs {
		filed, evs = file(t, s, e)
		if !filed[0].Dup || len(evs) != 0 {
			t.Fatalf("redelivered %s: %+v, events %v", e.DedupeKey, filed[0], eventTypes(evs))
		}
	}
	// All of a call's events in one batch, twice over: still one entry.
	batch := answeredCall("c-78", "+79123456789")
	filed, _ = file(t, s, append(batch, batch...)...)
	if filed[0].Message.ID == 0 || filed[3].Message.ID != filed[0].Message.ID || !filed[7].Dup {
		t.Fatalf("one batch filed as %+v", filed)
	}
	if n := count(t, s, "messages"); n != 2 {
		t.Errorf("%d messages, want 2 (two calls)", n)
	}
	if n := count(t, s, "calls"); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

// testCallAnyOrder: whatever order a call's events arrive in, one per batch,
// the entry ends the same; an end before its start rings nobody.
func testCallAnyOrder(t *testing.T, s *store.Store) {
	base := answeredCall("x", "+79123456700")
	var want string
	for n, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 3, 0, 1}, {1, 3, 2, 0}, {3, 0, 2, 1}} {
		id := "order-" + string(rune('a'+n))
		envs := answeredCall(id, "+79123456700")
		var (
			last  inbox.Message
			rings int
		)
		for _, k := range order {
			filed, evs := file(t, s, envs[k])
			last = filed[0].Message
			for _, e := range evs {
				if e.Type == inbox.EventCallRinging {
					rings++
				}
			}
		}
		if n == 0 {
			want = last.Text
		}
		if last.Text != want || last.Meta["call_extension"] != "101" || last.Meta["call_disposition"] != "answered" {
			t.Errorf("order %v: entry %q %v, want %q", order, last.Text, last.Meta, want)
		}
		if order[0] == 3 && rings != 0 {
			t.Errorf("order %v: %d call.ringing after the end", order, rings)
		}
	}
	_ = base
	// Answered calls make no tasks.
	if n := count(t, s, "tasks"); n != 0 {
		t.Errorf("%d tasks after answered calls", n)
	}
}

// testCallTransfer: answered on 101, transferred to 102: one call, answered
// by 101 first.
func testCallTransfer(t *testing.T, s *store.Store) {
	n := "+79123456701"
	file(t, s, callEnv("tr", "ringing", n, inbox.Call{Event: inbox.CallRinging}))
	file(t, s, callEnv("tr", "answered:101", n, inbox.Call{Event: inbox.CallAnswered, Extension: "101", AnsweredAt: callStart}))
	file(t, s, callEnv("tr", "answered:102", n, inbox.Call{Event: inbox.CallAnswered, Extension: "102", AnsweredAt: callStart.Add(time.Minute)}))
	filed, _ := file(t, s, callEnv("tr", "ended", n, inbox.Call{Event: inbox.CallEnded, EndedAt: callStart.Add(2 * time.Minute)}))
	m := filed[0].Message
	if m.Meta["call_extension"] != "101" || m.Meta["call_disposition"] != "answered" || count(t, s, "messages") != 1 {
		t.Errorf("transferred call = %q %v", m.Text, m.Meta)
	}
}

// testMissedCallTask: a missed call makes a callback task for the operator
// of the extension that rang, due in the channel's time, and its
// conversation needs action; an answered call from the number closes it,
// and so does an outbound call to it.
func testMissedCallTask(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	olga := addOperator(t, s, "olga@example.com", inbox.RoleOperator)
	n := "+79123456702"
	before := time.Now().Add(-time.Second)
	// The end arrives before the start.
	end := callEnv("m-1", "ended", n, inbox.Call{Event: inbox.CallEnded, Disposition: inbox.DispositionMissed,
		Extension: "101", Operator: "Olga@example.com", CallbackWithin: 30 * time.Minute})
	filed, evs := file(t, s, end)
	if got := eventTypes(evs); !slices.Contains(got, inbox.EventTaskCreated) || slices.Contains(got, inbox.EventCallRinging) {
		t.Fatalf("missed call events = %v", got)
	}
	task := decode[struct {
		Task inbox.Task `json:"task"`
	}](t, evs[len(evs)-1]).Task
	if task.Kind != inbox.TaskCallback || task.AssigneeID == nil || *task.AssigneeID != olga.ID || task.DueAt == nil ||
		task.DueAt.Before(before.Add(30*time.Minute)) || task.DueAt.After(time.Now().Add(31*time.Minute)) ||
		!strings.Contains(task.Title, n) {
		t.Fatalf("callback task = %+v", task)
	}
	if conv, _ := s.GetConversation(ctx, filed[0].Message.ConversationID); conv.Unread == 0 || conv.Status != inbox.StatusNew {
		t.Errorf("conversation after a missed call = %+v, want it needing action", conv)
	}
	file(t, s, callEnv("m-1", "ringing", n, inbox.Call{Event: inbox.CallRinging}))
	if c := count(t, s, "tasks"); c != 1 {
		t.Fatalf("%d tasks after the start arrived, want 1", c)
	}
	// A second missed call from the number: its own task.
	file(t, s, callEnv("m-2", "ended", n, inbox.Call{Event: inbox.CallEnded, Disposition: inbox.DispositionBusy}))
	// The client calls again and somebody answers: both tasks close.
	file(t, s, callEnv("m-3", "ringing", n, inbox.Call{Event: inbox.CallRinging}))
	_, evs = file(t, s, callEnv("m-3", "answered", n, inbox.Call{Event: inbox.CallAnswered, Extension: "102"}))
	var closed []inbox.Task
	for _, e := range evs {
		if e.Type == inbox.EventTaskUpdated {
			closed = append(closed, decode[struct {
				Task inbox.Task `json:"task"`
			}](t, e).Task)
		}
	}
	if len(closed) != 2 || !closed[0].Done || closed[0].DoneAt == nil || closed[0].DoneNote != "closed by an answered call" {
		t.Fatalf("closed tasks = %+v", closed)
	}
	// The card says so.
	card, err := s.GetClient(ctx, task.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range card.Tasks {
		if !tk.Done || tk.DoneNote == "" {
			t.Errorf("card task = %+v, want done with a note", tk)
		}
	}
	// Missed again, then the operator calls out: closed by the outbound call.
	file(t, s, callEnv("m-4", "ended", n, inbox.Call{Event: inbox.CallEnded}))
	_, evs = file(t, s, callEnv("m-5", "ringing", n, inbox.Call{Event: inbox.CallRinging, Direction: inbox.DirectionOut}))
	if got := eventTypes(evs); !slices.Contains(got, inbox.EventTaskUpdated) || slices.Contains(got, inbox.EventCallRinging) {
		t.Fatalf("outbound call events = %v", got)
	}
	open, _, err := s.ListTasks(ctx, inbox.Scope{All: true}, inbox.TaskFilter{State: inbox.TaskStateOpen})
	if err != nil || len(open) != 0 {
		t.Errorf("open tasks = %+v, %v; want none", open, err)
	}
}

// testCallRingingAudience: call.ringing is for the operator of the
// extension, or the channel when the extension is not mapped to one.
func testCallRingingAudience(t *testing.T, s *store.Store) {
	olga := addOperator(t, s, "olga@example.com", inbox.RoleOperator)
	ring := func(id, ext, op string) inbox.Event {
		_, evs := file(t, s, callEnv(id, "ringing", "+79123456703", inbox.Call{Event: inbox.CallRinging, Extension: ext, Operator: op}))
		for _, e := range evs {
			if e.Type == inbox.EventCallRinging {
				return e
			}
		}
		t.Fatalf("no call.ringing among %v", eventTypes(evs))
		return inbox.Event{}
	}
	e := ring("r-1", "101", "olga@example.com")
	if e.Audience.Kind != inbox.AudienceSelf || e.Audience.OperatorID != olga.ID {
		t.Errorf("mapped extension: audience %+v", e.Audience)
	}
	p := decode[inbox.CallPayload](t, e)
	if p.ClientID == 0 || p.Number != "+79123456703" || p.Call.Operator != "" {
		t.Errorf("payload = %+v", p)
	}
	e = ring("r-2", "109", "")
	if e.Audience.Kind != inbox.AudienceChannel || e.Audience.ChannelID != "pbx" {
		t.Errorf("unmapped extension: audience %+v", e.Audience)
	}
	e = ring("r-3", "110", "gone@example.com")
	if e.Audience.Kind != inbox.AudienceChannel {
		t.Errorf("extension of an unknown operator: audience %+v", e.Audience)
	}
}

// testCallUnparsedNumber: a call whose number the connector could not
// parse is stored on a card of its own raw number, matching no card by
// phone.
func testCallUnparsedNumber(t *testing.T, s *store.Store) {
	file(t, s, envelope("api:crm:1", "crm", "Анна", "hi", phone("+79123456704")))
	e := callEnv("u-1", "ended", "+79123456704", inbox.Call{Event: inbox.CallEnded})
	e.From.Identities = []inbox.Identity{{Kind: inbox.IdentityExternal, Value: "pbx:tel:anonymous-7"}}
	e.Meta = map[string]string{"unparsed_phone": "anonymous-7"}
	e.Call.From = "anonymous-7"
	filed, _ := file(t, s, e)
	m := filed[0].Message
	if m.Meta["unparsed_phone"] != "anonymous-7" || m.Meta["call_from"] != "anonymous-7" {
		t.Errorf("call = %+v", m)
	}
	if n := count(t, s, "clients"); n != 2 {
		t.Errorf("%d cards, want 2: the raw number matched a card", n)
	}
}

// testTasks: the tasks list's filters, visibility, change and removal.
func testTasks(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	olga := addOperator(t, s, "olga@example.com", inbox.RoleOperator)
	filed, _ := file(t, s, envelope("api:crm:1", "crm", "Анна", "hi", phone("+79123456705")))
	conv, err := s.GetConversation(ctx, filed[0].Message.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	t1, _, err := s.CreateTask(ctx, olga.ID, conv.ClientID, inbox.Task{Title: "Позвонить", DueAt: &past, AssigneeID: &olga.ID})
	if err != nil || t1.Kind != inbox.TaskFollowUp {
		t.Fatalf("CreateTask = %+v, %v", t1, err)
	}
	t2, _, err := s.CreateTask(ctx, olga.ID, conv.ClientID, inbox.Task{Title: "Встреча", Kind: inbox.TaskMeeting})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateTask(ctx, olga.ID, conv.ClientID, inbox.Task{Title: "x", Kind: "party"}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("unknown kind: %v", err)
	}
	all := inbox.Scope{All: true}
	list := func(scope inbox.Scope, f inbox.TaskFilter) []int64 {
		t.Helper()
		got, _, err := s.ListTasks(ctx, scope, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, tk := range got {
			ids = append(ids, tk.ID)
		}
		return ids
	}
	if got := list(all, inbox.TaskFilter{State: inbox.TaskStateOverdue}); !slices.Equal(got, []int64{t1.ID}) {
		t.Errorf("overdue = %v", got)
	}
	if got := list(all, inbox.TaskFilter{AssigneeID: olga.ID}); !slices.Equal(got, []int64{t1.ID}) {
		t.Errorf("mine = %v", got)
	}
	if got := list(all, inbox.TaskFilter{ClientID: conv.ClientID, State: inbox.TaskStateOpen}); !slices.Equal(got, []int64{t2.ID, t1.ID}) {
		t.Errorf("client's open = %v", got)
	}
	// A restricted operator who does not see the conversation sees none.
	hidden := inbox.Scope{OperatorID: olga.ID, HiddenChannels: []string{"crm"}}
	if got := list(hidden, inbox.TaskFilter{}); len(got) != 0 {
		t.Errorf("hidden channel: tasks %v", got)
	}
	if got := list(inbox.Scope{OperatorID: olga.ID}, inbox.TaskFilter{}); len(got) != 2 {
		t.Errorf("visible channel: tasks %v", got)
	}
	done := true
	title := "Позвонить ещё раз"
	u, evs, err := s.UpdateTask(ctx, olga.ID, t1.ID, inbox.TaskPatch{Done: &done, Title: &title, ClearAssignee: true})
	if err != nil || !u.Done || u.DoneAt == nil || u.Title != title || u.AssigneeID != nil {
		t.Fatalf("UpdateTask = %+v, %v", u, err)
	}
	if got := eventTypes(evs); got[len(got)-1] != inbox.EventTaskUpdated {
		t.Errorf("events = %v", got)
	}
	if got := list(all, inbox.TaskFilter{State: inbox.TaskStateDone}); !slices.Equal(got, []int64{t1.ID}) {
		t.Errorf("done = %v", got)
	}
	if _, err := s.DeleteTask(ctx, olga.ID, t2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTask(ctx, t2.ID); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("deleted task: %v", err)
	}
}

// testCallRecordingAddendum: a recording reported on its own names no
// client: it joins its stored call, and waits (EUNAVAILABLE) for a call not
// stored yet.
func testCallRecordingAddendum(t *testing.T, s *store.Store) {
	rec := inbox.Envelope{Item: inbox.ItemCall, DedupeKey: "call:pbx:e-1:recording:r-1", ChannelID: "pbx",
		ChannelType: inbox.ChannelTelephony, Kind: inbox.KindCall, ReceivedAt: time.Now(),
		Call: &inbox.Call{ID: "e-1", Event: inbox.CallRecording, Recording: "r-1"}}
	if _, _, err := s.FileBatch(ctxT(t), []inbox.Envelope{rec}); inbox.ErrorCode(err) != inbox.EUNAVAILABLE {
		t.Fatalf("recording before its call: %v, want EUNAVAILABLE", err)
	}
	filed, _ := file(t, s, callEnv("e-1", "summary", "+79123456720", inbox.Call{Event: inbox.CallEnded, Disposition: inbox.DispositionAnswered}))
	id := filed[0].Message.ID
	filed, evs := file(t, s, rec)
	if filed[0].Message.ID != id || filed[0].Message.Meta["call_recording"] != "pending" {
		t.Fatalf("recording filed as %+v", filed[0])
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventMessageUpdated, inbox.EventCallUpdated}) {
		t.Errorf("events = %v", got)
	}
	if filed, _ := file(t, s, rec); !filed[0].Dup {
		t.Errorf("redelivered recording: %+v", filed[0])
	}
	if n := count(t, s, "messages"); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// testCallErased: erasing a client blanks their calls' numbers too, and a
// redelivered event of an erased call brings nothing back.
func testCallErased(t *testing.T, s *store.Store) {
	env := callEnv("x-1", "ended", "+79123456730", inbox.Call{Event: inbox.CallEnded})
	filed, _ := file(t, s, env)
	conv, err := s.GetConversation(ctxT(t), filed[0].Message.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EraseClient(ctxT(t), 0, conv.ClientID); err != nil {
		t.Fatal(err)
	}
	var state string
	if err := s.DB().GetContext(ctxT(t), &state, "SELECT state FROM calls"); err != nil || strings.Contains(state, "79123456730") {
		t.Errorf("call state after erasure = %q, %v", state, err)
	}
	if filed, _ := file(t, s, env); !filed[0].Dup {
		t.Errorf("redelivered event of an erased call: %+v", filed[0])
	}
}

// testCallAfterClosing: events of a call whose conversation was closed
// meanwhile join the call where it is and open no conversation; a call that
// turns missed there makes it need action.
func testCallAfterClosing(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	n := "+79123456740"
	filed, _ := file(t, s, callEnv("cl-1", "ringing", n, inbox.Call{Event: inbox.CallRinging}))
	convID := filed[0].Message.ConversationID
	closed := inbox.StatusClosed
	if _, _, err := s.UpdateConversation(ctx, convID, inbox.ConversationPatch{Status: &closed}); err != nil {
		t.Fatal(err)
	}
	convs := count(t, s, "conversations")
	filed, evs := file(t, s, callEnv("cl-1", "ended", n, inbox.Call{Event: inbox.CallEnded}))
	if filed[0].Message.ConversationID != convID || count(t, s, "conversations") != convs {
		t.Fatalf("the end of a call in a closed conversation: %+v, %d conversations (was %d)", filed[0].Message,
			count(t, s, "conversations"), convs)
	}
	if slices.Contains(eventTypes(evs), inbox.EventConversationCreated) {
		t.Errorf("events = %v", eventTypes(evs))
	}
	if conv := decode[messageData](t, evs[0]).Conversation; conv.ID != convID || conv.Unread == 0 {
		t.Errorf("conversation after the missed end = %+v, want it needing action", conv)
	}
	if n := count(t, s, "tasks"); n != 1 {
		t.Errorf("%d tasks, want the callback", n)
	}
}
