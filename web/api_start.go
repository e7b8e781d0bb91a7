package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

// ConversationStarter stores the first message of a conversation an
// operator starts (the store implements it).
type ConversationStarter interface {
	StartConversation(ctx context.Context, r inbox.StartRequest) (inbox.Conversation, inbox.Message, []inbox.Event, error)
}

type startBody struct {
	Channel string `json:"channel"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// started is the answer to starting a conversation.
type started struct {
	Conversation inbox.Conversation `json:"conversation"`
	Message      inbox.Message      `json:"message"`
}

// startConversation: POST /clients/{id}/conversations {"channel", "to",
// "subject", "text"}: a new mail to an address on the card (a lead that came
// through a form or Telegram), through an email channel. It opens the
// client's conversation in that channel, or uses the open one, and queues
// the mail like a reply: 202 with the conversation and the message, whose
// delivery follows as message.updated events.
func (a *apiHandler) startConversation(w http.ResponseWriter, r *http.Request) {
	var b startBody
	id, ok := a.clientAndBody(w, r, &b)
	if !ok {
		return
	}
	var ch *ChannelInfo
	for i := range a.channels {
		if a.channels[i].ID == b.Channel {
			ch = &a.channels[i]
		}
	}
	switch {
	case a.starter == nil:
		writeError(w, r, inbox.Errorf(inbox.EUNAVAILABLE, "starting conversations is not available"))
		return
	case ch == nil:
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "unknown channel %q", b.Channel))
		return
	case ch.Type != inbox.ChannelEmail:
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "channel %q cannot start conversations: only email channels can", b.Channel))
		return
	case strings.TrimSpace(b.Text) == "":
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "text is required"))
		return
	}
	to, err := inbox.NormalizeEmail(b.To)
	if err != nil {
		writeError(w, r, err)
		return
	}
	conv, msg, evs, err := a.starter.StartConversation(r.Context(), inbox.StartRequest{
		ClientID: id, ChannelID: ch.ID, ChannelType: ch.Type, AuthorID: operatorID(r),
		To: inbox.Identity{Kind: inbox.IdentityEmail, Value: to}, Subject: b.Subject, Text: b.Text,
		Meta: map[string]string{"to": to},
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.publish(r.Context(), evs)
	if a.kick != nil {
		a.kick()
	}
	writeJSON(w, r, http.StatusAccepted, started{Conversation: conv, Message: msg})
}
