package inbox

import (
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox/workhours"
)

// TestSLAPolicyDue: targets count working time only, a channel overrides
// the default, a zero target sets no timer, and the warning comes a fifth
// of the target early unless told otherwise.
func TestSLAPolicyDue(t *testing.T) {
	sched, err := workhours.Parse(workhours.Spec{TimeZone: "Europe/Moscow", Hours: "mon-fri 09:00-18:00", Holidays: []string{"2026-12-31"}})
	if err != nil {
		t.Fatal(err)
	}
	p := &SLAPolicy{Schedule: sched, Default: SLATargets{First: 15 * time.Minute, Next: time.Hour},
		Channels: map[string]SLATargets{"vip": {First: 5 * time.Minute, WarnBefore: time.Minute}, "off": {}}}
	msk := time.FixedZone("MSK", 3*3600)
	friday := time.Date(2026, 12, 4, 17, 55, 0, 0, msk) // Friday, five minutes before closing
	for _, c := range []struct {
		name      string
		channel   string
		kind      SLAKind
		from      time.Time
		due, warn time.Time
		ok        bool
	}{
		{"over the weekend", "crm", SLAFirst, friday, time.Date(2026, 12, 7, 9, 10, 0, 0, msk), time.Date(2026, 12, 7, 9, 7, 0, 0, msk), true},
		{"next answer", "crm", SLANext, time.Date(2026, 12, 3, 10, 0, 0, 0, msk), time.Date(2026, 12, 3, 11, 0, 0, 0, msk), time.Date(2026, 12, 3, 10, 48, 0, 0, msk), true},
		{"channel override", "vip", SLAFirst, time.Date(2026, 12, 3, 10, 0, 0, 0, msk), time.Date(2026, 12, 3, 10, 5, 0, 0, msk), time.Date(2026, 12, 3, 10, 4, 0, 0, msk), true},
		{"over a holiday", "crm", SLAFirst, time.Date(2026, 12, 30, 17, 50, 0, 0, msk), time.Date(2027, 1, 1, 9, 5, 0, 0, msk), time.Date(2027, 1, 1, 9, 2, 0, 0, msk), true},
		{"no target", "off", SLAFirst, friday, time.Time{}, time.Time{}, false},
		{"no next target on the channel", "vip", SLANext, friday, time.Time{}, time.Time{}, false},
	} {
		due, warn, ok := p.Due(c.channel, c.kind, c.from)
		if ok != c.ok || !due.Equal(c.due) || !warn.Equal(c.warn) {
			t.Errorf("%s: Due = %v, %v, %v; want %v, %v, %v", c.name, due, warn, ok, c.due, c.warn, c.ok)
		}
	}
	var none *SLAPolicy
	if _, _, ok := none.Due("crm", SLAFirst, friday); ok {
		t.Error("a nil policy set a timer")
	}
}

// TestFormatAlert: an alert sent out says what, which client, how late, and
// links to the conversation.
func TestFormatAlert(t *testing.T) {
	conv := int64(42)
	a := Alert{Kind: AlertSLABreached, ClientName: "Елена", ConversationID: &conv, LateSeconds: 600,
		DueAt: time.Date(2026, 12, 3, 10, 15, 0, 0, time.UTC)}
	txt := FormatAlert(a, "ru", "https://crm.example.com/")
	for _, want := range []string{"Срок ответа клиенту истёк: Елена", "Опоздание: 10m0s", "https://crm.example.com/#c=42", "2026-12-03 10:15 UTC"} {
		if !strings.Contains(txt.Body, want) {
			t.Errorf("body %q lacks %q", txt.Body, want)
		}
	}
	if txt.Link != "https://crm.example.com/#c=42" || !strings.HasPrefix(txt.Subject, "Срок ответа") {
		t.Errorf("subject %q, link %q", txt.Subject, txt.Link)
	}
	en := FormatAlert(Alert{Kind: AlertTaskOverdue, ClientID: 7, TaskTitle: "Call back"}, "en", "")
	if !strings.Contains(en.Body, "A task is overdue: #7") || !strings.Contains(en.Body, "Task: Call back") || en.Link != "" {
		t.Errorf("english body %q, link %q", en.Body, en.Link)
	}
}
