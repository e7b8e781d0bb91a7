package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/gorilla/websocket"
	"github.com/leadhub/leadhub/inbox"
)

// The browser tests drive the real page (the embedded files, served by
// UIHandler) in headless Chromium against uiFake, a small stand-in for the
// operator API that speaks the real JSON shapes (inbox types) and the
// session contract of /work/notes/ui-contract.md.

const (
	uiEmail    = "op@example.com"
	uiPassword = "correct horse"
	uiCookie   = "leadhub_session"
	uiSession  = "sess-0123456789"
	uiCSRF     = "csrf-0123456789"
	uiOpID     = int64(7)
	uiWait     = 10 * time.Second
)

// uiFake is the fake operator API.
type uiFake struct {
	mu      sync.Mutex
	convs   map[int64]*inbox.Conversation
	msgs    map[int64][]inbox.Message     // by conversation
	clients map[int64]*inbox.ClientDetail // cards; conversations and messages are filled in on GET
	events  []inbox.Event
	nextMsg int64
	wake    chan struct{} // closed and replaced on every new event
	conns   map[*websocket.Conn]struct{}
	afters  []int64 // ?after= of every websocket request, in order
	down    bool    // refuse websockets (503)
	posts   []string
	lists   []string // query strings of GET /conversations
	badCSRF int
	// noCardNotes answers client details without "notes", like a server
	// that predates notes on cards.
	noCardNotes bool
	// holdReply, when set, holds every reply's 202 answer until it is
	// closed, after the reply's events went out: the worker's "sent" can
	// reach the page before the answer that says "queued".
	holdReply chan struct{}
	// canned are the reply templates of the fake's one operator.
	canned []inbox.CannedReply
	// health answers GET /api/v1/channels/health.
	health []inbox.ChannelHealth
	// admin signs the fake's operator in as an admin; channels answers
	// Settings → Channels, details each channel's details, and asks
	// counts the requests for details.
	admin    bool
	channels []ChannelInfo
	details  map[string]channelDetailsView
	asks     int
	done     chan struct{}
	closeOne sync.Once
}

func newUIFake() *uiFake {
	f := &uiFake{
		convs:   map[int64]*inbox.Conversation{},
		msgs:    map[int64][]inbox.Message{},
		clients: map[int64]*inbox.ClientDetail{},
		nextMsg: 100,
		wake:    make(chan struct{}),
		conns:   map[*websocket.Conn]struct{}{},
		done:    make(chan struct{}),
	}
	return f
}

func (f *uiFake) close() {
	f.closeOne.Do(func() { close(f.done) })
	f.dropSockets()
}

var uiBase = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// addConv adds a conversation; its times are set from its messages.
func (f *uiFake) addConv(id, clientID int64, name, channel string, typ inbox.ChannelType, status inbox.ConversationStatus, assignee *int64, unread int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clients[clientID] == nil {
		f.clients[clientID] = &inbox.ClientDetail{Client: inbox.Client{ID: clientID, Name: name,
			Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: fmt.Sprintf("+7912000000%d", clientID)}},
			CreatedAt:  uiBase, UpdatedAt: uiBase}}
	}
	f.convs[id] = &inbox.Conversation{
		ID: id, ClientID: clientID, ClientName: name, ChannelID: channel, ChannelType: typ,
		Status: status, AssigneeID: assignee, Unread: unread,
		LastMessageAt: uiBase.Add(time.Duration(id) * time.Minute), CreatedAt: uiBase,
	}
}

// addMsg stores m in its conversation (no event); it returns m with its id.
func (f *uiFake) addMsg(m inbox.Message) inbox.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addMsgLocked(m)
}

func (f *uiFake) addMsgLocked(m inbox.Message) inbox.Message {
	f.nextMsg++
	m.ID = f.nextMsg
	if m.Kind == "" {
		m.Kind = inbox.KindText
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now().UTC()
	}
	f.msgs[m.ConversationID] = append(f.msgs[m.ConversationID], m)
	if c := f.convs[m.ConversationID]; c != nil && m.CreatedAt.After(c.LastMessageAt) {
		c.LastMessageAt = m.CreatedAt
	}
	return m
}

func (f *uiFake) eventLocked(typ string, data any) inbox.Event {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	ev := inbox.Event{ID: int64(len(f.events) + 1), Type: typ, Data: b}
	f.events = append(f.events, ev)
	close(f.wake)
	f.wake = make(chan struct{})
	return ev
}

// inbound files a customer message live: stored, unread+1, and a
// message.created event carrying both, as the store does.
func (f *uiFake) inbound(convID int64, text string) (inbox.Message, inbox.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.addMsgLocked(inbox.Message{ConversationID: convID, Direction: inbox.DirectionIn, Text: text})
	c := f.convs[convID]
	c.Unread++
	conv := *c
	ev := f.eventLocked(inbox.EventMessageCreated, map[string]any{"message": m, "conversation": conv})
	return m, ev
}

// newLead opens a new conversation for a new client, like a first contact.
func (f *uiFake) newLead(convID, clientID int64, name, text string) inbox.Event {
	f.addConv(convID, clientID, name, "crm", inbox.ChannelAPI, inbox.StatusNew, nil, 0)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.convs[convID]
	c.CreatedAt = time.Now().UTC()
	f.eventLocked(inbox.EventConversationCreated, map[string]any{"conversation": *c})
	m := f.addMsgLocked(inbox.Message{ConversationID: convID, Direction: inbox.DirectionIn, Text: text})
	c.Unread = 1
	return f.eventLocked(inbox.EventMessageCreated, map[string]any{"message": m, "conversation": *c})
}

// deliver changes an outbound message's delivery, as the outbound worker
// does (message.updated without the conversation).
func (f *uiFake) deliver(msgID int64, status inbox.DeliveryStatus, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for cid, list := range f.msgs {
		for i := range list {
			if list[i].ID == msgID {
				list[i].Delivery = status
				list[i].Error = reason
				f.msgs[cid] = list
				f.eventLocked(inbox.EventMessageUpdated, map[string]any{"message": list[i]})
				return
			}
		}
	}
	panic(fmt.Sprintf("no message %d", msgID))
}

func (f *uiFake) lastEventID() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.events))
}

func (f *uiFake) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// dropSockets cuts every websocket without a close frame, like a network
// failure or a restarting server.
func (f *uiFake) dropSockets() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.NetConn().Close()
	}
}

func (f *uiFake) sockets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

func (f *uiFake) postedTexts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.posts)
}

func (f *uiFake) afterValues() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.afters)
}

func (f *uiFake) listQueries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lists)
}

func (f *uiFake) csrfFailures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.badCSRF
}

func (f *uiFake) lastMessage(convID int64) inbox.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := f.msgs[convID]
	return list[len(list)-1]
}

func uiJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func uiError(w http.ResponseWriter, status int, msg string) {
	uiJSON(w, status, map[string]string{"error": msg})
}

func (f *uiFake) sessionBody() map[string]any {
	role := inbox.RoleOperator
	if f.admin {
		role = inbox.RoleAdmin
	}
	return map[string]any{
		"operator":      inbox.Operator{ID: uiOpID, Email: uiEmail, Name: "Оля Оператор", Role: role},
		"csrf_token":    uiCSRF,
		"last_event_id": f.lastEventID(),
		"teams":         []string{"sales"},
		"can_call":      true,
	}
}

func uiAuthed(r *http.Request) bool {
	c, err := r.Cookie(uiCookie)
	return err == nil && c.Value == uiSession
}

