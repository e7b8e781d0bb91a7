package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
	"github.com/leadhub/leadhub/store"
)

func TestSupervisionSQLite(t *testing.T)   { testSupervision(t, store.DialectSQLite) }
func TestSupervisionPostgres(t *testing.T) { testSupervision(t, store.DialectPostgres) }

// superviseStart is a Thursday, 10:00 UTC.
var superviseStart = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// openSupervised opens a store on the fake clock with a 15-minute first
// answer and a 1-hour next answer, every hour counting.
func openSupervised(t *testing.T, dialect, url string, clock inbox.Clock) *store.Store {
	t.Helper()
	ctx := ctxT(t)
	if url == "" {
		url = "sqlite:" + filepath.Join(t.TempDir(), "leadhub.db")
		if dialect == store.DialectPostgres {
			url = inboxtest.PostgresURL(t)
		}
	}
	policy := &inbox.SLAPolicy{Default: inbox.SLATargets{First: 15 * time.Minute, Next: time.Hour},
		Channels: map[string]inbox.SLATargets{"nosla": {}}}
	s, err := store.Open(ctx, store.Options{URL: url, Clock: clock, SLA: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func testSupervision(t *testing.T, dialect string) {
	for name, fn := range map[string]func(*testing.T, string){
		"timer":      testSLATimer,
		"tasks":      testTaskAlerts,
		"roundrobin": testRoundRobin,
		"requeue":    testRequeue,
		"once":       testAlertsOnce,
		"dispatch":   testAlertDispatch,
	} {
		t.Run(name, func(t *testing.T) { fn(t, dialect) })
	}
}

func opID(t *testing.T, s *store.Store, email string, role inbox.Role) int64 {
	t.Helper()
	return addOperator(t, s, email, role).ID
}

func conversationOf(t *testing.T, s *store.Store, id int64) inbox.Conversation {
	t.Helper()
	c, err := s.GetConversation(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// alertsOf returns the kinds of the viewer's alerts, oldest first.
func alertsOf(t *testing.T, s *store.Store, v inbox.Viewer) []string {
	t.Helper()
	page, err := s.ListAlerts(ctxT(t), v, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	as := page.Items
	var kinds []string
	for i := len(as) - 1; i >= 0; i-- {
		kinds = append(kinds, as[i].Kind)
	}
	return kinds
}

// raise makes a pass and returns the types of the events it wrote, but
// alert.created: each alert writes its fact and alert.created, which the
// pass checks comes once per fact.
func raise(t *testing.T, s *store.Store) []string {
	t.Helper()
	evs, err := s.RaiseAlerts(ctxT(t), time.Hour, 100)
	if err != nil {
		t.Fatal(err)
	}
	var facts []string
	created := 0
	for _, typ := range eventTypes(evs) {
		if typ == inbox.EventAlertCreated {
			created++
		} else {
			facts = append(facts, typ)
		}
	}
	alerts := 0
	for _, typ := range facts {
		if typ != inbox.EventConversationUpdated {
			alerts++
		}
	}
	if created != alerts {
		t.Errorf("%d alert.created for %d alerts (%v)", created, alerts, eventTypes(evs))
	}
	return facts
}

// testSLATimer: a client's message starts the first-answer timer; its
// assignee is warned before the due time and supervisors alerted at it,
// once each, and the breach is on record; a reply stops the timer; the
// client writing again starts the next-answer one; setting the
// conversation aside stops it, and the client writing into it reopens it.
func testSLATimer(t *testing.T, dialect string) {
	ctx := ctxT(t)
	clock := inbox.NewFakeClock(superviseStart)
	s := openSupervised(t, dialect, "", clock)
	anna := opID(t, s, "anna@example.com", inbox.RoleOperator)
	boss := opID(t, s, "boss@example.com", inbox.RoleSupervisor)

	filed, _ := file(t, s, envelope("m1", "crm", "Елена", "Сколько стоит кухня?", phone("+79123450001")))
	id := filed[0].Message.ConversationID
	c := conversationOf(t, s, id)
	if c.WaitingSince == nil || !c.WaitingSince.Equal(superviseStart) || c.SLAKind != inbox.SLAFirst ||
		c.SLADueAt == nil || !c.SLADueAt.Equal(superviseStart.Add(15*time.Minute)) || c.SLABreached {
		t.Fatalf("after the first message: waiting %v kind %q due %v breached %v", c.WaitingSince, c.SLAKind, c.SLADueAt, c.SLABreached)
	}
	// A second message does not move the due time: the client waits since the first.
	clock.Advance(5 * time.Minute)
	file(t, s, envelope("m2", "crm", "Елена", "Алло?", phone("+79123450001")))
	if c := conversationOf(t, s, id); !c.SLADueAt.Equal(superviseStart.Add(15 * time.Minute)) {
		t.Fatalf("a second message moved the due time to %v", c.SLADueAt)
	}
	if _, _, err := s.UpdateConversation(ctx, id, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &anna}); err != nil {
		t.Fatal(err)
	}
	if got := raise(t, s); len(got) != 0 {
		t.Fatalf("alerts before the warning time: %v", got)
	}
	clock.Advance(7 * time.Minute) // 12 minutes in: a fifth of the target is left
	if got := raise(t, s); !slices.Equal(got, []string{inbox.AlertSLAWarning}) {
		t.Fatalf("at the warning time: %v", got)
	}
	if got := raise(t, s); len(got) != 0 {
		t.Fatalf("the warning came twice: %v", got)
	}
	annaView := inbox.Viewer{OperatorID: anna, Role: inbox.RoleOperator}
	bossView := inbox.Viewer{OperatorID: boss, Role: inbox.RoleSupervisor, Scope: inbox.Scope{All: true}}
	if got := alertsOf(t, s, annaView); !slices.Equal(got, []string{inbox.AlertSLAWarning}) {
		t.Fatalf("the assignee's alerts: %v", got)
	}
	if got := alertsOf(t, s, bossView); len(got) != 0 {
		t.Fatalf("a warning reached the supervisor: %v", got)
	}
	clock.Advance(4 * time.Minute) // 16 minutes in
	if got := raise(t, s); !slices.Equal(got, []string{inbox.AlertSLABreached, inbox.EventConversationUpdated}) {
		t.Fatalf("at the due time: %v", got)
	}
	if got := raise(t, s); len(got) != 0 {
		t.Fatalf("the breach came twice: %v", got)
	}
	c = conversationOf(t, s, id)
	if !c.SLABreached {
		t.Fatal("the conversation does not say it is late")
	}
	page, err := s.ListAlerts(ctx, bossView, 0, 10)
	as, unread := page.Items, page.Unread
	if err != nil || len(as) != 1 || unread != 1 || page.Next != 0 {
		t.Fatalf("the supervisor's alerts: %+v, %d unread, next %d, %v", as, unread, page.Next, err)
	}
	if a := as[0]; a.ClientName != "Елена" || a.ConversationID == nil || *a.ConversationID != id || a.LateSeconds != 60 ||
		a.AssigneeID == nil || *a.AssigneeID != anna || a.For != inbox.AlertForSupervisors {
		t.Fatalf("the breach alert: %+v", a)
	}
	if err := s.MarkAlertsRead(ctx, boss, as[0].ID); err != nil {
		t.Fatal(err)
	}
	if page, _ := s.ListAlerts(ctx, bossView, 0, 10); page.Unread != 0 || !page.Items[0].Read {
		t.Fatalf("read alerts still unread: %d", page.Unread)
	}
	if n := count(t, s, "sla_breaches"); n != 1 {
		t.Fatalf("%d breaches on record, want 1", n)
	}

	// The reply stops the timer and is the first reply.
	clock.Advance(time.Minute)
	if _, _, err := s.CreateReply(ctx, id, anna, "Здравствуйте!"); err != nil {
		t.Fatal(err)
	}
	c = conversationOf(t, s, id)
	if c.WaitingSince != nil || c.SLADueAt != nil || c.SLABreached || c.FirstReplyAt == nil ||
		!c.FirstReplyAt.Equal(superviseStart.Add(17*time.Minute)) {
		t.Fatalf("after the reply: waiting %v due %v breached %v first reply %v", c.WaitingSince, c.SLADueAt, c.SLABreached, c.FirstReplyAt)
	}
	// The client writes again: the next answer is due within the hour.
	clock.Advance(time.Minute)
	file(t, s, envelope("m3", "crm", "Елена", "А доставка?", phone("+79123450001")))
	c = conversationOf(t, s, id)
	if c.SLAKind != inbox.SLANext || !c.SLADueAt.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("after the client wrote again: kind %q due %v", c.SLAKind, c.SLADueAt)
	}
	// Set aside: no timer, no alerts however long it waits.
	pendingStatus := inbox.StatusPending
	if _, _, err := s.UpdateConversation(ctx, id, inbox.ConversationPatch{Status: &pendingStatus}); err != nil {
		t.Fatal(err)
	}
	if c := conversationOf(t, s, id); c.SLADueAt != nil || c.WaitingSince != nil {
		t.Fatalf("a pending conversation still has a timer: %v", c.SLADueAt)
	}
	clock.Advance(3 * time.Hour)
	if got := raise(t, s); len(got) != 0 {
		t.Fatalf("alerts on a pending conversation: %v", got)
	}
	file(t, s, envelope("m4", "crm", "Елена", "Так что с доставкой?", phone("+79123450001")))
	c = conversationOf(t, s, id)
	if c.Status != inbox.StatusOpen || c.SLAKind != inbox.SLANext || c.SLADueAt == nil {
		t.Fatalf("the client wrote into a pending conversation: status %s kind %q due %v", c.Status, c.SLAKind, c.SLADueAt)
	}
	// A channel without targets waits, but nothing is due.
	filed, _ = file(t, s, envelope("m5", "nosla", "Пётр", "Привет", phone("+79123450002")))
	c = conversationOf(t, s, filed[0].Message.ConversationID)
	if c.WaitingSince == nil || c.SLADueAt != nil {
		t.Fatalf("a channel without targets: waiting %v due %v", c.WaitingSince, c.SLADueAt)
	}
}

// testTaskAlerts: a task's reminder goes to its assignee when due, its
// alert to supervisors when overdue by the configured time, once each; a
// task done in time alerts nobody; one due in the past is due at once.
func testTaskAlerts(t *testing.T, dialect string) {
	ctx := ctxT(t)
	clock := inbox.NewFakeClock(superviseStart)
	s := openSupervised(t, dialect, "", clock)
	anna := opID(t, s, "anna@example.com", inbox.RoleOperator)
	boss := opID(t, s, "boss@example.com", inbox.RoleSupervisor)
	filed, _ := file(t, s, envelope("t1", "nosla", "Ольга", "Перезвоните", phone("+79123450003")))
	client := conversationOf(t, s, filed[0].Message.ConversationID).ClientID
	due := superviseStart.Add(30 * time.Minute)
	task, _, err := s.CreateTask(ctx, anna, client, inbox.Task{Title: "Перезвонить Ольге", Kind: inbox.TaskCallback, DueAt: &due, AssigneeID: &anna})
	if err != nil {
		t.Fatal(err)
	}
	done, _, err := s.CreateTask(ctx, anna, client, inbox.Task{Title: "Отправить смету", DueAt: &due, AssigneeID: &anna})
	if err != nil {
		t.Fatal(err)
	}
	past := superviseStart.Add(-time.Hour)
	if _, _, err := s.CreateTask(ctx, anna, client, inbox.Task{Title: "Вчерашнее", DueAt: &past}); err != nil {
		t.Fatal(err)
	}
	// Due in the past: reminded at once (its maker), and it is over an hour late.
	if got := raise(t, s); !slices.Equal(got, []string{inbox.AlertTaskDue, inbox.AlertTaskOverdue}) {
		t.Fatalf("a task due in the past: %v", got)
	}
	yes := true
	if _, _, err := s.UpdateTask(ctx, anna, done.ID, inbox.TaskPatch{Done: &yes}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Minute)
	if got := raise(t, s); !slices.Equal(got, []string{inbox.AlertTaskDue}) {
		t.Fatalf("at the due time: %v", got)
	}
	clock.Advance(59 * time.Minute)
	if got := raise(t, s); len(got) != 0 {
		t.Fatalf("before it is an hour overdue: %v", got)
	}
	clock.Advance(time.Minute)
	if got := raise(t, s); !slices.Equal(got, []string{inbox.AlertTaskOverdue}) {
		t.Fatalf("an hour overdue: %v", got)
	}
	clock.Advance(time.Hour)
	if got := raise(t, s); len(got) != 0 {
		t.Fatalf("alerts repeat: %v", got)
	}
	page, err := s.ListAlerts(ctx, inbox.Viewer{OperatorID: boss, Role: inbox.RoleSupervisor, Scope: inbox.Scope{All: true}}, 0, 10)
	as := page.Items
	if err != nil || len(as) != 2 {
		t.Fatalf("the supervisor's alerts: %+v %v", as, err)
	}
	if a := as[0]; a.TaskID == nil || *a.TaskID != task.ID || a.TaskTitle != "Перезвонить Ольге" || a.LateSeconds != 3600 ||
		a.ConversationID == nil || *a.ConversationID != filed[0].Message.ConversationID {
		t.Fatalf("the overdue alert: %+v", a)
	}
	if got := alertsOf(t, s, inbox.Viewer{OperatorID: anna, Role: inbox.RoleOperator}); !slices.Equal(got, []string{inbox.AlertTaskDue, inbox.AlertTaskDue}) {
		t.Fatalf("anna's reminders: %v", got)
	}
	annaView := inbox.Viewer{OperatorID: anna, Role: inbox.RoleOperator}
	first, err := s.ListAlerts(ctx, annaView, 0, 1)
	if err != nil || len(first.Items) != 1 || first.Next != first.Items[0].ID {
		t.Fatalf("a page of one: %+v (%v)", first, err)
	}
	rest, err := s.ListAlerts(ctx, annaView, first.Next, 1)
	if err != nil || len(rest.Items) != 1 || rest.Next != 0 || rest.Items[0].ID >= first.Items[0].ID {
		t.Fatalf("the next page: %+v (%v)", rest, err)
	}
}

// testRoundRobin: waiting conversations go to online operators in turn,
// never to one offline, never past the cap; the turns are fair across
// passes; every assignment is an event and in the audit log.
func testRoundRobin(t *testing.T, dialect string) {
	ctx := ctxT(t)
	clock := inbox.NewFakeClock(superviseStart)
	s := openSupervised(t, dialect, "", clock)
	a := opID(t, s, "a@example.com", inbox.RoleOperator)
	b := opID(t, s, "b@example.com", inbox.RoleOperator)
	c := opID(t, s, "c@example.com", inbox.RoleOperator)
	off := opID(t, s, "off@example.com", inbox.RoleOperator)
	if err := s.TouchPresence(ctx, []int64{off}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // off's socket closed a minute ago
	if err := s.TouchPresence(ctx, []int64{a, b, c}); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		file(t, s, envelope(fmt.Sprintf("rr%d", i), "sales", fmt.Sprintf("Client %d", i), "hi", phone(fmt.Sprintf("+7912345%04d", 100+i))))
	}
	rules := map[string]inbox.AssignmentRule{"sales": {RoundRobin: true, MaxOpen: 2}}
	evs, err := s.AssignWaiting(ctx, rules, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(evs); n != 12 { // moved + updated for each of six
		t.Fatalf("%d events for round-robin, want 12: %v", n, eventTypes(evs))
	}
	convs, _, err := s.ListConversations(ctx, inbox.ConversationFilter{ChannelID: "sales", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	load := map[int64]int{}
	waiting := 0
	for _, cv := range convs {
		if cv.AssigneeID == nil {
			waiting++
			continue
		}
		load[*cv.AssigneeID]++
	}
	if load[a] != 2 || load[b] != 2 || load[c] != 2 || load[off] != 0 || waiting != 1 {
		t.Fatalf("load %v, %d waiting; want 2 each for the online three, one waiting at the cap", load, waiting)
	}
	entries, _, err := s.ListAudit(ctx, inbox.AuditFilter{Action: "conversation.assign", Limit: 50})
	if err != nil || len(entries) != 6 {
		t.Fatalf("%d assignments audited, want 6 (%v)", len(entries), err)
	}
	// Fair across passes: with the cap lifted, the next turn is a's (who
	// got one longest ago), then b's.
	for i := range 2 {
		file(t, s, envelope(fmt.Sprintf("rr-next%d", i), "sales", "Later", "hi", phone(fmt.Sprintf("+7912345%04d", 200+i))))
	}
	if _, err := s.AssignWaiting(ctx, map[string]inbox.AssignmentRule{"sales": {RoundRobin: true}}, 100); err != nil {
		t.Fatal(err)
	}
	convs, _, _ = s.ListConversations(ctx, inbox.ConversationFilter{ChannelID: "sales", Limit: 50})
	load = map[int64]int{}
	for _, cv := range convs {
		if cv.AssigneeID != nil {
			load[*cv.AssigneeID]++
		}
	}
	if load[a]+load[b]+load[c] != 9 || load[a] != 3 || load[b] != 3 || load[c] != 3 {
		t.Fatalf("after a second pass: %v, want 3 each", load)
	}
	// Nobody online: nothing is assigned.
	clock.Advance(inbox.PresenceTTL + time.Second)
	file(t, s, envelope("rr-alone", "sales", "Alone", "hi", phone("+79123450300")))
	if evs, err := s.AssignWaiting(ctx, rules, 100); err != nil || len(evs) != 0 {
		t.Fatalf("assigned with nobody online: %v %v", eventTypes(evs), err)
	}
}

// testRequeue: a conversation whose assignee has been offline longer than
// the channel allows goes back to the queue, audited; an online
// assignee's stays.
func testRequeue(t *testing.T, dialect string) {
	ctx := ctxT(t)
	clock := inbox.NewFakeClock(superviseStart)
	s := openSupervised(t, dialect, "", clock)
	on := opID(t, s, "on@example.com", inbox.RoleOperator)
	gone := opID(t, s, "gone@example.com", inbox.RoleOperator)
	if err := s.TouchPresence(ctx, []int64{on, gone}); err != nil {
		t.Fatal(err)
	}
	f1, _ := file(t, s, envelope("q1", "sales", "One", "hi", phone("+79123450401")))
	f2, _ := file(t, s, envelope("q2", "sales", "Two", "hi", phone("+79123450402")))
	for id, op := range map[int64]int64{f1[0].Message.ConversationID: on, f2[0].Message.ConversationID: gone} {
		if _, _, err := s.UpdateConversation(ctx, id, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &op}); err != nil {
			t.Fatal(err)
		}
	}
	rules := map[string]inbox.AssignmentRule{"sales": {OfflineRequeue: 10 * time.Minute}}
	for range 4 { // "on" keeps a socket open; "gone" closed theirs
		clock.Advance(5 * time.Minute)
		if err := s.TouchPresence(ctx, []int64{on}); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.Requeue(ctx, rules)
	if err != nil {
		t.Fatal(err)
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventConversationMoved, inbox.EventConversationUpdated}) {
		t.Fatalf("requeue events: %v", got)
	}
	if c := conversationOf(t, s, f2[0].Message.ConversationID); c.AssigneeID != nil {
		t.Fatalf("the offline operator's conversation is still theirs")
	}
	if c := conversationOf(t, s, f1[0].Message.ConversationID); c.AssigneeID == nil || *c.AssigneeID != on {
		t.Fatalf("the online operator's conversation was taken")
	}
	entries, _, err := s.ListAudit(ctx, inbox.AuditFilter{Action: "conversation.requeue", Limit: 10})
	if err != nil || len(entries) != 1 {
		t.Fatalf("%d requeues audited, want 1 (%v)", len(entries), err)
	}
}

// testAlertsOnce: two instances (two stores on one database) raise and
// send the same due alerts concurrently; each is raised and claimed for
// sending once.
func testAlertsOnce(t *testing.T, dialect string) {
	if dialect == store.DialectSQLite {
		t.Skip("one process owns an embedded database: instances share PostgreSQL")
	}
	clock := inbox.NewFakeClock(superviseStart)
	url := inboxtest.PostgresURL(t)
	s1 := openSupervised(t, dialect, url, clock)
	s2 := openSupervised(t, dialect, url, clock)
	for i := range 40 {
		file(t, s1, envelope(fmt.Sprintf("once%d", i), "crm", "Client", "hi", phone(fmt.Sprintf("+7912345%04d", 500+i))))
	}
	clock.Advance(20 * time.Minute)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		raised = map[int64]int{}
		sent   = map[int64]int{}
	)
	for _, s := range []*store.Store{s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				evs, err := s.RaiseAlerts(context.Background(), time.Hour, 7)
				if err != nil {
					t.Error(err)
					return
				}
				as, err := s.ClaimAlertDispatch(context.Background(), 5, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, e := range evs {
					if e.Type == inbox.AlertSLABreached {
						raised[*decodeAlert(t, e).ConversationID]++
					}
				}
				for _, a := range as {
					sent[a.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(raised) != 40 {
		t.Fatalf("%d conversations got a breach alert, want 40", len(raised))
	}
	for id, n := range raised {
		if n != 1 {
			t.Errorf("conversation %d: %d breach alerts", id, n)
		}
	}
	for id, n := range sent {
		if n != 1 {
			t.Errorf("alert %d claimed for sending %d times", id, n)
		}
	}
}

func decodeAlert(t *testing.T, e inbox.Event) inbox.Alert {
	t.Helper()
	return decode[inbox.AlertPayload](t, e).Alert
}

// flakyNotifier fails its first n sends.
type flakyNotifier struct {
	mu    sync.Mutex
	fail  int
	sent  []inbox.AlertText
	tries int
}

func (n *flakyNotifier) NotifyAlert(_ context.Context, _ inbox.Alert, text inbox.AlertText) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tries++
	if n.fail > 0 {
		n.fail--
		return fmt.Errorf("telegram: 502 bad gateway")
	}
	n.sent = append(n.sent, text)
	return nil
}

// testAlertDispatch: the Supervisor raises a breach, publishes its events
// and sends supervisors' alerts out; a failed send is tried again after a
// pause, and a sent one never again. Warnings stay in the page.
func testAlertDispatch(t *testing.T, dialect string) {
	ctx := ctxT(t)
	clock := inbox.NewFakeClock(superviseStart)
	s := openSupervised(t, dialect, "", clock)
	filed, _ := file(t, s, envelope("d1", "crm", "Дарья", "Здравствуйте", phone("+79123450601")))
	notifier := &flakyNotifier{fail: 1}
	pub := &eventLog{}
	sup := inbox.NewSupervisor(inbox.SupervisorOptions{Store: s, Publisher: pub, Clock: clock,
		Notifiers: []inbox.AlertNotifier{notifier}, PublicURL: "https://crm.example.com", Language: "en"})
	clock.Advance(13 * time.Minute)
	if _, err := sup.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if notifier.tries != 0 {
		t.Fatal("a warning was sent out")
	}
	clock.Advance(3 * time.Minute)
	if _, err := sup.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if notifier.tries != 1 || len(notifier.sent) != 0 {
		t.Fatalf("after the breach: %d tries, %d sent", notifier.tries, len(notifier.sent))
	}
	if _, err := sup.RunOnce(ctx); err != nil || notifier.tries != 1 {
		t.Fatalf("tried again at once: %d tries (%v)", notifier.tries, err)
	}
	clock.Advance(inbox.AlertBackoff(1))
	if _, err := sup.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(notifier.sent) != 1 {
		t.Fatalf("after the pause: %d sent", len(notifier.sent))
	}
	want := fmt.Sprintf("https://crm.example.com/#c=%d", filed[0].Message.ConversationID)
	if txt := notifier.sent[0]; txt.Link != want || !strings.Contains(txt.Body, "Дарья") {
		t.Fatalf("sent %+v, want a link to %s", txt, want)
	}
	clock.Advance(time.Hour)
	if _, err := sup.RunOnce(ctx); err != nil || notifier.tries != 2 {
		t.Fatalf("sent again: %d tries (%v)", notifier.tries, err)
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if got := eventTypes(pub.evs); !slices.Contains(got, inbox.AlertSLAWarning) || !slices.Contains(got, inbox.AlertSLABreached) {
		t.Fatalf("published %v", got)
	}
}
