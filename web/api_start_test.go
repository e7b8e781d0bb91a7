package web

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// TestStartConversationChecks: only an email channel starts a mail, only to
// an address on the card, and only with text.
func TestStartConversationChecks(t *testing.T) {
	fx := newFixture(t, Options{Channels: []ChannelInfo{{ID: "mail", Type: inbox.ChannelEmail, Status: "enabled"}}})
	admin := fx.login(fx.admin.Email)
	filed, _, err := fx.st.FileBatch(context.Background(), []inbox.Envelope{{
		DedupeKey: "test:site:lead", ChannelID: "site", ChannelType: inbox.ChannelForm, Kind: inbox.KindForm,
		Text: "перезвоните", ReceivedAt: time.Now(),
		From: inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityEmail, Value: "lead@example.com"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := fx.st.GetConversation(context.Background(), filed[0].Message.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/clients/%d/conversations", c.ClientID)
	for _, tt := range []struct {
		body string
		want int
	}{
		{`{"channel":"nope","to":"lead@example.com","text":"hi"}`, http.StatusBadRequest},
		{`{"channel":"crm","to":"lead@example.com","text":"hi"}`, http.StatusBadRequest},
		{`{"channel":"mail","to":"other@example.com","text":"hi"}`, http.StatusBadRequest},
		{`{"channel":"mail","to":"not an address","text":"hi"}`, http.StatusBadRequest},
		{`{"channel":"mail","to":"lead@example.com","text":" "}`, http.StatusBadRequest},
		{`{"channel":"mail","to":"Lead@Example.com","subject":"Заказ","text":"Здравствуйте!"}`, http.StatusAccepted},
	} {
		w := do(t, fx.h, "POST", path, tt.body, admin.header()...)
		if w.Code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.body, w.Code, w.Body, tt.want)
		}
	}
}