// handler is the page (the real UIHandler) plus the fake API.
func (f *uiFake) handler() http.Handler {
	mux := http.NewServeMux()
	ui := UIHandler()
	mux.Handle("GET /{$}", ui)
	mux.Handle("GET /ui/", ui)
	mux.HandleFunc("GET /files/", func(w http.ResponseWriter, r *http.Request) {
		// A 1×1 PNG for image attachments.
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"))
	})

	mux.HandleFunc("POST /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Email, Password string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			uiError(w, 400, "malformed JSON")
			return
		}
		if body.Email != uiEmail || body.Password != uiPassword {
			uiError(w, 401, "wrong email or password")
			return
		}
		http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: uiSession, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		uiJSON(w, 200, f.sessionBody())
	})
	mux.HandleFunc("GET /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		if !uiAuthed(r) {
			uiError(w, 401, "unauthorized")
			return
		}
		uiJSON(w, 200, f.sessionBody())
	})

	api := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if !uiAuthed(r) {
				uiError(w, 401, "unauthorized")
				return
			}
			if r.Method != http.MethodGet && r.Header.Get("X-CSRF-Token") != uiCSRF {
				f.mu.Lock()
				f.badCSRF++
				f.mu.Unlock()
				uiError(w, 403, "missing or wrong CSRF token")
				return
			}
			h(w, r)
		})
	}
	api("DELETE /api/v1/session", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: "", Path: "/", MaxAge: -1})
		w.WriteHeader(http.StatusNoContent)
	})
	api("GET /api/v1/conversations/counts", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var n inbox.ConversationCounts
		for _, c := range f.convs {
			if c.Status == inbox.StatusClosed || (r.URL.Query().Get("channel") != "" && c.ChannelID != r.URL.Query().Get("channel")) {
				continue
			}
			switch c.Status {
			case inbox.StatusNew:
				n.New++
			case inbox.StatusOpen:
				n.Open++
			case inbox.StatusPending:
				n.Pending++
			}
			if c.AssigneeID == nil {
				n.Unassigned++
			} else if *c.AssigneeID == uiOpID {
				n.Mine++
			}
		}
		uiJSON(w, 200, n)
	})
	api("GET /api/v1/messages/search", func(w http.ResponseWriter, r *http.Request) {
		q := strings.ToLower(r.URL.Query().Get("q"))
		f.mu.Lock()
		defer f.mu.Unlock()
		hits := []inbox.MessageHit{}
		for cid, list := range f.msgs {
			for _, m := range list {
				if q != "" && strings.Contains(strings.ToLower(m.Text), q) {
					hits = append(hits, inbox.MessageHit{Message: m, Conversation: *f.convs[cid]})
				}
			}
		}
		uiJSON(w, 200, map[string]any{"items": hits, "next": ""})
	})
	api("GET /api/v1/conversations/{id}/routes", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		c := f.convs[uiPathID(r)]
		if c == nil {
			uiError(w, 404, "conversation not found")
			return
		}
		routes := []inbox.ReplyRoute{}
		if c.ChannelType != inbox.ChannelForm {
			routes = append(routes, inbox.ReplyRoute{Channel: c.ChannelID, Type: c.ChannelType, To: "", Current: true})
		}
		for _, id := range f.clients[c.ClientID].Identities {
			if id.Kind == inbox.IdentityEmail && c.ChannelID != "mail" {
				routes = append(routes, inbox.ReplyRoute{Channel: "mail", Type: inbox.ChannelEmail, To: id.Value})
			}
		}
		uiJSON(w, 200, map[string]any{"items": routes, "next": ""})
	})
	api("POST /api/v1/clients/{id}/conversations", func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Channel, To, Subject, Text string }
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			uiError(w, 400, "malformed JSON")
			return
		}
		f.mu.Lock()
		cid := uiPathID(r)
		id := int64(len(f.convs) + 100)
		f.mu.Unlock()
		f.addConv(id, cid, f.clients[cid].Name, b.Channel, inbox.ChannelEmail, inbox.StatusOpen, nil, 0)
		op := uiOpID
		m := f.addMsg(inbox.Message{ConversationID: id, Direction: inbox.DirectionOut, Kind: inbox.KindEmail, Subject: b.Subject,
			Text: b.Text, AuthorID: &op, Delivery: inbox.DeliveryQueued, Meta: map[string]string{"to": b.To}})
		f.mu.Lock()
		conv := *f.convs[id]
		f.posts = append(f.posts, "mail to "+b.To+": "+b.Subject)
		f.mu.Unlock()
		uiJSON(w, 202, map[string]any{"conversation": conv, "message": m})
	})
	api("GET /api/v1/canned-replies", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		uiJSON(w, 200, map[string]any{"items": append([]inbox.CannedReply{}, f.canned...), "next": ""})
	})
	api("POST /api/v1/canned-replies", func(w http.ResponseWriter, r *http.Request) {
		var c inbox.CannedReply
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			uiError(w, 400, "malformed JSON")
			return
		}
		if err := c.Check(); err != nil {
			uiError(w, 400, inbox.ErrorMessage(err))
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		c.ID = int64(len(f.canned) + 1)
		f.canned = append(f.canned, c)
		uiJSON(w, 201, c)
	})
	api("DELETE /api/v1/canned-replies/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.canned = slices.DeleteFunc(f.canned, func(c inbox.CannedReply) bool { return c.ID == uiPathID(r) })
		w.WriteHeader(http.StatusNoContent)
	})
	api("GET /api/v1/directory", func(w http.ResponseWriter, r *http.Request) {
		uiJSON(w, 200, map[string]any{"items": []map[string]any{
			{"id": uiOpID, "name": "Оля Оператор", "role": "operator"},
			{"id": 77, "name": "Пётр Иванов", "role": "operator"},
		}, "next": ""})
	})
	api("GET /api/v1/channels/health", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		uiJSON(w, 200, map[string]any{"items": append([]inbox.ChannelHealth{}, f.health...), "next": ""})
	})
	api("GET /api/v1/operators", func(w http.ResponseWriter, r *http.Request) {
		uiJSON(w, 200, map[string]any{"items": []inbox.OperatorDetail{{Operator: inbox.Operator{ID: uiOpID, Email: uiEmail, Name: "Оля Оператор", Role: inbox.RoleAdmin}}}, "next": ""})
	})
	api("GET /api/v1/teams", func(w http.ResponseWriter, r *http.Request) {
		uiJSON(w, 200, map[string]any{"items": []any{}, "next": ""})
	})
	api("GET /api/v1/channels", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		uiJSON(w, 200, map[string]any{"items": append([]ChannelInfo{}, f.channels...), "next": ""})
	})
	api("GET /api/v1/channels/{id}/details", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.asks++
		d, ok := f.details[r.PathValue("id")]
		if !ok {
			uiError(w, 404, "the channel has no details to ask for")
			return
		}
		uiJSON(w, 200, d)
	})
	api("GET /api/v1/conversations", f.listConversations)
	api("GET /api/v1/conversations/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		c := f.convs[uiPathID(r)]
		if c == nil {
			uiError(w, 404, "conversation not found")
			return
		}
		uiJSON(w, 200, c)
	})
	api("PATCH /api/v1/conversations/{id}", f.patchConversation)
	for verb, n := range map[string]int{"read": 0, "unread": 1} {
		api("POST /api/v1/conversations/{id}/"+verb, func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			defer f.mu.Unlock()
			id := uiPathID(r)
			c := f.convs[id]
			if c == nil {
				uiError(w, 404, "conversation not found")
				return
			}
			c.Unread = n
			uiJSON(w, 200, inbox.ReadPayload{ConversationID: id, Unread: n})
		})
	}
	api("GET /api/v1/conversations/{id}/messages", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		items := f.msgs[uiPathID(r)]
		if items == nil {
			items = []inbox.Message{}
		}
		uiJSON(w, 200, map[string]any{"items": items, "next": ""})
	})
	api("POST /api/v1/conversations/{id}/messages", f.createMessage)
	api("GET /api/v1/clients/{id}", f.getClient)
	api("PATCH /api/v1/clients/{id}", f.patchClient)
	api("POST /api/v1/clients/{id}/notes", f.addNote)
	api("POST /api/v1/clients/{id}/call", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Phone string `json:"phone"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.posts = append(f.posts, fmt.Sprintf("call %d %s", uiPathID(r), body.Phone))
		f.mu.Unlock()
		uiJSON(w, 202, map[string]string{"channel": "pbx", "extension": "101", "phone": body.Phone})
	})
	api("POST /api/v1/clients/{id}/tasks", f.createTask)
	api("GET /api/v1/ws", f.serveWS)
	return mux
}

func uiPathID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

func (f *uiFake) listConversations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists = append(f.lists, r.URL.RawQuery)
	items := []inbox.Conversation{}
	for _, c := range f.convs {
		switch {
		case q.Get("status") != "" && string(c.Status) != q.Get("status"),
			q.Get("assignee") == "me" && (c.AssigneeID == nil || *c.AssigneeID != uiOpID),
			q.Get("assignee") == "none" && c.AssigneeID != nil,
			q.Get("channel") != "" && c.ChannelID != q.Get("channel"),
			q.Get("q") != "" && !strings.Contains(strings.ToLower(c.ClientName), strings.ToLower(q.Get("q"))):
			continue
		}
		items = append(items, *c)
	}
	slices.SortFunc(items, func(a, b inbox.Conversation) int {
		if d := b.LastMessageAt.Compare(a.LastMessageAt); d != 0 {
			return d
		}
		return int(b.ID - a.ID)
	})
	uiJSON(w, 200, map[string]any{"items": items, "next": ""})
}

func (f *uiFake) patchConversation(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Status     *inbox.ConversationStatus `json:"status"`
		AssigneeID json.RawMessage           `json:"assignee_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		uiError(w, 400, "malformed JSON")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.convs[uiPathID(r)]
	if c == nil {
		uiError(w, 404, "conversation not found")
		return
	}
	if body.Status != nil {
		c.Status = *body.Status
	}
	if body.AssigneeID != nil {
		var id *int64
		_ = json.Unmarshal(body.AssigneeID, &id)
		c.AssigneeID = id
	}
	f.eventLocked(inbox.EventConversationUpdated, map[string]any{"conversation": *c})
	uiJSON(w, 200, c)
}

// createMessage decodes strictly, as the real API does: a "kind" field
// (notes on messages) is refused, and a client who asked not to be
// contacted is a 409 unless override_dnc is set.
func (f *uiFake) createMessage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text        string `json:"text"`
		OverrideDNC bool   `json:"override_dnc"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		uiError(w, 400, strings.TrimPrefix(err.Error(), "json: "))
		return
	}
	if strings.TrimSpace(body.Text) == "" {
		uiError(w, 400, "text is required")
		return
	}
	f.mu.Lock()
	id := uiPathID(r)
	c := f.convs[id]
	if c == nil {
		f.mu.Unlock()
		uiError(w, 404, "conversation not found")
		return
	}
	if card := f.clients[c.ClientID]; card.DoNotContact && !body.OverrideDNC {
		f.mu.Unlock()
		// As the server answers: a message, and a reason the page translates.
		uiJSON(w, 409, map[string]any{"error": "the client asked not to be contacted (" + card.DoNotContactReason + "); override_dnc sends anyway",
			"code": "conflict", "reason": "client_dnc", "params": map[string]string{"reason": card.DoNotContactReason}})
		return
	}
	op := uiOpID
	m := f.addMsgLocked(inbox.Message{ConversationID: id, Direction: inbox.DirectionOut, Kind: inbox.KindText, Text: body.Text, AuthorID: &op, Delivery: inbox.DeliveryQueued})
	f.posts = append(f.posts, body.Text)
	f.eventLocked(inbox.EventMessageCreated, map[string]any{"message": m, "conversation": *c})
	hold := f.holdReply
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	uiJSON(w, http.StatusAccepted, m)
}

func (f *uiFake) clientDetailLocked(id int64) (inbox.ClientDetail, bool) {
	card := f.clients[id]
	if card == nil {
		return inbox.ClientDetail{}, false
	}
	d := *card
	d.Conversations, d.Messages = []inbox.Conversation{}, []inbox.Message{}
	for _, c := range f.convs {
		if c.ClientID == id {
			d.Conversations = append(d.Conversations, *c)
			d.Messages = append(d.Messages, f.msgs[c.ID]...)
		}
	}
	slices.SortFunc(d.Messages, func(a, b inbox.Message) int { return int(a.ID - b.ID) })
	for _, l := range []*[]inbox.Note{&d.Notes} {
		if *l == nil {
			*l = []inbox.Note{}
		}
	}
	return d, true
}

func (f *uiFake) getClient(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.clientDetailLocked(uiPathID(r))
	if !ok {
		uiError(w, 404, "client not found")
		return
	}
	if !f.noCardNotes {
		uiJSON(w, 200, d)
		return
	}
	b, _ := json.Marshal(d)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "notes")
	uiJSON(w, 200, m)
}

// clientChangedLocked writes client.updated with the card's own fields, as
// the store does after every change to a card.
func (f *uiFake) clientChangedLocked(id int64) {
	f.eventLocked(inbox.EventClientUpdated, map[string]any{"client": f.clients[id].Client})
}

func (f *uiFake) patchClient(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name               *string            `json:"name"`
		Company            *string            `json:"company"`
		Tags               *[]string          `json:"tags"`
		CustomFields       map[string]*string `json:"custom_fields"`
		DoNotContact       *bool              `json:"do_not_contact"`
		DoNotContactReason *string            `json:"do_not_contact_reason"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		uiError(w, 400, strings.TrimPrefix(err.Error(), "json: "))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := uiPathID(r)
	card := f.clients[id]
	if card == nil {
		uiError(w, 404, "client not found")
		return
	}
	c := &card.Client
	if body.Name != nil {
		c.Name = *body.Name
		for _, conv := range f.convs {
			if conv.ClientID == id {
				conv.ClientName = c.Name
			}
		}
	}
	if body.Company != nil {
		c.Company = *body.Company
	}
	if body.Tags != nil {
		c.Tags = *body.Tags
	}
	for k, v := range body.CustomFields {
		if c.CustomFields == nil {
			c.CustomFields = map[string]string{}
		}
		if v == nil {
			delete(c.CustomFields, k)
		} else {
			c.CustomFields[k] = *v
		}
	}
	if body.DoNotContact != nil {
		c.DoNotContact = *body.DoNotContact
	}
	if body.DoNotContactReason != nil {
		c.DoNotContactReason = *body.DoNotContactReason
	}
	f.clientChangedLocked(id)
	uiJSON(w, 200, c)
}

