package vk

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/SevereCloud/vksdk/v3/events"

	"github.com/leadhub/leadhub/inbox"
)

// ack is the body VK expects for every event it should not resend.
var ack = []byte("ok")

// chatPeerBase: a peer_id above it is a group chat (2000000000 + chat id).
const chatPeerBase = 2000000000

// callback is the envelope of every Callback API request.
type callback struct {
	Type    string          `json:"type"`
	GroupID int64           `json:"group_id"`
	EventID string          `json:"event_id"`
	Version string          `json:"v"`
	Secret  string          `json:"secret"`
	Object  json.RawMessage `json:"object"`
}

// Parse checks the callback's group and secret and decodes one event. It has
// no side effects: the caller enqueues the envelopes and only then answers
// with the returned ack ("ok", or the confirmation code). An event leadhub
// does not handle gives no envelope and no error, so VK gets its "ok" and
// does not resend it.
func (c *Channel) Parse(r *http.Request, body []byte) ([]inbox.Envelope, []byte, error) {
	var cb callback
	if err := json.Unmarshal(body, &cb); err != nil || cb.Type == "" {
		return nil, nil, inbox.Errorf(inbox.EINVALID, "body is not a VK Callback API event")
	}
	if cb.GroupID != c.opts.GroupID {
		c.log.Warn("vk: callback for another community refused", "group_id", cb.GroupID, "type", short(cb.Type))
		return nil, nil, inbox.Errorf(inbox.EFORBIDDEN, "wrong group_id")
	}
	if !c.secretOK(cb.Secret) {
		// The secret itself is never logged; whether one came is enough.
		c.log.Warn("vk: callback with a missing or wrong secret refused", "type", short(cb.Type), "secret_given", cb.Secret != "")
		return nil, nil, inbox.Errorf(inbox.EFORBIDDEN, "missing or wrong secret")
	}
	if cb.Type == events.EventConfirmation {
		return nil, []byte(c.opts.Confirmation), nil
	}
	env, ok, err := c.decode(&cb)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, ack, nil
	}
	return []inbox.Envelope{env}, ack, nil
}

// decode maps one event. ok is false for events that carry nothing to file.
func (c *Channel) decode(cb *callback) (env inbox.Envelope, ok bool, err error) {
	switch cb.Type {
	case events.EventMessageNew:
		m, err := newMessage(cb.Object)
		if err != nil {
			return env, false, err
		}
		return c.fromClient(cb, m, inbox.ItemMessage)
	case events.EventMessageEdit:
		m, err := decodeMessage(cb.Object)
		if err != nil {
			return env, false, err
		}
		return c.fromClient(cb, m, inbox.ItemEdit)
	case events.EventMessageReply:
		m, err := decodeMessage(cb.Object)
		if err != nil {
			return env, false, err
		}
		return c.fromCommunity(cb, m)
	case events.EventMessageAllow, events.EventMessageDeny:
		return c.permission(cb)
	case events.EventMessageTypingState:
		return env, false, nil
	}
	c.log.Info("vk: event type not handled", "type", short(cb.Type), "event_id", short(cb.EventID))
	return env, false, nil
}

// newMessage reads message_new's object. Since API 5.103 it is
// {"message": ..., "client_info": ...}; before, it was the message itself.
// vksdk decodes the older shape as an empty message, so the shape is told
// apart here by the "message" key.
func newMessage(raw json.RawMessage) (*message, error) {
	var wrapped struct {
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, inbox.Errorf(inbox.EINVALID, "message_new: object is malformed")
	}
	if len(wrapped.Message) > 0 && string(wrapped.Message) != "null" {
		return decodeMessage(wrapped.Message)
	}
	return decodeMessage(raw)
}

// fromClient maps a customer's message (message_new) or their edit of one
// (message_edit). Messages in group chats and the community's own messages
// are not a customer writing to the community.
func (c *Channel) fromClient(cb *callback, m *message, item inbox.Item) (inbox.Envelope, bool, error) {
	switch {
	case m.FromID <= 0 || m.Out == 1:
		c.log.Info("vk: message ignored", "type", cb.Type, "reason", "not from a user")
		return inbox.Envelope{}, false, nil
	case m.PeerID != m.FromID:
		c.log.Info("vk: message ignored", "type", cb.Type, "reason", "not a private dialog with the community")
		return inbox.Envelope{}, false, nil
	}
	meta := map[string]string{}
	text, atts := content(m, meta)
	if text == "" && len(atts) == 0 {
		c.log.Info("vk: message ignored", "type", cb.Type, "reason", "no content leadhub shows")
		return inbox.Envelope{}, false, nil
	}
	if m.Payload != "" && len(m.Payload) <= 1000 {
		meta["vk_payload"] = m.Payload
	}
	if m.Ref != "" {
		meta["vk_ref"] = m.Ref
		if m.RefSource != "" {
			meta["vk_ref_source"] = m.RefSource
		}
	}
	at := m.Date
	if item == inbox.ItemEdit && m.UpdateTime > 0 {
		at = m.UpdateTime
	}
	env := c.envelope(cb, item, m.FromID, text, atts, meta, at)
	env.ExternalID = externalID(m.PeerID, m.ConversationMessageID, m.ID)
	return env, true, nil
}

