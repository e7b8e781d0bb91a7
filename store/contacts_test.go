package store

import (
	"context"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

func TestContactsSQLite(t *testing.T)   { testContacts(t, DialectSQLite) }
func TestContactsPostgres(t *testing.T) { testContacts(t, DialectPostgres) }

// testContacts: filing keeps a card's first and last campaign marks and its
// last contact; an operator's reply is a contact and names who answered
// first; triage is recorded once; merging keeps the earlier first touch.
func testContacts(t *testing.T, dialect string) {
	ctx := context.Background()
	s := openMigrated(t, dialect)
	clock := inbox.NewFakeClock(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	s.clock = clock
	form := func(key, phone string, meta map[string]string) inbox.Filed {
		t.Helper()
		filed, _, err := s.FileBatch(ctx, []inbox.Envelope{{DedupeKey: key, ChannelID: "site", ChannelType: inbox.ChannelForm,
			From: inbox.Contact{Name: "Лид", Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: phone}}},
			Text: "заявка", Meta: meta}})
		if err != nil {
			t.Fatal(err)
		}
		return filed[0]
	}
	type activity struct {
		FirstSource   string  `db:"first_utm_source"`
		FirstCampaign string  `db:"first_utm_campaign"`
		LastSource    string  `db:"last_utm_source"`
		LastCampaign  string  `db:"last_utm_campaign"`
		FirstTouch    sqlTime `db:"first_touch_at"`
		LastContact   sqlTime `db:"last_contact_at"`
	}
	read := func(clientID int64) activity {
		t.Helper()
		var a activity
		if err := s.db.GetContext(ctx, &a, s.db.Rebind(`SELECT first_utm_source, first_utm_campaign, last_utm_source,
			last_utm_campaign, first_touch_at, last_contact_at FROM client_activity WHERE client_id = ?`), clientID); err != nil {
			t.Fatal(err)
		}
		return a
	}
	f1 := form("a1", "+79123450001", map[string]string{"utm_source": "yandex", "utm_campaign": "kitchens"})
	conv, err := s.GetConversation(ctx, f1.Message.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	client := conv.ClientID
	clock.Advance(time.Hour)
	form("a2", "+79123450001", map[string]string{"utm_source": "google"})
	clock.Advance(time.Hour)
	form("a3", "+79123450001", nil)
	a := read(client)
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	if a.FirstSource != "yandex" || a.FirstCampaign != "kitchens" || a.LastSource != "google" || a.LastCampaign != "" ||
		!a.FirstTouch.Equal(t0) || !a.LastContact.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after three messages: %+v", a)
	}
	op, _, err := s.AddOperator(ctx, 0, inbox.Operator{Email: "anna@example.com", Role: inbox.RoleOperator}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if _, _, err := s.AcceptConversation(ctx, op.ID, conv.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateReply(ctx, conv.ID, op.ID, "Здравствуйте"); err != nil {
		t.Fatal(err)
	}
	if a := read(client); !a.LastContact.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("a reply is not a contact: %v", a.LastContact)
	}
	var row struct {
		FirstStatus string `db:"first_status"`
		Triage      string `db:"triage"`
		By          int64  `db:"first_reply_by"`
	}
	if err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT first_status, triage, first_reply_by FROM conversations WHERE id = ?`), conv.ID); err != nil {
		t.Fatal(err)
	}
	if row.FirstStatus != "new" || row.Triage != "accepted" || row.By != op.ID {
		t.Errorf("conversation outcome: %+v", row)
	}
	// An older lead of another card with an earlier first touch, merged
	// into this one: its first touch wins, this card's last contact stays.
	s.clock = inbox.NewFakeClock(t0.Add(-24 * time.Hour))
	f2 := form("b1", "+79123450002", map[string]string{"utm_source": "vk", "utm_campaign": "spring"})
	other, _ := s.GetConversation(ctx, f2.Message.ConversationID)
	s.clock = clock
	if _, _, err := s.MergeClients(ctx, op.ID, client, other.ClientID); err != nil {
		t.Fatal(err)
	}
	a = read(client)
	if a.FirstSource != "vk" || a.FirstCampaign != "spring" || a.LastSource != "google" || !a.LastContact.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("after the merge: %+v", a)
	}
}