func (f *uiFake) addNote(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || strings.TrimSpace(body.Text) == "" {
		uiError(w, 400, "text is required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := uiPathID(r)
	card := f.clients[id]
	if card == nil {
		uiError(w, 404, "client not found")
		return
	}
	op := uiOpID
	n := inbox.Note{ID: int64(len(card.Notes) + 1), ClientID: id, AuthorID: &op, Text: body.Text, CreatedAt: time.Now().UTC()}
	card.Notes = append(card.Notes, n)
	f.clientChangedLocked(id)
	uiJSON(w, http.StatusCreated, n)
}

func (f *uiFake) createTask(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Title string     `json:"title"`
		DueAt *time.Time `json:"due_at"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || strings.TrimSpace(body.Title) == "" {
		uiError(w, 400, "title is required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := uiPathID(r)
	card := f.clients[id]
	if card == nil {
		uiError(w, 404, "client not found")
		return
	}
	op := uiOpID
	task := inbox.Task{ID: int64(len(card.Tasks) + 1), ClientID: id, Title: body.Title, DueAt: body.DueAt, CreatedBy: &op, CreatedAt: time.Now().UTC()}
	card.Tasks = append(card.Tasks, task)
	f.clientChangedLocked(id)
	uiJSON(w, http.StatusCreated, task)
}

var uiUpgrader = websocket.Upgrader{}

// serveWS sends every event after ?after=, then the new ones as they come.
func (f *uiFake) serveWS(w http.ResponseWriter, r *http.Request) {
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil {
		after = -1 // recorded, so a test sees the page sent something odd
	}
	f.mu.Lock()
	f.afters = append(f.afters, after)
	down := f.down
	f.mu.Unlock()
	if down {
		uiError(w, 503, "unavailable")
		return
	}
	conn, err := uiUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	f.mu.Lock()
	f.conns[conn] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.conns, conn)
		f.mu.Unlock()
	}()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	defer func() { conn.Close(); <-gone }()
	last := after
	for {
		f.mu.Lock()
		var evs []inbox.Event
		for _, ev := range f.events {
			if ev.ID > last {
				evs = append(evs, ev)
			}
		}
		wake := f.wake
		f.mu.Unlock()
		for _, ev := range evs {
			_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := conn.WriteJSON(ev); err != nil {
				return
			}
			last = ev.ID
		}
		select {
		case <-wake:
		case <-gone:
			return
		case <-f.done:
			return
		}
	}
}

// seed fills the fake with a client who wrote through several channels,
// with a message of every kind, and a few other conversations.
func (f *uiFake) seed() {
	me := uiOpID
	f.addConv(1, 1, "Иван Петров", "tg", inbox.ChannelTelegram, inbox.StatusOpen, nil, 2)
	f.addConv(2, 1, "Иван Петров", "site", inbox.ChannelForm, inbox.StatusClosed, nil, 0)
	f.addConv(3, 2, "Мария Соколова", "mail", inbox.ChannelEmail, inbox.StatusNew, nil, 1)
	f.addConv(4, 3, "ООО Ромашка", "pbx", inbox.ChannelTelephony, inbox.StatusPending, &me, 0)

	at := func(min int) time.Time { return uiBase.Add(time.Duration(min) * time.Minute) }
	f.addMsg(inbox.Message{ConversationID: 2, Direction: inbox.DirectionIn, Kind: inbox.KindForm, Text: "Нужна доставка в Пермь",
		Meta: map[string]string{
			"field:Имя": "Иван", "field:Телефон": "8 912 345-67-89", "utm_source": "yandex", "utm_campaign": "spring",
			"page_url": "https://shop.example/landing?x=1", "referrer": "javascript:alert(1)",
		}, CreatedAt: at(1)})
	f.addMsg(inbox.Message{ConversationID: 1, Direction: inbox.DirectionIn, Text: "Здравствуйте! Сколько стоит доставка?", CreatedAt: at(2)})
	f.addMsg(inbox.Message{ConversationID: 1, Direction: inbox.DirectionIn, Text: "Вот фото",
		Attachments: []inbox.Attachment{
			{URL: "/files/ab/cd.png", Name: "photo.png", MIME: "image/png", Size: 70},
			{URL: "javascript:window.__xss=1", Name: "evil.pdf", MIME: "application/pdf"},
			{URL: "https://cdn.example/voice.ogg", Name: "voice.ogg", MIME: "audio/ogg", Size: 12345},
		}, CreatedAt: at(3)})
	f.addMsg(inbox.Message{ConversationID: 1, Direction: inbox.DirectionOut, Text: "Доставка бесплатная.", AuthorID: &me, Delivery: inbox.DeliveryDelivered, CreatedAt: at(4)})
	f.addMsg(inbox.Message{ConversationID: 1, Direction: inbox.DirectionOut, Kind: inbox.KindNote, Text: "Постоянный клиент, скидка 5%", AuthorID: &me, CreatedAt: at(5)})

	f.addMsg(inbox.Message{ConversationID: 3, Direction: inbox.DirectionIn, Kind: inbox.KindEmail, Subject: "Счёт на оплату", Text: "Добрый день!\nПришлите счёт.",
		Attachments: []inbox.Attachment{{URL: "https://mail.example/att/1.pdf", Name: "реквизиты.pdf", MIME: "application/pdf", Size: 2048}}, CreatedAt: at(6)})
	f.addMsg(inbox.Message{ConversationID: 4, Direction: inbox.DirectionIn, Kind: inbox.KindCall,
		Meta: map[string]string{"direction": "in", "duration": "125", "recording_url": "https://pbx.example/rec/1.mp3", "from": "+79120000003"}, CreatedAt: at(7)})

	f.mu.Lock()
	due := uiBase.Add(-time.Hour)
	card := f.clients[1]
	card.Company, card.Tags = "ООО Вектор", []string{"vip", "опт"}
	card.CustomFields = map[string]string{"ИНН": "7701234567"}
	card.RawPhones = []string{"доб. 123"}
	card.Notes = []inbox.Note{{ID: 1, ClientID: 1, AuthorID: &me, Text: "Любит звонки после 18:00", CreatedAt: at(0)}}
	card.Consents = []inbox.Consent{{ID: 1, ClientID: 1, Kind: "personal_data", TextVersion: "v2", GivenAt: uiBase, Source: "site"}}
	card.Tasks = []inbox.Task{{ID: 1, ClientID: 1, Title: "Перезвонить", DueAt: &due}}
	card.Duplicates = []inbox.DuplicateSuggestion{{ID: 1, ClientID: 1, OtherClientID: 2, Identity: inbox.Identity{Kind: inbox.IdentityPhone, Value: "+79123456789"}}}
	f.mu.Unlock()
}

// ---- the browser ----

type uiPage struct {
	t   *testing.T
	ctx context.Context
	url string

	mu      sync.Mutex
	console []string
}

// newUIPage starts headless Chromium (LEADHUB_TEST_CHROMIUM) on a fresh
// profile. setup runs before the first navigation (emulation, CSP bypass).
func newUIPage(t *testing.T, url string, setup ...chromedp.Action[chromedp.Void]) *uiPage {
	t.Helper()
	bin := os.Getenv("LEADHUB_TEST_CHROMIUM")
	required := os.Getenv("LEADHUB_TEST_REQUIRE_SERVICES") == "1"
	if bin == "" {
		if required {
			t.Fatal("LEADHUB_TEST_CHROMIUM is not set but LEADHUB_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip("set LEADHUB_TEST_CHROMIUM to a Chromium binary to run the browser tests")
	}
	if _, err := os.Stat(bin); err != nil {
		if required {
			t.Fatalf("LEADHUB_TEST_CHROMIUM: %v", err)
		}
		t.Skipf("LEADHUB_TEST_CHROMIUM: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	p := &uiPage{t: t, ctx: ctx, url: url}

	startCtx, startCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer startCancel()
	go func() {
		// The first Run must not carry a deadline (it would end the
		// browser), so a hung start is bounded from outside.
		select {
		case <-startCtx.Done():
			if errors.Is(startCtx.Err(), context.DeadlineExceeded) {
				cancel()
			}
		case <-ctx.Done():
		}
	}()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	startCancel()

	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, fmt.Sprintf("%s: %s", m.Type, m))
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, line := range p.console {
			t.Logf("browser console: %s", line)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			p.screenshot("failure")
		}
	})

	// Record CSP violations from the start of every document.
	p.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
		})
		return err
	}))
	for _, a := range setup {
		p.do(a)
	}
	p.do(chromedp.Navigate(url))
	return p
}

// screenshot saves the page to web/testdata/artifacts/<test>-<name>.png.
func (p *uiPage) screenshot(name string) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Logf("screenshot: %v", err)
		return
	}
	file := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(p.t.Name()+"-"+name, "_") + ".png"
	path, _ := filepath.Abs(filepath.Join(dir, file))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Logf("screenshot: %v", err)
		return
	}
	p.t.Logf("screenshot saved: %s", path)
}

// snap saves a screenshot for the README when LEADHUB_UI_SCREENSHOTS=1.
func (p *uiPage) snap(name string) {
	if os.Getenv("LEADHUB_UI_SCREENSHOTS") == "1" {
		p.screenshot(name)
	}
}

func (p *uiPage) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, uiWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// eval runs a JavaScript expression and decodes its value into out.
func (p *uiPage) eval(expr string, out any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, uiWait)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			p.t.Fatalf("evaluate %s: decode %s: %v", expr, raw, err)
		}
	}
}

// waitJS waits until expr is truthy. It polls with Runtime.evaluate from
// here: chromedp.Poll builds its predicate with new Function, which the
// page's CSP (no 'unsafe-eval') forbids.
func (p *uiPage) waitJS(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(uiWait)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(p.ctx, uiWait)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`Boolean(`+expr+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s (%s); last error: %v", what, expr, lastErr)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (p *uiPage) text(sel string) string {
	p.t.Helper()
	var s string
	p.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel), &s)
	return s
}

func (p *uiPage) value(sel string) string {
	p.t.Helper()
	var s string
	p.eval(fmt.Sprintf(`(document.querySelector(%q) || {}).value || ''`, sel), &s)
	return s
}

func (p *uiPage) click(sel string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

func (p *uiPage) login() {
	p.t.Helper()
	p.do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-email"]`), uiEmail),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), uiPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
	)
	p.waitJS("the inbox", `document.querySelectorAll('[data-testid="conversation-row"]').length >= 1`)
	p.waitJS("the websocket", `document.body.dataset.ws === 'open'`)
}

func (p *uiPage) openConversation(id int64) {
	p.t.Helper()
	p.click(fmt.Sprintf(`[data-testid="conversation-row"][data-conversation-id="%d"]`, id))
	p.waitJS("the timeline", `document.querySelectorAll('#timeline [data-testid="message"]').length > 0 && document.querySelector('#timeline').getAttribute('aria-busy') === 'false'`)
}

// noCSPViolations fails when the page broke its own policy.
func (p *uiPage) noCSPViolations() {
	p.t.Helper()
	var v []string
	p.eval(`window.__csp || []`, &v)
	if len(v) > 0 {
		p.t.Errorf("CSP violations: %q", v)
	}
}

