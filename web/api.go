package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// maxJSONBody bounds an API request body.
const maxJSONBody = 1 << 20

// apiHandler serves the operator JSON API under /api/v1.
type apiHandler struct {
	// webhookSelf is where the hub is reached: no subscription may point
	// there.
	webhookSelf inbox.WebhookSelf
	store       Store
	pub         inbox.Publisher
	kick        func()
	access      *access
	hub         *Hub
	channels    []ChannelInfo
	health      *inbox.HealthBoard
	starter     ConversationStarter
	// uploads keeps files operators attach to replies; nil refuses them.
	uploads inbox.Files
	// bg runs CSV imports after their request is answered.
	bg *background
	// admin is the admin use cases, shared with the command line.
	admin *inbox.Admin
	// callers are the telephony channels that place calls, by id.
	callers map[string]Caller
	// status asks a channel's provider about it, by channel id
	// (Options.ChannelStatus).
	status map[string]func(ctx context.Context) (any, error)
	// reportLoc is the business's time zone: reports count its days.
	reportLoc *time.Location
}

// list is the shape of every list response. Items is never null.
type list[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

func newList[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, Next: next}
}

func (a *apiHandler) listConversations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f := inbox.ConversationFilter{
		Status:    inbox.ConversationStatus(q.Get("status")),
		ChannelID: q.Get("channel"),
		Q:         q.Get("q"),
		Cursor:    q.Get("cursor"),
		Limit:     limit,
	}
	if f.Status != "" && !f.Status.Valid() {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "unknown status %q", f.Status))
		return
	}
	if f.Scope, err = a.access.listScope(r); err != nil {
		writeError(w, r, err)
		return
	}
	switch as := q.Get("assignee"); as {
	case "":
	case "none":
		f.Unassigned = true
	case "me":
		op, _ := operatorFrom(r.Context())
		f.AssigneeID = op.ID
	default:
		id, err := strconv.ParseInt(as, 10, 64)
		if err != nil || id <= 0 {
			writeError(w, r, inbox.Errorf(inbox.EINVALID, `assignee must be an operator id, "me" or "none"`))
			return
		}
		f.AssigneeID = id
	}
	items, next, err := a.store.ListConversations(r.Context(), f)
	if err == nil {
		op, _ := operatorFrom(r.Context())
		err = a.store.UnreadFor(r.Context(), op.ID, items)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(items, next))
}

// canSend says whether a configured channel can send replies; known is
// false for a channel the server was not told about (tests, scripts).
func (a *apiHandler) canSend(channelID string) (known, can bool) {
	for _, ch := range a.channels {
		if ch.ID == channelID {
			return true, ch.CanSend
		}
	}
	return false, false
}