// fromCommunity maps message_reply: a message the community sent. An echo
// of leadhub's own messages.send is recognised by its random_id and
// dropped; anything else was written in VK's own interface (or by another
// bot) and is stored as outgoing, never sent again.
func (c *Channel) fromCommunity(cb *callback, m *message) (inbox.Envelope, bool, error) {
	switch {
	case c.isOwnRandomID(m.RandomID):
		return inbox.Envelope{}, false, nil
	case m.PeerID <= 0 || m.PeerID >= chatPeerBase:
		c.log.Info("vk: reply ignored", "reason", "not a private dialog with a user")
		return inbox.Envelope{}, false, nil
	}
	meta := map[string]string{}
	text, atts := content(m, meta)
	if text == "" && len(atts) == 0 {
		return inbox.Envelope{}, false, nil
	}
	if m.AdminAuthorID > 0 {
		meta["vk_admin_author_id"] = strconv.FormatInt(m.AdminAuthorID, 10)
	}
	// The community's own media are not downloaded: the links stay.
	for i := range atts {
		atts[i].URL = trimScheme(atts[i].URL)
	}
	env := c.envelope(cb, inbox.ItemOutgoing, m.PeerID, text, atts, meta, m.Date)
	env.ExternalID = externalID(m.PeerID, m.ConversationMessageID, m.ID)
	return env, true, nil
}

// permission maps message_allow and message_deny to facts on the card.
func (c *Channel) permission(cb *callback) (inbox.Envelope, bool, error) {
	var o events.MessageAllowObject
	if err := json.Unmarshal(cb.Object, &o); err != nil {
		return inbox.Envelope{}, false, inbox.Errorf(inbox.EINVALID, "%s: object is malformed", cb.Type)
	}
	if o.UserID <= 0 {
		c.log.Info("vk: permission event ignored", "type", cb.Type, "reason", "no user")
		return inbox.Envelope{}, false, nil
	}
	fact := &inbox.Fact{Name: inbox.FactMessagingAllowed}
	var meta map[string]string
	if cb.Type == events.EventMessageDeny {
		fact = &inbox.Fact{Name: inbox.FactMessagingDenied, Value: DeniedReason}
	} else if o.Key != "" && len(o.Key) <= 200 {
		meta = map[string]string{"vk_allow_key": o.Key}
	}
	env := c.envelope(cb, inbox.ItemFact, int64(o.UserID), "", nil, meta, 0)
	env.Fact = fact
	return env, true, nil
}

// DeniedReason is how a client's message_deny shows on their card.
const DeniedReason = "the client denied messages from the community in VK"

// envelope builds what every event shares: the user's VK identity and
// profile link, the dedupe key and the time.
func (c *Channel) envelope(cb *callback, item inbox.Item, userID int64, text string, atts []inbox.Attachment, meta map[string]string, unix int64) inbox.Envelope {
	id := strconv.FormatInt(userID, 10)
	if len(meta) == 0 {
		meta = nil
	}
	return inbox.Envelope{
		Item:        item,
		DedupeKey:   c.dedupeKey(cb),
		ChannelID:   c.opts.ChannelID,
		ChannelType: inbox.ChannelVK,
		Kind:        inbox.KindText,
		From: inbox.Contact{
			Identities: []inbox.Identity{{Kind: inbox.IdentityVK, Value: id}},
			Fields:     map[string]string{ProfileField: ProfileURL(userID)},
		},
		Text:        text,
		Attachments: atts,
		Meta:        meta,
		ReceivedAt:  c.receivedAt(unix),
	}
}

// ProfileURL is a VK user's profile page.
func ProfileURL(userID int64) string { return "https://vk.com/id" + strconv.FormatInt(userID, 10) }

// dedupeKey is vk:<channel>:<event_id>. Events from before event_id
// existed get one derived from what identifies them: the group, the type
// and the message (its place in the dialog, and for an edit its time), or
// else a hash of the object.
func (c *Channel) dedupeKey(cb *callback) string {
	prefix := "vk:" + c.opts.ChannelID + ":"
	if cb.EventID != "" && len(cb.EventID) <= 100 {
		return prefix + cb.EventID
	}
	key := prefix + strconv.FormatInt(cb.GroupID, 10) + ":" + short(cb.Type) + ":"
	if m, err := newMessage(cb.Object); err == nil && (m.ID > 0 || m.ConversationMessageID > 0) {
		key += externalID(m.PeerID, m.ConversationMessageID, m.ID)
		if m.UpdateTime > 0 {
			// Each edit of one message is its own event.
			key += ":" + strconv.FormatInt(m.UpdateTime, 10)
		}
		return key
	}
	sum := sha256.Sum256(cb.Object)
	return key + hex.EncodeToString(sum[:12])
}

// externalID names a message for edits and replies: its place in the
// dialog (peer and conversation_message_id), which every event about it
// carries; the message id is 0 in chats and absent in some shapes.
func externalID(peerID, cmid, id int64) string {
	if cmid > 0 {
		return strconv.FormatInt(peerID, 10) + ":" + strconv.FormatInt(cmid, 10)
	}
	return strconv.FormatInt(peerID, 10) + ":id" + strconv.FormatInt(id, 10)
}

// receivedAt is the event's own time when it is plausible.
func (c *Channel) receivedAt(unix int64) time.Time {
	now := c.opts.Now().UTC()
	if unix <= 0 {
		return now
	}
	t := time.Unix(unix, 0).UTC()
	if t.Year() < 2006 || t.After(now.Add(24*time.Hour)) {
		return now
	}
	return t
}

// short bounds a string from the body before it goes into a log line.
func short(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}