func jsq(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// messageWithText is a JS expression for the timeline item whose text
// contains s.
func messageWithText(s string) string {
	return fmt.Sprintf(`Array.from(document.querySelectorAll('#timeline [data-testid="message"]')).find((el) => el.textContent.includes(%s))`, jsq(s))
}

func startUIFake(t *testing.T) (*uiFake, *httptest.Server) {
	f := newUIFake()
	f.seed()
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	t.Cleanup(f.close)
	return f, srv
}

// ---- tests ----

func TestUIBrowserInbox(t *testing.T) {
	f, srv := startUIFake(t)
	p := newUIPage(t, srv.URL)

	// A wrong password is refused with a message, then the right one works.
	p.do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-email"]`), uiEmail),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), "wrong"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-error"]`)),
	)
	p.eval(`document.querySelector('[data-testid="login-email"]').value = '', document.querySelector('[data-testid="login-password"]').value = '', true`, nil)
	if got := p.text(`[data-testid="login-error"]`); !strings.Contains(got, "Wrong email or password") {
		t.Errorf("login error %q", got)
	}
	p.login()

	// The inbox: every channel, newest activity first, names, unread.
	var rows []struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Unread string `json:"unread"`
		Icon   string `json:"icon"`
	}
	p.eval(`Array.from(document.querySelectorAll('[data-testid="conversation-row"]')).map((r) => ({
		id: r.dataset.conversationId, name: r.querySelector('[data-testid="row-name"]').textContent,
		unread: r.dataset.unread, icon: r.querySelector('img.icon').getAttribute('src')}))`, &rows)
	wantIDs := []string{"4", "3", "1", "2"}
	if len(rows) != len(wantIDs) {
		t.Fatalf("rows %+v, want conversations %v", rows, wantIDs)
	}
	for i, r := range rows {
		if r.ID != wantIDs[i] {
			t.Errorf("row %d is conversation %s, want %s", i, r.ID, wantIDs[i])
		}
	}
	if rows[2].Name != "Иван Петров" || rows[2].Unread != "2" || rows[2].Icon != "/ui/icons/telegram.svg" {
		t.Errorf("row of conversation 1: %+v", rows[2])
	}
	if rows[0].Icon != "/ui/icons/telephony.svg" || rows[1].Icon != "/ui/icons/email.svg" {
		t.Errorf("channel icons: %+v", rows)
	}
	p.snap("inbox")

	// The conversation: the client's whole history, every kind.
	p.openConversation(1)
	p.waitJS("the client card", `document.querySelector('[data-testid="card-name"]')`)
	type msgInfo struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		Delivery string `json:"delivery"`
		Text     string `json:"text"`
	}
	var msgs []msgInfo
	p.eval(`Array.from(document.querySelectorAll('#timeline [data-testid="message"]')).map((m) => ({
		id: m.dataset.messageId, kind: m.dataset.kind, delivery: m.dataset.delivery || '', text: m.textContent}))`, &msgs)
	kinds := map[string]bool{}
	for _, m := range msgs {
		kinds[m.Kind] = true
	}
	if len(msgs) != 6 || !kinds["form"] || !kinds["text"] || !kinds["note"] {
		t.Errorf("timeline %+v: want the form of the site conversation, the Telegram messages and the card's note", msgs)
	}
	if !strings.Contains(p.text(`#timeline [data-note-id="1"]`), "Любит звонки после 18:00") {
		t.Errorf("the card's note is not in the timeline")
	}
	var form struct {
		Fields string `json:"fields"`
		Source string `json:"source"`
		Links  []string
	}
	p.eval(`(() => { const m = document.querySelector('#timeline [data-kind="form"]');
		return {fields: m.querySelector('[data-testid="form-fields"]').textContent,
			source: m.querySelector('[data-testid="form-source"]').textContent,
			links: Array.from(m.querySelectorAll('a')).map((a) => a.getAttribute('href'))}; })()`, &form)
	for _, want := range []string{"Имя", "Иван", "Телефон", "8 912 345-67-89"} {
		if !strings.Contains(form.Fields, want) {
			t.Errorf("form fields %q lack %q", form.Fields, want)
		}
	}
	for _, want := range []string{"utm_source", "yandex", "utm_campaign", "spring", "page_url", "referrer", "javascript:alert(1)"} {
		if !strings.Contains(form.Source, want) {
			t.Errorf("form source %q lacks %q", form.Source, want)
		}
	}
	// Compact: one line of source / medium / campaign, the marks folded.
	if got := p.text(`#timeline [data-kind="form"] [data-testid="form-source-summary"]`); !strings.Contains(got, "yandex") || !strings.Contains(got, "spring") {
		t.Errorf("source summary %q", got)
	}
	var folded bool
	p.eval(`!document.querySelector('#timeline [data-kind="form"] details.msg__source').open`, &folded)
	if !folded {
		t.Error("the campaign marks are not folded away")
	}
	if !slices.Equal(form.Links, []string{"https://shop.example/landing?x=1"}) {
		t.Errorf("form links %q: want only the page URL (the javascript: referrer stays text)", form.Links)
	}
	var att struct {
		Img    string   `json:"img"`
		Audio  string   `json:"audio"`
		Hrefs  []string `json:"hrefs"`
		Names  string   `json:"names"`
		Via    string   `json:"via"`
		Note   bool     `json:"note"`
		Header string   `json:"header"`
	}
	p.eval(`(() => { const m = `+messageWithText("Вот фото")+`;
		return {img: m.querySelector('img.attachment__img').getAttribute('src'),
			audio: m.querySelector('audio').getAttribute('src'),
			hrefs: Array.from(m.querySelectorAll('a')).map((a) => a.getAttribute('href')),
			names: m.textContent,
			via: document.querySelector('#timeline [data-kind="form"] .msg__via').textContent,
			note: `+messageWithText("Постоянный клиент")+`.classList.contains('msg--note'),
			header: document.querySelector('[data-testid="conv-title"]').textContent}; })()`, &att)
	if att.Img != "/files/ab/cd.png" || att.Audio != "https://cdn.example/voice.ogg" {
		t.Errorf("attachments: img %q audio %q", att.Img, att.Audio)
	}
	if slices.ContainsFunc(att.Hrefs, func(h string) bool { return strings.Contains(h, "javascript") }) || !strings.Contains(att.Names, "evil.pdf") {
		t.Errorf("attachment links %q, text %q: the javascript: URL must be dropped, its name kept", att.Hrefs, att.Names)
	}
	if !strings.Contains(att.Via, "Site form") || !att.Note || att.Header != "Иван Петров" {
		t.Errorf("via %q, note styled %v, header %q", att.Via, att.Note, att.Header)
	}
	var card string
	p.eval(`document.querySelector('[data-testid="client-card"]').textContent`, &card)
	p.waitJS("the duplicate's name", `document.querySelector('[data-testid="card-duplicates"]').textContent.includes('Мария Соколова')`)
	p.eval(`document.querySelector('[data-testid="client-card"]').textContent`, &card)
	for _, want := range []string{"ООО Вектор", "vip", "опт", "ИНН", "7701234567", "Любит звонки после 18:00", "+79120000001", "доб. 123",
		"personal_data", "v2", "Перезвонить", "overdue", "Мария Соколова", "+79123456789", "Merge into this card", "Not the same person", "Site form"} {
		if !strings.Contains(card, want) {
			t.Errorf("client card lacks %q: %s", want, card)
		}
	}
	p.snap("conversation")

	// A live message appears without a reload; the list follows.
	sent := time.Now()
	_, ev := f.inbound(1, "Живое сообщение")
	p.waitJS("the live message", messageWithText("Живое сообщение"))
	t.Logf("event to visible in the page: %v", time.Since(sent).Round(time.Millisecond))
	// The operator is looking at it: it is read as it arrives.
	p.waitJS("no unread badge on the open conversation", `document.querySelector('[data-conversation-id="1"]').dataset.unread === '0'`)
	p.waitJS("the last event id", fmt.Sprintf(`document.body.dataset.lastEventId === '%d'`, ev.ID))
	if got := p.text(`[data-conversation-id="1"] [data-testid="row-preview"]`); got != "Живое сообщение" {
		t.Errorf("row preview %q", got)
	}
	var first string
	p.eval(`document.querySelector('[data-testid="conversation-row"]').dataset.conversationId`, &first)
	if first != "1" {
		t.Errorf("first row is %s, want the conversation that just got a message", first)
	}

	// A new lead from another channel appears in the list.
	f.newLead(9, 9, "Новый лид", "Хочу купить")
	p.waitJS("the new lead", `document.querySelector('[data-conversation-id="9"]')`)

	// Reply: queued at once, sent when the worker says so.
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-text"]`), "Ответ оператора"),
		chromedp.Click(chromedp.CSS(`[data-testid="reply-send"]`)))
	p.waitJS("the queued reply", messageWithText("Ответ оператора")+`?.dataset.delivery === 'queued'`)
	reply := f.lastMessage(1)
	sel := fmt.Sprintf(`#timeline [data-message-id="%d"]`, reply.ID)
	p.waitJS("the reply's id", `document.querySelector(`+jsq(sel)+`)`)
	if got := p.text(`[data-testid="reply-text"]`); got != "" {
		t.Errorf("reply box not cleared: %q", got)
	}
	f.deliver(reply.ID, inbox.DeliverySent, "")
	p.waitJS("sent", `document.querySelector(`+jsq(sel)+`).dataset.delivery === 'sent'`)
	if got := p.text(sel + ` [data-testid="delivery"]`); got != "Sent" {
		t.Errorf("delivery %q, want Sent", got)
	}

	// A failed reply shows the reason; Retry posts the text again.
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-text"]`), "Второй ответ"),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	p.waitJS("the second reply", messageWithText("Второй ответ"))
	second := f.lastMessage(1)
	f.deliver(second.ID, inbox.DeliveryFailed, "Forbidden: bot was blocked by the user")
	sel = fmt.Sprintf(`#timeline [data-message-id="%d"]`, second.ID)
	p.waitJS("failed", `document.querySelector(`+jsq(sel)+`).dataset.delivery === 'failed'`)
	if got := p.text(sel + ` [data-testid="delivery"]`); !strings.Contains(got, "bot was blocked by the user") {
		t.Errorf("failed delivery shows %q, want the reason", got)
	}
	p.click(sel + ` [data-testid="retry"]`)
	p.waitJS("the retried copy", `Array.from(document.querySelectorAll('#timeline [data-testid="message"]')).filter((el) => el.textContent.includes('Второй ответ')).length === 2`)
	if got := f.postedTexts(); !slices.Equal(got, []string{"Ответ оператора", "Второй ответ", "Второй ответ"}) {
		t.Errorf("posted %q", got)
	}
	if p.text(sel+` [data-testid="retry"]`) != "" {
		t.Errorf("the retried message still offers Retry")
	}

	// A private note goes onto the card and into the timeline.
	p.click(`[data-testid="reply-mode-note"]`)
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-text"]`), "Только для своих"), chromedp.Click(chromedp.CSS(`[data-testid="reply-send"]`)))
	p.waitJS("the note", messageWithText("Только для своих")+`?.classList.contains('msg--note')`)
	p.waitJS("the note on the card", `document.querySelector('[data-testid="card-notes"]').textContent.includes('Только для своих')`)
	if got := f.postedTexts(); len(got) != 3 {
		t.Errorf("the note was posted as a reply: %q", got)
	}

	// Edit the card in place: Enter saves.
	p.click(`[data-testid="edit-company"]`)
	if got := p.text(`[data-testid="card-company"]`); strings.Contains(got, "null") {
		t.Errorf("the field being edited shows %q", got)
	}
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="input-company"]`), " Plus\r"))
	p.waitJS("the saved company", `document.querySelector('[data-testid="card-company"]').textContent.includes('ООО Вектор Plus')`)
	p.click(`[data-field="custom:ИНН"] [data-testid="edit-custom"]`)
	p.eval(`document.querySelector('[data-field="custom:ИНН"] [data-testid="input-custom"]').value = '7701000000', true`, nil)
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-field="custom:ИНН"] [data-testid="input-custom"]`), kb.Enter))
	p.waitJS("the saved custom field", `document.querySelector('[data-field="custom:ИНН"]').textContent.includes('7701000000')`)

	// A callback task with a due time.
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="task-title"]`), "Позвонить в пятницу"))
	p.eval(`document.querySelector('[data-testid="task-due"]').value = '2031-05-02T15:30', true`, nil)
	p.click(`[data-testid="task-form"] button`)
	p.waitJS("the new task", `document.querySelector('[data-testid="card-tasks"]').textContent.includes('Позвонить в пятницу')`)
	p.snap("card")

	if n := f.csrfFailures(); n != 0 {
		t.Errorf("%d writes without the CSRF token", n)
	}
	p.noCSPViolations()
}

func TestUIBrowserReconnect(t *testing.T) {
	f, srv := startUIFake(t)
	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(1)

	_, before := f.inbound(1, "До обрыва")
	p.waitJS("the message before the drop", messageWithText("До обрыва"))
	p.waitJS("the last event id", fmt.Sprintf(`document.body.dataset.lastEventId === '%d'`, before.ID))
	if got := f.afterValues(); len(got) != 1 || got[0] != 0 {
		t.Errorf("first websocket after=%v, want [0] (the session's last_event_id)", got)
	}

	// The server drops the socket and refuses new ones for a while.
	f.setDown(true)
	f.dropSockets()
	p.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid="ws-banner"]`)))
	if got := p.text(`[data-testid="ws-banner"]`); !strings.Contains(got, "reconnecting") {
		t.Errorf("banner %q", got)
	}
	p.snap("disconnected")
	f.inbound(1, "Пропущенное раз")
	f.inbound(3, "Пропущенное два")
	f.newLead(10, 10, "Пока не было связи", "Перезвоните мне")
	f.setDown(false)

	p.waitJS("the replayed message", messageWithText("Пропущенное раз"))
	p.waitJS("the replayed lead", `document.querySelector('[data-conversation-id="10"]')`)
	p.waitJS("the replayed unread count", `document.querySelector('[data-conversation-id="3"]').dataset.unread === '2'`)
	p.do(chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="ws-banner"]`)))
	p.waitJS("the last event id", fmt.Sprintf(`document.body.dataset.lastEventId === '%d'`, f.lastEventID()))

	afters := f.afterValues()
	if len(afters) < 2 {
		t.Fatalf("after values %v: no reconnection", afters)
	}
	for _, a := range afters[1:] {
		if a != before.ID {
			t.Errorf("reconnected with after=%d, want %d (the last event seen); all: %v", a, before.ID, afters)
		}
	}
	var copies int
	p.eval(`Array.from(document.querySelectorAll('#timeline [data-testid="message"]')).filter((el) => el.textContent.includes('Пропущенное раз')).length`, &copies)
	if copies != 1 {
		t.Errorf("replayed message shown %d times", copies)
	}
	if n := f.sockets(); n != 1 {
		t.Errorf("%d websockets open, want 1", n)
	}
	p.noCSPViolations()
}

// TestUIBrowserHostileText turns the page's CSP off, so that only the way
// the page builds its DOM stands between customer text and script.
func TestUIBrowserHostileText(t *testing.T) {
	const img = `<img src=x onerror="window.__xss=1">`
	const script = `<script>window.__xss=1</script>`
	f := newUIFake()
	f.addConv(1, 1, img, "tg", inbox.ChannelTelegram, inbox.StatusNew, nil, 1)
	f.addConv(2, 1, img, "mail", inbox.ChannelEmail, inbox.StatusOpen, nil, 0)
	f.addConv(3, 1, img, "site", inbox.ChannelForm, inbox.StatusOpen, nil, 0)
	f.addConv(4, 1, img, "pbx", inbox.ChannelTelephony, inbox.StatusOpen, nil, 0)
	f.addMsg(inbox.Message{ConversationID: 1, Direction: inbox.DirectionIn, Text: img + script,
		Attachments: []inbox.Attachment{{URL: "javascript:window.__xss=1", Name: img, MIME: "image/png"}, {URL: "/files/../api/v1/x", Name: script, MIME: "image/png"}}})
	f.addMsg(inbox.Message{ConversationID: 2, Direction: inbox.DirectionIn, Kind: inbox.KindEmail, Subject: script, Text: img})
	f.addMsg(inbox.Message{ConversationID: 3, Direction: inbox.DirectionIn, Kind: inbox.KindForm, Text: script,
		Meta: map[string]string{"field:" + img: script, "page_url": "javascript:window.__xss=1", "utm_source": img, script: img}})
	f.addMsg(inbox.Message{ConversationID: 4, Direction: inbox.DirectionIn, Kind: inbox.KindCall, Text: img,
		Meta: map[string]string{"direction": img, "duration": script, "recording_url": "javascript:window.__xss=1"}})
	card := f.clients[1]
	card.Company, card.Tags = img, []string{script, img}
	card.CustomFields = map[string]string{img: script}
	card.RawPhones = []string{script}
	card.DoNotContact, card.DoNotContactReason = true, img
	card.Notes = []inbox.Note{{ID: 1, ClientID: 1, Text: script + img, CreatedAt: uiBase}}
	card.Tasks = []inbox.Task{{ID: 1, ClientID: 1, Title: img}}
	card.Consents = []inbox.Consent{{ID: 1, ClientID: 1, Kind: img, TextVersion: script, Source: img, GivenAt: uiBase}}
	card.Duplicates = []inbox.DuplicateSuggestion{{ID: 1, ClientID: 1, OtherClientID: 5, Identity: inbox.Identity{Kind: inbox.IdentityPhone, Value: script}}}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	t.Cleanup(f.close)

	p := newUIPage(t, srv.URL, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
		return err
	}))
	p.login()
	p.openConversation(1)
	p.waitJS("the card", `document.querySelector('[data-testid="card-company"]')`)
	f.inbound(1, script+img)
	p.waitJS("the live hostile message", `document.querySelectorAll('#timeline [data-testid="message"]').length === 6`)
	f.newLead(5, 5, img, script)
	p.waitJS("the hostile lead", `document.querySelector('[data-conversation-id="5"]')`)
	// Every kind is rendered (the live one arrived last).
	p.waitJS("all kinds", `['text','email','form','call'].every((k) => document.querySelector('#timeline [data-kind="' + k + '"]'))`)

	var got struct {
		XSS      bool     `json:"xss"`
		OnAttrs  int      `json:"onAttrs"`
		Scripts  int      `json:"scripts"`
		Imgs     []string `json:"imgs"`
		Links    []string `json:"links"`
		Media    []string `json:"media"`
		RowName  string   `json:"rowName"`
		Timeline string   `json:"timeline"`
		Card     string   `json:"card"`
	}
	p.eval(`({
		xss: window.__xss !== undefined,
		onAttrs: Array.from(document.querySelectorAll('*')).filter((el) => Array.from(el.attributes).some((a) => a.name.startsWith('on'))).length,
		scripts: document.querySelectorAll('script').length,
		imgs: Array.from(document.querySelectorAll('img')).map((i) => i.getAttribute('src')),
		links: Array.from(document.querySelectorAll('a[href]')).map((a) => a.getAttribute('href')),
		media: Array.from(document.querySelectorAll('audio, video, iframe, object, embed')).map((a) => a.getAttribute('src')),
		rowName: document.querySelector('[data-conversation-id="1"] [data-testid="row-name"]').textContent,
		timeline: document.querySelector('#timeline').textContent,
		card: document.querySelector('[data-testid="client-card"]').textContent,
	})`, &got)
	if got.XSS {
		t.Errorf("window.__xss was set: customer text ran as script")
	}
	if got.OnAttrs != 0 || got.Scripts != 1 {
		t.Errorf("%d elements with on* attributes, %d scripts; want 0 and our one", got.OnAttrs, got.Scripts)
	}
	for _, src := range got.Imgs {
		if !strings.HasPrefix(src, "/ui/icons/") {
			t.Errorf("unexpected <img src=%q>", src)
		}
	}
	for _, href := range append(got.Links, got.Media...) {
		if href != "#conversation" {
			t.Errorf("unexpected link or media URL %q", href)
		}
	}
	if got.RowName != img {
		t.Errorf("row name %q, want the literal text", got.RowName)
	}
	for _, want := range []string{img, script} {
		if !strings.Contains(got.Timeline, want) || !strings.Contains(got.Card, want) {
			t.Errorf("the literal text %q is not shown in the timeline and card", want)
		}
	}
}

func TestUIBrowserRussian(t *testing.T) {
	_, srv := startUIFake(t)
	p := newUIPage(t, srv.URL, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) leadhub-test", AcceptLanguage: "ru-RU,ru",
		})
		return err
	}))
	p.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	var lang string
	p.eval(`document.documentElement.lang`, &lang)
	if lang != "ru" || p.text(`[data-testid="login-submit"]`) != "Войти" || p.text(`label[for="login-password"]`) != "Пароль" {
		t.Errorf("login form: lang %q, button %q", lang, p.text(`[data-testid="login-submit"]`))
	}
	p.login()
	p.openConversation(4)
	for sel, want := range map[string]string{
		`[data-tab="new"] [data-i18n]`:             "Неразобранные",
		`[data-tab="mine"] [data-i18n]`:            "Мои",
		`[data-testid="reply-send"]`:               "Отправить",
		`[data-testid="logout"]`:                   "Выйти",
		`#timeline [data-testid="call-direction"]`: "Входящий звонок",
		`#timeline [data-testid="call-duration"]`:  "Длительность 2:05",
		`[data-testid="conv-status"]`:              "Ожидает",
	} {
		if got := p.text(sel); got != want {
			t.Errorf("%s: %q, want %q", sel, got, want)
		}
	}
	p.snap("ru")
	var rec string
	p.eval(`document.querySelector('#timeline [data-testid="call-recording"]').getAttribute('src')`, &rec)
	if rec != "https://pbx.example/rec/1.mp3" {
		t.Errorf("recording player src %q", rec)
	}

	// Switch to English; the choice survives a reload.
	p.do(chromedp.SetValue(chromedp.CSS(`[data-testid="lang-select"]`), "en"))
	p.eval(`document.querySelector('[data-testid="lang-select"]').dispatchEvent(new Event('change')), true`, nil)
	p.waitJS("English", `document.querySelector('[data-tab="new"] [data-i18n]').textContent === 'New'`)
	p.do(chromedp.Reload())
	p.waitJS("the inbox after reload", `document.body.dataset.view === 'app'`)
	if got := p.text(`[data-tab="new"] [data-i18n]`); got != "New" {
		t.Errorf("after reload the tab says %q, want English", got)
	}
	p.noCSPViolations()
}