// replyRoutes: GET /conversations/{id}/routes: the ways to answer the
// client, the conversation's own channel first when it can send, then
// every other channel that can send and reaches one of the client's
// identities.
func (a *apiHandler) replyRoutes(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	conv, _, err := a.access.conversation(r, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	client, err := a.store.GetClient(r.Context(), conv.ClientID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	routes := []inbox.ReplyRoute{}
	for _, ch := range a.channels {
		if !ch.CanSend {
			continue
		}
		for _, ident := range client.Identities {
			if ch.ID == conv.ChannelID || ch.Type.Reaches(ident, ch.ID) {
				routes = append(routes, inbox.ReplyRoute{Channel: ch.ID, Type: ch.Type, To: ident.Value, Current: ch.ID == conv.ChannelID})
				break
			}
		}
	}
	slices.SortStableFunc(routes, func(x, y inbox.ReplyRoute) int {
		if x.Current != y.Current {
			if x.Current {
				return -1
			}
			return 1
		}
		return strings.Compare(x.Channel, y.Channel)
	})
	writeJSON(w, r, http.StatusOK, newList(routes, ""))
}

// searchMessages: GET /messages/search?q=&cursor=&limit=: messages holding
// every word of q, newest first, in conversations the operator sees.
func (a *apiHandler) searchMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f := inbox.MessageSearch{Q: q.Get("q"), Cursor: q.Get("cursor"), Limit: limit}
	if f.Scope, err = a.access.listScope(r); err != nil {
		writeError(w, r, err)
		return
	}
	hits, next, err := a.store.SearchMessages(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(nonNil(hits), next))
}

// countConversations: GET /conversations/counts?channel=: the tabs'
// counts of what the operator sees and is not closed.
func (a *apiHandler) countConversations(w http.ResponseWriter, r *http.Request) {
	scope, err := a.access.listScope(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	op, _ := operatorFrom(r.Context())
	n, err := a.store.CountConversations(r.Context(), scope, op.ID, r.URL.Query().Get("channel"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, n)
}

func (a *apiHandler) getConversation(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	c, _, err := a.access.conversation(r, id)
	if err == nil {
		op, _ := operatorFrom(r.Context())
		convs := []inbox.Conversation{c}
		err = a.store.UnreadFor(r.Context(), op.ID, convs)
		c = convs[0]
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, c)
}

// markRead: POST /conversations/{id}/read and /unread. The mark is the
// operator's own: colleagues keep their unread counts.
func (a *apiHandler) markRead(unread bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := idFromPath(w, r)
		if !ok {
			return
		}
		if _, err := a.access.checkConversation(r, id); err != nil {
			writeError(w, r, err)
			return
		}
		op, _ := operatorFrom(r.Context())
		n, evs, err := a.store.MarkRead(r.Context(), id, op.ID, unread)
		if err != nil {
			writeError(w, r, err)
			return
		}
		a.publish(r.Context(), evs)
		writeJSON(w, r, http.StatusOK, inbox.ReadPayload{ConversationID: id, Unread: n})
	}
}

// conversationPatchBody tells an absent assignee_id (leave it) from a null
// one (unassign): a RawMessage stays nil when the key is absent and holds
// "null" when it is null.
type conversationPatchBody struct {
	Status     *inbox.ConversationStatus `json:"status"`
	AssigneeID json.RawMessage           `json:"assignee_id"`
}

func (a *apiHandler) patchConversation(w http.ResponseWriter, r *http.Request) {
	var body conversationPatchBody
	id, ok := idAndBody(w, r, &body)
	if !ok {
		return
	}
	var p inbox.ConversationPatch
	if body.Status != nil {
		if !body.Status.Valid() {
			writeError(w, r, inbox.Errorf(inbox.EINVALID, "unknown status %q", *body.Status))
			return
		}
		p.Status = body.Status
	}
	if body.AssigneeID != nil {
		p.SetAssignee = true
		if !bytes.Equal(body.AssigneeID, []byte("null")) {
			var aid int64
			if err := json.Unmarshal(body.AssigneeID, &aid); err != nil || aid <= 0 {
				writeError(w, r, inbox.Errorf(inbox.EINVALID, "assignee_id must be an operator id or null"))
				return
			}
			p.AssigneeID = &aid
		}
	}
	if p.Status == nil && !p.SetAssignee {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "nothing to change: give status or assignee_id"))
		return
	}
	sc, err := a.access.checkConversation(r, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// An operator takes a conversation or lets it go; handing it to
	// someone else is for supervisors and admins.
	op, _ := operatorFrom(r.Context())
	if p.SetAssignee && !sc.All && p.AssigneeID != nil && *p.AssigneeID != op.ID {
		writeError(w, r, inbox.Errorf(inbox.EFORBIDDEN, "only supervisors and admins assign conversations to others"))
		return
	}
	c, evs, err := a.store.UpdateConversation(r.Context(), id, p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	detail := map[string]any{}
	if p.Status != nil {
		detail["status"] = c.Status
	}
	if p.SetAssignee {
		detail["assignee_id"] = c.AssigneeID
	}
	if err := a.store.Audit(r.Context(), op.ID, "conversation.update", "conversation", id, detail); err != nil {
		loggerFrom(r.Context()).Error("audit conversation update", "err", err)
	}
	a.publish(r.Context(), evs)
	writeJSON(w, r, http.StatusOK, c)
}

func (a *apiHandler) listMessages(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	limit, err := parseLimit(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if _, err := a.access.checkConversation(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	items, next, err := a.store.ListMessages(r.Context(), id, q.Get("cursor"), limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(items, next))
}

type replyBody struct {
	Text string `json:"text"`
	// Via sends through another of the client's channels (see
	// GET /conversations/{id}/routes); "" is the conversation's own.
	Via string `json:"via"`
	// OverrideDNC replies to a client who asked not to be contacted; the
	// store audits it.
	OverrideDNC bool `json:"override_dnc"`
}

func (a *apiHandler) createReply(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	// Access first: nobody stores files through a conversation they
	// cannot see.
	conv, _, err := a.access.conversation(r, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var (
		body  replyBody
		files []inbox.Attachment
	)
	if isMultipart(r) {
		body, files, err = readReplyForm(w, r, a.uploads)
	} else {
		err = decodeJSON(w, r, &body)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if strings.TrimSpace(body.Text) == "" && len(files) == 0 {
		writeError(w, r, inbox.Reasonf(inbox.EINVALID, "empty_reply", nil, "text is required"))
		return
	}
	through := conv.ChannelID
	if body.Via != "" {
		through = body.Via
	}
	if known, can := a.canSend(through); known && !can {
		writeError(w, r, inbox.Reasonf(inbox.ECONFLICT, "channel_cannot_send", map[string]string{"channel": through},
			"channel %s cannot send replies; choose another of the client's channels with via", through))
		return
	}
	op, _ := operatorFrom(r.Context())
	m, evs, err := a.store.SendReply(r.Context(), inbox.ReplyRequest{
		ConversationID: id, AuthorID: op.ID, Text: body.Text, Attachments: files, OverrideDNC: body.OverrideDNC,
		Via: body.Via,
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.publish(r.Context(), evs)
	if a.kick != nil {
		a.kick()
	}
	// 202: the reply is stored and queued; its delivery status follows as
	// message.updated events.
	writeJSON(w, r, http.StatusAccepted, m)
}

func (a *apiHandler) listClients(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	sc, err := a.access.requestScope(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	items, next, err := a.store.ListVisibleClients(r.Context(), sc, q.Get("q"), q.Get("cursor"), limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(items, next))
}

func (a *apiHandler) getClient(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	sc, err := a.access.client(r, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, err := a.store.GetClient(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if !sc.All {
		// The card is shared; another team's conversations with the
		// client are not.
		seen := map[int64]bool{}
		c.Conversations = slices.DeleteFunc(c.Conversations, func(cv inbox.Conversation) bool {
			seen[cv.ID] = sc.Sees(cv)
			return !seen[cv.ID]
		})
		c.Messages = slices.DeleteFunc(c.Messages, func(m inbox.Message) bool { return !seen[m.ConversationID] })
	}
	// Who looked at whose personal data is on record (152-ФЗ); a view
	// that cannot be recorded is not shown.
	if err := a.store.Audit(r.Context(), operatorID(r), "client.view", "client", id, nil); err != nil {
		writeError(w, r, err)
		return
	}
	// Lists are [] and maps {}, never null, whatever the store returned.
	c.Identities = nonNil(c.Identities)
	c.Tags = nonNil(c.Tags)
	c.RawPhones = nonNil(c.RawPhones)
	c.Unreachable = nonNil(c.Unreachable)
	if c.CustomFields == nil {
		c.CustomFields = map[string]string{}
	}
	c.Conversations = nonNil(c.Conversations)
	c.Messages = nonNil(c.Messages)
	c.Notes = nonNil(c.Notes)
	c.Consents = nonNil(c.Consents)
	c.Tasks = nonNil(c.Tasks)
	c.Duplicates = nonNil(c.Duplicates)
	writeJSON(w, r, http.StatusOK, c)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// publish hands the events the API wrote to the publisher. The events are
// committed already, so a caller hanging up must not cancel the hint.
func (a *apiHandler) publish(ctx context.Context, evs []inbox.Event) {
	publish(ctx, a.pub, evs)
}

func publish(ctx context.Context, pub inbox.Publisher, evs []inbox.Event) {
	if len(evs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	pub.Publish(ctx, evs)
}

// pathID parses the {id} path segment.
// idFromPath reads the path id, answering 400 itself when it is not one;
// ok is false then.
func idFromPath(w http.ResponseWriter, r *http.Request) (id int64, ok bool) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return 0, false
	}
	return id, true
}

// clientAndBody reads the path's client id, checks that the operator may
// see the card and decodes the JSON body into v; when it fails it has
// answered already.
func (a *apiHandler) clientAndBody(w http.ResponseWriter, r *http.Request, v any) (int64, bool) {
	id, ok := idFromPath(w, r)
	if !ok {
		return 0, false
	}
	if _, err := a.access.client(r, id); err != nil {
		writeError(w, r, err)
		return 0, false
	}
	if err := decodeJSON(w, r, v); err != nil {
		writeError(w, r, err)
		return 0, false
	}
	return id, true
}

// idAndBody reads the path id and decodes the JSON body into v, answering
// the error itself; ok is false then.
func idAndBody(w http.ResponseWriter, r *http.Request, v any) (id int64, ok bool) {
	id, err := pathID(r)
	if err == nil {
		err = decodeJSON(w, r, v)
	}
	if err != nil {
		writeError(w, r, err)
		return 0, false
	}
	return id, true
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, inbox.Errorf(inbox.EINVALID, "invalid id")
	}
	return id, nil
}

// parseLimit reads ?limit=; 0 (absent) lets the store pick its default, and
// the store caps large values.
func parseLimit(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, inbox.Errorf(inbox.EINVALID, "limit must be a non-negative number")
	}
	return n, nil
}

// decodeJSON reads one JSON object of at most maxJSONBody bytes into dst,
// rejecting unknown fields so that typos do not pass silently.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return jsonError(err)
		}
		return inbox.Errorf(inbox.EINVALID, "body must be a single JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a short reason for the caller.
func jsonError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		typeErr  *json.UnmarshalTypeError
		own      *inbox.Error // from a type's UnmarshalJSON: says what is wrong
	)
	switch {
	case errors.As(err, &own):
		return own
	case errors.As(err, &tooLarge):
		return inbox.Errorf(inbox.ETOOLARGE, "body is larger than %d bytes", maxJSONBody)
	case errors.Is(err, io.EOF):
		return inbox.Errorf(inbox.EINVALID, "empty body")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return inbox.Errorf(inbox.EINVALID, "field %q has the wrong type", typeErr.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return inbox.Errorf(inbox.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return inbox.Errorf(inbox.EINVALID, "malformed JSON")
	}
}