func TestUIBrowserActions(t *testing.T) {
	f, srv := startUIFake(t)
	f.noCardNotes = true
	f.clients[2].DoNotContact, f.clients[2].DoNotContactReason = true, "просил не писать"
	p := newUIPage(t, srv.URL)
	p.login()

	// Filters ask the server.
	p.click(`[data-tab="mine"]`)
	p.waitJS("the mine list", `document.querySelectorAll('[data-testid="conversation-row"]').length === 1 && document.querySelector('[data-conversation-id="4"]')`)
	p.click(`[data-tab="new"]`)
	p.waitJS("the triage list", `document.querySelectorAll('[data-testid="conversation-row"]').length === 1 && document.querySelector('[data-conversation-id="3"]')`)
	qs := f.listQueries()
	if !slices.Contains(qs, "assignee=me") || !slices.Contains(qs, "status=new") {
		t.Errorf("list queries %q", qs)
	}

	// Triage: the server has no accept route yet, so the buttons go away.
	p.openConversation(3)
	p.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid="accept"]`)))
	var email struct {
		Subject string `json:"subject"`
		Text    string `json:"text"`
		Href    string `json:"href"`
	}
	p.eval(`(() => { const m = document.querySelector('#timeline [data-kind="email"]');
		return {subject: m.querySelector('.msg__subject').textContent, text: m.querySelector('.msg__text').textContent,
			href: m.querySelector('.attachment a').getAttribute('href')}; })()`, &email)
	if email.Subject != "Subject: Счёт на оплату" || email.Text != "Добрый день!\nПришлите счёт." || email.Href != "https://mail.example/att/1.pdf" {
		t.Errorf("email rendered as %+v", email)
	}
	p.click(`[data-testid="accept"]`)
	p.do(chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="accept"]`)), chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="reject"]`)))

	// Assign to me and change the status: PATCH, then the page follows
	// the answer and the event.
	p.click(`[data-testid="assign"]`)
	p.waitJS("assigned", `document.querySelector('#conv-sub').textContent.includes('assigned to you')`)
	p.do(chromedp.SetValue(chromedp.CSS(`[data-testid="status-select"]`), "pending"))
	p.eval(`document.querySelector('[data-testid="status-select"]').dispatchEvent(new Event('change')), true`, nil)
	p.waitJS("pending", `document.querySelector('[data-testid="conv-status"]').textContent === 'Pending'`)
	// Under the "new" filter the conversation stays while it is open.
	if got := p.text(`[data-conversation-id="3"] [data-testid="row-name"]`); got != "Мария Соколова" {
		t.Errorf("open conversation left the list: %q", got)
	}

	// Private notes: this server rejects "kind", so the control goes and
	// the text stays.
	p.click(`[data-testid="reply-mode-note"]`)
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-text"]`), "Заметка"), chromedp.Click(chromedp.CSS(`[data-testid="reply-send"]`)))
	p.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid="reply-error"]`)), chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="reply-mode-note"]`)))
	if got := p.text(`[data-testid="reply-error"]`); !strings.Contains(got, "does not support private notes") {
		t.Errorf("reply error %q", got)
	}
	var kept string
	p.eval(`document.querySelector('[data-testid="reply-text"]').value`, &kept)
	if kept != "Заметка" || len(f.postedTexts()) != 0 {
		t.Errorf("after the refused note: box %q, posted %q", kept, f.postedTexts())
	}

	// Do not contact: a warning; a reply needs the explicit override.
	if got := p.text(`[data-testid="dnc-warning"]`); !strings.Contains(got, "просил не писать") {
		t.Errorf("do-not-contact warning %q", got)
	}
	p.eval(`document.querySelector('[data-testid="reply-text"]').value = 'Ответ', true`, nil)
	p.click(`[data-testid="reply-send"]`)
	p.waitJS("the refusal", `document.querySelector('[data-testid="reply-error"]').textContent.includes('asked not to be contacted')`)
	p.click(`[data-testid="dnc-override"]`)
	p.click(`[data-testid="reply-send"]`)
	p.waitJS("the overriding reply", messageWithText("Ответ"))
	if got := f.postedTexts(); !slices.Equal(got, []string{"Ответ"}) {
		t.Errorf("posted %q", got)
	}

	// Keyboard: Escape to the list, j/k move through it. The reply put
	// conversation 3 on top: 3, 4, 1, 2.
	p.click(`[data-tab="all"]`)
	p.waitJS("all conversations", `document.querySelectorAll('[data-testid="conversation-row"]').length === 4`)
	p.eval(`document.activeElement.blur(), true`, nil)
	p.do(chromedp.KeyEvent("j"))
	p.waitJS("j opens the next", `location.hash === '#c=4'`)
	p.do(chromedp.KeyEvent("k"))
	p.waitJS("k opens the previous", `location.hash === '#c=3'`)
	var focused string
	p.eval(`document.activeElement.dataset.conversationId || ''`, &focused)
	if focused != "3" {
		t.Errorf("focus on row %q, want 3", focused)
	}
	p.do(chromedp.KeyEvent("r"))
	p.waitJS("r focuses the reply box", `document.activeElement.id === 'reply-text'`)
	p.do(chromedp.KeyEvent(kb.Escape))
	p.waitJS("Escape returns to the list", `document.activeElement.dataset.conversationId === '3'`)
	p.do(chromedp.KeyEvent(kb.ArrowDown))
	p.waitJS("ArrowDown moves focus", `document.activeElement.dataset.conversationId === '4'`)
	p.do(chromedp.KeyEvent(kb.Enter))
	p.waitJS("Enter opens", `location.hash === '#c=4'`)

	// Sign out: back to the login form, the socket closed.
	p.click(`[data-testid="logout"]`)
	p.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	if n := f.csrfFailures(); n != 0 {
		t.Errorf("%d writes without the CSRF token", n)
	}
	p.noCSPViolations()
}

// TestUIBrowserNotifications replaces the browser's Notification and
// WebAudio with recorders: headless Chromium shows neither.
func TestUIBrowserNotifications(t *testing.T) {
	f, srv := startUIFake(t)
	p := newUIPage(t, srv.URL, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__notes = []; window.__beeps = 0;
				window.Notification = class { constructor(title, opts) { window.__notes.push({title, body: opts && opts.body}); } close() {} };
				window.Notification.permission = 'default';
				window.Notification.requestPermission = async () => { window.Notification.permission = 'granted'; return 'granted'; };
				const osc = AudioContext.prototype.createOscillator;
				AudioContext.prototype.createOscillator = function () { window.__beeps++; return osc.call(this); };`,
		})
		return err
	}))
	p.login()

	// Off by default: a new lead makes no noise.
	f.newLead(20, 20, "Тихий лид", "Здравствуйте")
	p.waitJS("the first lead", `document.querySelector('[data-conversation-id="20"]')`)
	var quiet struct{ Notes, Beeps int }
	p.eval(`({notes: window.__notes.length, beeps: window.__beeps})`, &quiet)
	if quiet.Notes != 0 || quiet.Beeps != 0 {
		t.Errorf("alerts while off: %+v", quiet)
	}

	p.click(`[data-testid="notify-toggle"]`)
	p.waitJS("the permission", `window.Notification.permission === 'granted' && localStorage.getItem('leadhub.notify') === '1'`)
	f.newLead(21, 21, "Громкий лид", "Перезвоните")
	p.waitJS("the notification", `window.__notes.length === 1 && window.__beeps === 1`)
	var note struct{ Title, Body string }
	p.eval(`window.__notes[0]`, &note)
	if note.Title != "New lead" || !strings.Contains(note.Body, "Громкий лид") {
		t.Errorf("notification %+v", note)
	}

	// The choice is remembered.
	p.do(chromedp.Reload())
	p.waitJS("the inbox after reload", `document.body.dataset.view === 'app'`)
	var on bool
	p.eval(`document.querySelector('[data-testid="notify-toggle"]').checked`, &on)
	if !on {
		t.Errorf("the toggle is off after a reload")
	}
	p.noCSPViolations()
}

// A channel that is down shows in the top bar and above the reply box of
// its conversations, and nowhere else.
func TestUIBrowserChannelHealth(t *testing.T) {
	f, srv := startUIFake(t)
	f.mu.Lock()
	f.health = []inbox.ChannelHealth{
		{Channel: "mail", State: inbox.HealthDown, Error: "IMAP login failed: wrong user name or password", Failures: 3},
		{Channel: "tg", State: inbox.HealthOK},
	}
	f.mu.Unlock()
	p := newUIPage(t, srv.URL)
	p.login()
	p.waitJS("the health line", `!document.querySelector('[data-testid="channel-health"]').hidden`)
	if got := p.text(`[data-testid="channel-health"]`); !strings.Contains(got, "mail") || !strings.Contains(got, "IMAP login failed") || strings.Contains(got, "tg") {
		t.Errorf("top bar health %q", got)
	}
	p.openConversation(3)
	p.waitJS("the channel warning", `!document.querySelector('[data-testid="channel-warning"]').hidden`)
	if got := p.text(`[data-testid="channel-warning"]`); !strings.Contains(got, "mail") || !strings.Contains(got, "wrong user name or password") {
		t.Errorf("reply box warning %q", got)
	}
	p.openConversation(1)
	p.waitJS("no warning on a healthy channel", `document.querySelector('[data-testid="channel-warning"]').hidden`)
	p.noCSPViolations()
}

// A draft stays with its conversation: it never shows in another client's
// reply box, and it survives a reload.
func TestUIBrowserDrafts(t *testing.T) {
	f, srv := startUIFake(t)
	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(1)
	const draft = "Иван, цена вашей кухни 350 000 руб."
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-text"]`), draft))
	p.openConversation(3)
	if got := p.value(`[data-testid="reply-text"]`); got != "" {
		t.Fatalf("another conversation's reply box holds %q", got)
	}
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-text"]`), "Мария, добрый день"))
	p.openConversation(1)
	if got := p.value(`[data-testid="reply-text"]`); got != draft {
		t.Fatalf("back in the first conversation the box holds %q, want the draft", got)
	}
	p.do(chromedp.Reload())
	p.waitJS("the inbox after reload", `document.body.dataset.view === 'app'`)
	p.openConversation(3)
	if got := p.value(`[data-testid="reply-text"]`); got != "Мария, добрый день" {
		t.Fatalf("after a reload the draft is %q", got)
	}
	// Sent, the draft is gone for good.
	p.click(`[data-testid="reply-send"]`)
	p.waitJS("the reply posted", `document.querySelector('[data-testid="reply-text"]').value === ''`)
	p.openConversation(1)
	p.openConversation(3)
	if got := p.value(`[data-testid="reply-text"]`); got != "" {
		t.Errorf("a sent draft came back: %q", got)
	}
	if posts := f.postedTexts(); !slices.Contains(posts, "Мария, добрый день") || slices.Contains(posts, draft) {
		t.Errorf("posted %q", posts)
	}
}

// The worker's "sent" may reach the page before the reply's own 202
// answer, which says "queued": the page keeps the latest state.
func TestUIBrowserReplyStateRace(t *testing.T) {
	f, srv := startUIFake(t)
	hold := make(chan struct{})
	f.mu.Lock()
	f.holdReply = hold
	f.mu.Unlock()
	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(1)
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-text"]`), "Ответ до подтверждения"),
		chromedp.Click(chromedp.CSS(`[data-testid="reply-send"]`)))
	p.waitJS("the reply from its event", messageWithText("Ответ до подтверждения"))
	reply := f.lastMessage(1)
	sel := fmt.Sprintf(`#timeline [data-message-id="%d"]`, reply.ID)
	f.deliver(reply.ID, inbox.DeliverySent, "")
	p.waitJS("sent, before the answer", `document.querySelector(`+jsq(sel)+`).dataset.delivery === 'sent'`)
	close(hold)
	p.waitJS("the answer applied", `document.querySelector('[data-testid="reply-text"]').value === ''`)
	// The 202 is handled: the reply box emptied after it. The state stays.
	var state string
	p.eval(`document.querySelector(`+jsq(sel)+`).dataset.delivery`, &state)
	if state != "sent" {
		t.Fatalf("after the 202 answer the reply shows %q, want sent", state)
	}
	if got := p.text(sel + ` [data-testid="delivery"]`); got != "Sent" {
		t.Errorf("delivery label %q", got)
	}
}

// A conversation reassigned to a colleague leaves the old assignee's list
// at once, without a reload; one that moved but is still visible stays.
func TestUIBrowserMovedAway(t *testing.T) {
	f, srv := startUIFake(t)
	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(4)
	p.waitJS("conversation 3 listed", `document.querySelector('[data-conversation-id="3"]')`)
	// Conversation 3 moves but stays visible; 4, open, goes to a colleague.
	f.mu.Lock()
	f.convs[3].Status = inbox.StatusOpen
	f.eventLocked(inbox.EventConversationMoved, inbox.MovedPayload{ConversationID: 3})
	delete(f.convs, 4)
	f.eventLocked(inbox.EventConversationMoved, inbox.MovedPayload{ConversationID: 4})
	f.mu.Unlock()
	p.waitJS("the moved-away row gone", `!document.querySelector('[data-conversation-id="4"]')`)
	p.waitJS("the view closed", `document.querySelector('#conv-body').hidden`)
	p.waitJS("the still-visible one updated", `document.querySelector('[data-conversation-id="3"]').dataset.status === 'open'`)
}

// Colleagues are named, not numbered: the assignee in the header and the
// author of a reply.
func TestUIBrowserColleagueNames(t *testing.T) {
	f, srv := startUIFake(t)
	petr := int64(77)
	f.mu.Lock()
	f.convs[3].AssigneeID = &petr
	f.mu.Unlock()
	f.addMsg(inbox.Message{ConversationID: 3, Direction: inbox.DirectionOut, Text: "Ответ Петра", AuthorID: &petr, Delivery: inbox.DeliverySent})
	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(3)
	p.waitJS("the assignee named", `document.querySelector('#conv-sub').textContent.includes('Пётр Иванов')`)
	p.waitJS("the author named", messageWithText("Ответ Петра")+`.textContent.includes('Пётр Иванов')`)
	if got := p.text(`#conv-sub`); strings.Contains(got, "#77") {
		t.Errorf("header %q still numbers the colleague", got)
	}
}

// The tabs show how many conversations each holds, and follow live leads.
func TestUIBrowserTabCounts(t *testing.T) {
	f, srv := startUIFake(t)
	p := newUIPage(t, srv.URL)
	p.login()
	// Seed: 1 open (1), 3 new (mail), 4 pending and mine; 2 is closed.
	p.waitJS("the counts", `document.querySelector('[data-testid="tab-count-new"]').textContent === '1'`)
	for tab, want := range map[string]string{"new": "1", "open": "1", "pending": "1", "mine": "1", "unassigned": "2"} {
		if got := p.text(`[data-testid="tab-count-` + tab + `"]`); got != want {
			t.Errorf("tab %s count %q, want %q", tab, got, want)
		}
	}
	f.newLead(9, 9, "Новый лид", "Хочу купить")
	p.waitJS("the new lead counted", `document.querySelector('[data-testid="tab-count-new"]').textContent === '2' && document.querySelector('[data-testid="tab-count-unassigned"]').textContent === '3'`)
	// The labels stay translated beside their counts.
	if got := p.text(`[data-tab="new"]`); got != "New2" {
		t.Errorf("tab text %q", got)
	}
}

// A template is added in the Templates dialog, offered after "/" in the
// reply box and inserted with its placeholders filled in.
func TestUIBrowserCannedReplies(t *testing.T) {
	f, srv := startUIFake(t)
	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(1)
	p.click(`[data-testid="canned-manage"]`)
	p.waitJS("the dialog", `document.querySelector('[data-testid="canned-dialog"]').open`)
	if got := p.text(`[data-testid="canned-scope"]`); !strings.Contains(got, "Team sales") || strings.Contains(got, "Everyone") {
		t.Errorf("scope options %q: an operator shares with their team, not everyone", got)
	}
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="canned-title"]`), "цена"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="canned-text"]`), "{{client.first_name}}, кухня стоит 350 000 руб. — {{operator.name}}"))
	p.click(`[data-testid="canned-add"]`)
	p.waitJS("the template listed", `document.querySelector('[data-testid="canned-entry"][data-title="цена"]')`)
	p.click(`[data-testid="canned-close"]`)
	p.waitJS("the dialog closed", `!document.querySelector('[data-testid="canned-dialog"]').open`)

	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-text"]`), "/це"))
	p.waitJS("the picker", `!document.querySelector('[data-testid="canned-picker"]').hidden && document.querySelector('[data-testid="canned-option"][data-title="цена"]')`)
	p.do(chromedp.KeyEvent(kb.Enter))
	want := "Иван, кухня стоит 350 000 руб. — Оля Оператор"
	p.waitJS("the template inserted", `document.querySelector('[data-testid="reply-text"]').value === `+jsq(want))
	var hidden bool
	p.eval(`document.querySelector('[data-testid="canned-picker"]').hidden`, &hidden)
	if !hidden {
		t.Error("the picker stays open after inserting")
	}
	p.do(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	p.waitJS("the reply sent", `document.querySelector('[data-testid="reply-text"]').value === ''`)
	if posts := f.postedTexts(); !slices.Contains(posts, want) {
		t.Errorf("posted %q", posts)
	}
	// Escape closes the picker and leaves the text as typed.
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-text"]`), "/ц"))
	p.waitJS("the picker again", `!document.querySelector('[data-testid="canned-picker"]').hidden`)
	p.do(chromedp.KeyEvent(kb.Escape))
	p.waitJS("the picker closed", `document.querySelector('[data-testid="canned-picker"]').hidden`)
	if got := p.value(`[data-testid="reply-text"]`); got != "/ц" {
		t.Errorf("after Escape the box holds %q", got)
	}
}

// Words typed in the search box find messages too; a hit opens its
// conversation at that message.
func TestUIBrowserMessageSearch(t *testing.T) {
	_, srv := startUIFake(t)
	p := newUIPage(t, srv.URL)
	p.login()
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="search"]`), "бесплатная"))
	p.waitJS("a hit", `!document.querySelector('[data-testid="message-hits"]').hidden && document.querySelector('[data-testid="message-hit"]')`)
	if got := p.text(`[data-testid="message-hit"]`); !strings.Contains(got, "Доставка бесплатная") || !strings.Contains(got, "Иван Петров") {
		t.Errorf("hit %q", got)
	}
	p.click(`[data-testid="message-hit"]`)
	p.waitJS("the message shown as the hit", `document.querySelector('#timeline [data-hit="true"]') && document.querySelector('#timeline [data-hit="true"]').textContent.includes('Доставка бесплатная')`)
	// A word nobody wrote says so.
	p.eval(`(document.querySelector('[data-testid="search"]').value = '', true)`, nil)
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="search"]`), "абракадабра"))
	p.waitJS("no hits", `document.querySelector('[data-testid="message-hits"]').textContent.includes('No message has these words')`)
	p.noCSPViolations()
}

// Errors the server names a reason for read in the operator's language.
func TestUIBrowserErrorsTranslated(t *testing.T) {
	f, srv := startUIFake(t)
	f.mu.Lock()
	f.clients[2].DoNotContact, f.clients[2].DoNotContactReason = true, "просил не писать"
	f.mu.Unlock()
	p := newUIPage(t, srv.URL, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) leadhub-test", AcceptLanguage: "ru-RU,ru",
		})
		return err
	}))
	p.login()
	p.openConversation(3)
	p.eval(`document.querySelector('[data-testid="reply-text"]').value = 'Ответ', true`, nil)
	p.click(`[data-testid="reply-send"]`)
	p.waitJS("the refusal", `document.querySelector('[data-testid="reply-error"]').textContent.includes('клиент просил с ним не связываться (просил не писать)')`)
	if got := p.text(`[data-testid="reply-error"]`); strings.Contains(got, "asked") || strings.Contains(got, "override_dnc") {
		t.Errorf("English in the Russian page: %q", got)
	}
}

// ring publishes call.ringing for conversation convID's client, as the
// store writes it.
func (f *uiFake) ring(callID string, convID int64, name, number string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *f.convs[convID]
	msg := inbox.Message{ID: 900, ConversationID: convID, Direction: inbox.DirectionIn, Kind: inbox.KindCall, Text: "[incoming call: ringing]"}
	f.eventLocked(inbox.EventCallRinging, inbox.CallPayload{
		Call:    inbox.Call{ID: callID, Event: inbox.CallRinging, Direction: inbox.DirectionIn, From: number, Extension: "101"},
		Message: msg, Conversation: &c, ClientID: c.ClientID, ClientName: name, Number: number})
}

// TestUIBrowserScreenPop: a ringing call pops up at once with the caller's
// name as text and a button that opens their card; the pop-up goes when
// the call is answered; the card's phone has a call button.
func TestUIBrowserScreenPop(t *testing.T) {
	f, srv := startUIFake(t)
	// A missed call as leadhub's telephony channels write it.
	f.addMsg(inbox.Message{ConversationID: 4, Direction: inbox.DirectionIn, Kind: inbox.KindCall,
		Text: "[incoming call: ended, missed, ext. 101]", Meta: map[string]string{"call_id": "m-1", "call_event": "ended",
			"call_from": "+79120000003", "call_extension": "101", "call_disposition": "missed"}})
	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(4)
	p.waitJS("the missed call", `Array.from(document.querySelectorAll('#timeline [data-testid="call-direction"]')).some((el) => el.textContent.includes('Missed call'))`)
	if got := p.text(`#timeline [data-testid="call-extension"]`); got != "Extension 101" {
		t.Errorf("call extension = %q", got)
	}

	hostile := `<img src=x onerror="window.__xss=1">Иван`
	f.ring("call-1", 2, hostile, "+79120000001")
	p.waitJS("the screen-pop", `(() => { const el = document.querySelector('[data-testid="screenpop"]'); return el && !el.hidden; })()`)
	if got := p.text(`[data-testid="screenpop-name"]`); got != hostile {
		t.Errorf("screen-pop name = %q, want the name as text", got)
	}
	if got := p.text(`[data-testid="screenpop-number"]`); got != "+79120000001" {
		t.Errorf("screen-pop number = %q", got)
	}
	var imgs int
	p.eval(`document.querySelectorAll('[data-testid="screenpop"] img').length`, &imgs)
	if imgs != 0 {
		t.Errorf("the caller's name became markup")
	}
	p.click(`[data-testid="screenpop-open"]`)
	p.waitJS("the caller's conversation", `window.location.hash === '#c=2' && document.querySelector('#timeline').getAttribute('aria-busy') === 'false'`)
	p.waitJS("the card", `document.querySelector('[data-testid="card-identities"]')`)
	p.waitJS("the pop-up gone", `document.querySelector('[data-testid="screenpop"]').hidden`)

	// Answered elsewhere: the pop-up of that call goes by itself.
	f.ring("call-2", 3, "", "+79120000002")
	p.waitJS("the second pop-up", `!document.querySelector('[data-testid="screenpop"]').hidden && document.querySelector('[data-testid="screenpop-name"]').textContent === '+79120000002'`)
	f.mu.Lock()
	f.eventLocked(inbox.EventCallUpdated, inbox.CallPayload{Call: inbox.Call{ID: "call-2", Event: inbox.CallAnswered, Direction: inbox.DirectionIn}})
	f.mu.Unlock()
	p.waitJS("the answered call's pop-up gone", `document.querySelector('[data-testid="screenpop"]').hidden`)

	// Calling from the card.
	p.click(`[data-testid="call-phone"]`)
	p.waitJS("the call asked for", `document.querySelector('[data-testid="call-phone"]').textContent === 'Calling…'`)
	if posts := f.postedTexts(); !slices.Contains(posts, "call 1 +79120000001") {
		t.Errorf("posts = %q, want the call of client 1's phone", posts)
	}
	var xss any
	p.eval(`window.__xss || null`, &xss)
	if xss != nil {
		t.Errorf("script ran from customer text")
	}
	p.noCSPViolations()
}

// A mail shows its text; the quoted history is folded away, automatic
// mail is marked, and the stored HTML is never rendered as markup.
func TestUIBrowserEmailMessage(t *testing.T) {
	f, srv := startUIFake(t)
	f.addMsg(inbox.Message{ConversationID: 3, Direction: inbox.DirectionIn, Kind: inbox.KindEmail, Subject: "Re: Счёт",
		Text: "Спасибо, оплатим завтра.", Meta: map[string]string{
			"quoted": "> Добрый день! Высылаем счёт.", "html": `<p>Спасибо<img src=x onerror="window.__xss=1"></p>`,
			"auto": "auto-reply", "message_id": "abc@mail.example"}})
	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(3)
	p.waitJS("the mail", messageWithText("оплатим завтра"))
	if got := p.text(`[data-testid="email-flags"]`); got != "Auto-reply" {
		t.Errorf("flags %q", got)
	}
	var open bool
	p.eval(`document.querySelector('[data-testid="email-quoted"]').open`, &open)
	if open || !strings.Contains(p.text(`[data-testid="email-quoted"]`), "Высылаем счёт") {
		t.Errorf("quoted history: open %v, text %q", open, p.text(`[data-testid="email-quoted"]`))
	}
	var xss string
	p.eval(`typeof window.__xss`, &xss)
	if xss != "undefined" || strings.Contains(p.text(`#timeline`), "<p>Спасибо") {
		t.Errorf("the stored HTML was shown or ran: %s", xss)
	}
}

// A new mail to an address on the card opens its email conversation.
func TestUIBrowserWriteMail(t *testing.T) {
	f, srv := startUIFake(t)
	f.mu.Lock()
	f.clients[1].Identities = append(f.clients[1].Identities, inbox.Identity{Kind: inbox.IdentityEmail, Value: "ivan@example.com"})
	f.mu.Unlock()
	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(1)
	p.waitJS("the write button", `document.querySelector('[data-testid="write-mail"]')`)
	p.click(`[data-testid="write-mail"]`)
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="write-mail-subject"]`), "Смета"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="write-mail-text"]`), "Высылаем смету кухни."))
	p.click(`[data-testid="write-mail-send"]`)
	p.waitJS("the mail's conversation open", `document.querySelector('#timeline').textContent.includes('Высылаем смету кухни.')`)
	if posts := f.postedTexts(); !slices.Contains(posts, "mail to ivan@example.com: Смета") {
		t.Errorf("posted %q", posts)
	}
}

// A lead that cannot be written to (a site form, a card with only a phone)
// offers a call and a planned callback instead of a reply that fails.
func TestUIBrowserNoRouteOffersCall(t *testing.T) {
	f, srv := startUIFake(t)
	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(2) // Иван's site form: a phone only
	p.waitJS("the no-route warning", `!document.querySelector('[data-testid="reply-noroute"]').hidden && document.querySelector('[data-testid="noroute-call"]')`)
	p.click(`[data-testid="noroute-call"]`)
	waitFor(t, "the call request", func() bool { return slices.Contains(f.postedTexts(), "call 1 +79120000001") })
	p.click(`[data-testid="noroute-task"]`)
	p.waitJS("the task title focused and filled", `document.activeElement && document.activeElement.dataset.testid === 'task-title' && document.activeElement.value !== ''`)
}

// TestUIBrowserLongConsentURL: at 1366×768 a card whose consent was given
// on a page with a very long address (a landing page with its UTM tags)
// keeps everything inside the card: the address is cut with an ellipsis,
// the whole of it in its title, and every button of the card stays in
// the window. The form lead's long page address wraps in the timeline.
func TestUIBrowserLongConsentURL(t *testing.T) {
	f := newUIFake()
	f.seed()
	long := "https://shop.example/landing/kitchens-spring-sale?utm_source=yandex&utm_medium=cpc&utm_campaign=kuhni_moskva_2026_spring_" +
		strings.Repeat("retargeting_", 12) + "&utm_content=banner_1366x768&yclid=" + strings.Repeat("8472615", 10)
	f.mu.Lock()
	card := f.clients[1]
	card.Consents = append(card.Consents, inbox.Consent{ID: 2, ClientID: 1, Kind: "marketing", TextVersion: "3f9a1c2b7d40", GivenAt: uiBase, Source: long})
	for _, m := range f.msgs[2] {
		if m.Kind == inbox.KindForm {
			m.Meta["page_url"] = long
		}
	}
	f.mu.Unlock()
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	t.Cleanup(f.close)
	p := newUIPage(t, srv.URL, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 1366, Height: 768, DeviceScaleFactor: 1})
		return err
	}))
	p.login()

	// outside lists what sticks out: root scrolling sideways, an element
	// of root reaching past its edges, a control of root (scrolled to) or
	// of the conversation's header and reply box outside the window.
	outside := func(root string) []string {
		t.Helper()
		var bad []string
		p.eval(`(() => {
			const out = [];
			const root = document.querySelector(`+jsq(root)+`);
			const box = root.getBoundingClientRect();
			if (root.scrollWidth > root.clientWidth + 1) out.push(root.id + ' scrolls sideways: ' + root.scrollWidth + ' > ' + root.clientWidth);
			for (const el of root.querySelectorAll('*')) {
				const r = el.getBoundingClientRect();
				if (r.width === 0 && r.height === 0) continue;
				if (r.right > box.right + 1 || r.left < box.left - 1) out.push(el.tagName + '.' + el.className + ' [' + (el.textContent || '').slice(0, 40) + '] ' + r.left + '..' + r.right + ' outside ' + box.left + '..' + box.right);
			}
			for (const b of [...root.querySelectorAll('button, select, input, textarea'), ...document.querySelectorAll('.conv__actions > *, #reply-form button')]) {
				// A closed <details> keeps its controls' boxes but shows none.
				if (!b.checkVisibility()) continue;
				if (root.contains(b)) b.scrollIntoView({ block: 'nearest', behavior: 'instant' });
				const r = b.getBoundingClientRect();
				if (r.width === 0 && r.height === 0) continue;
				if (r.left < 0 || r.right > window.innerWidth || r.bottom > window.innerHeight + 1) out.push(b.tagName + ' [' + b.textContent.trim().slice(0, 40) + '] at ' + r.left + '..' + r.right + ', bottom ' + r.bottom + ', outside the window of ' + window.innerWidth + '×' + window.innerHeight);
			}
			return out;
		})()`, &bad)
		return bad
	}
	for _, lang := range []string{"en", "ru"} {
		if lang == "ru" {
			p.do(chromedp.SetValue(`[data-testid="lang-select"]`, "ru"))
			p.eval(`document.querySelector('[data-testid="lang-select"]').dispatchEvent(new Event('change', {bubbles: true}))`, nil)
			p.waitJS("Russian", `document.documentElement.lang === 'ru'`)
		}
		p.openConversation(1)
		p.waitJS("the long consent in the card", `document.querySelectorAll('[data-testid="card-consents"] li').length === 2`)
		if bad := outside(`[data-testid="client-card"]`); len(bad) > 0 {
			t.Errorf("%s, the card at 1366×768:\n%s", lang, strings.Join(bad, "\n"))
		}
		var title string
		p.eval(`(() => { const el = [...document.querySelectorAll('[data-testid="consent-source"]')].find((e) => e.textContent.includes('kitchens')); return el ? el.title : ''; })()`, &title)
		if title != long {
			t.Errorf("%s: the consent's address in its title: %q", lang, title)
		}
		p.snap("long-consent-" + lang)

		p.openConversation(2)
		p.waitJS("the form lead", messageWithText("Нужна доставка в Пермь"))
		if bad := outside(`#timeline`); len(bad) > 0 {
			t.Errorf("%s, the form lead at 1366×768:\n%s", lang, strings.Join(bad, "\n"))
		}
	}
}

// TestUIBrowserChannelDetails: Settings → Channels asks, when it opens,
// for the details of the channels that have some: a Telegram bot shows the
// webhook Telegram has, the updates waiting and the last error; a bot
// Telegram could not be asked about says why; a mailbox shows its health
// and no details row. The page's health poll never asks.
func TestUIBrowserChannelDetails(t *testing.T) {
	f := newUIFake()
	f.seed()
	f.admin = true
	f.channels = []ChannelInfo{
		{ID: "tg", Type: inbox.ChannelTelegram, Status: "enabled", CanSend: true, Details: true, Health: inbox.ChannelHealth{Channel: "tg", State: inbox.HealthOK}},
		{ID: "tg-old", Type: inbox.ChannelTelegram, Status: "enabled", CanSend: true, Details: true},
		{ID: "mail", Type: inbox.ChannelEmail, Status: "enabled", CanSend: true, Health: inbox.ChannelHealth{Channel: "mail", State: inbox.HealthDown, Error: "IMAP login failed"}},
	}
	f.details = map[string]channelDetailsView{
		"tg": {Channel: "tg", Type: inbox.ChannelTelegram, Details: map[string]any{
			"webhook_url": "https://hub.example.com/hooks/telegram/tg", "pending_update_count": 12,
			"last_error_message": "<b>Wrong response</b> from the webhook: 502 Bad Gateway", "last_error_date": uiBase.Format(time.RFC3339),
		}},
		"tg-old": {Channel: "tg-old", Type: inbox.ChannelTelegram, Error: "telegram: channel tg-old: getWebhookInfo: context deadline exceeded"},
	}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	t.Cleanup(f.close)
	p := newUIPage(t, srv.URL)
	p.login()
	f.mu.Lock()
	asked := f.asks
	f.mu.Unlock()
	if asked != 0 {
		t.Fatalf("the page asked for channel details %d times before Settings opened", asked)
	}

	p.click(`[data-testid="admin-open"]`)
	p.click(`[data-testid="admin-tab-channels"]`)
	tg := `document.querySelector('[data-testid="admin-channel-details"][data-channel="tg"]')`
	old := `document.querySelector('[data-testid="admin-channel-details"][data-channel="tg-old"]')`
	p.waitJS("the details", tg+` && `+tg+`.dataset.state === 'ok' && `+old+`.dataset.state === 'error'`)
	if got := p.text(`[data-channel="tg"] [data-testid="details-webhook"]`); got != "https://hub.example.com/hooks/telegram/tg" {
		t.Errorf("webhook %q", got)
	}
	if got := p.text(`[data-channel="tg"] [data-testid="details-pending"]`); got != "12" {
		t.Errorf("updates waiting %q", got)
	}
	if got := p.text(`[data-channel="tg"] [data-testid="details-error"]`); !strings.Contains(got, "<b>Wrong response</b> from the webhook: 502 Bad Gateway (") {
		t.Errorf("last error %q", got)
	}
	var bold int
	p.eval(`document.querySelectorAll('[data-testid="admin-channels"] b').length`, &bold)
	if bold != 0 {
		t.Error("Telegram's error text became markup")
	}
	if got := p.text(`[data-testid="admin-channel-details"][data-channel="tg-old"]`); got != "Could not ask Telegram: telegram: channel tg-old: getWebhookInfo: context deadline exceeded" {
		t.Errorf("a bot Telegram could not be asked about: %q", got)
	}
	if got := p.text(`[data-testid="admin-channel"][data-channel="mail"]`); !strings.Contains(got, "not working — IMAP login failed") {
		t.Errorf("the mailbox row: %q", got)
	}
	var rows int
	p.eval(`document.querySelectorAll('[data-testid="admin-channel-details"][data-channel="mail"]').length`, &rows)
	if rows != 0 {
		t.Error("a details row for the mailbox")
	}
	f.mu.Lock()
	asked = f.asks
	f.mu.Unlock()
	if asked != 2 {
		t.Errorf("opening Channels asked for details %d times, want 2", asked)
	}

	// In Russian.
	p.click(`[data-testid="admin-close"]`)
	p.do(chromedp.SetValue(`[data-testid="lang-select"]`, "ru"))
	p.eval(`document.querySelector('[data-testid="lang-select"]').dispatchEvent(new Event('change', {bubbles: true}))`, nil)
	p.waitJS("Russian", `document.documentElement.lang === 'ru'`)
	p.click(`[data-testid="admin-open"]`)
	p.click(`[data-testid="admin-tab-channels"]`)
	p.waitJS("the details in Russian", old+` && `+old+`.dataset.state === 'error'`)
	if got := p.text(`[data-testid="admin-channel-details"][data-channel="tg-old"]`); !strings.HasPrefix(got, "Не удалось спросить Telegram: ") {
		t.Errorf("in Russian: %q", got)
	}
	p.noCSPViolations()
}
