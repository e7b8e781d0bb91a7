package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// queryer is what both *sqlx.DB and *sqlx.Tx offer, for reads that run in
// or out of a transaction.
type queryer interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// ListConversations returns conversations newest activity first
// (last_message_at DESC, id DESC) and the cursor of the next page, "" after
// the last. Q matches a substring of the client's name (case-insensitive) or
// of one of the client's identity values. A Scope lists only what its
// operator sees. Limit defaults to 50, at most 200. An unknown status or a
// bad cursor is EINVALID.
func (s *Store) ListConversations(ctx context.Context, f inbox.ConversationFilter) ([]inbox.Conversation, string, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", fmt.Errorf("store: list conversations: %w", inbox.Errorf(inbox.EINVALID, "invalid status %q", f.Status))
	}
	cur, err := parseActivityCursor(f.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("store: list conversations: %w", err)
	}
	limit := clampLimit(f.Limit, 50, 200)
	restricted, opID, hidden, err := scopeArgs(f.Scope)
	if err != nil {
		return nil, "", fmt.Errorf("store: list conversations: %w", err)
	}
	query, args := s.q.listConversations(conversationList{Status: string(f.Status), ChannelID: f.ChannelID,
		AssigneeID: f.AssigneeID, Unassigned: f.Unassigned, Restricted: restricted == 1, OperatorID: opID,
		Hidden: hidden, Like: likePattern(f.Q), After: cur, Limit: limit + 1})
	var rows []conversationRow
	err = s.db.SelectContext(ctx, &rows, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list conversations: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = activityCursor{at: last.LastMessageAt.Time, id: last.ID}.String()
	}
	convs := conversations(rows)
	if err := s.withLastMessages(ctx, convs); err != nil {
		return nil, "", fmt.Errorf("store: list conversations: %w", err)
	}
	return convs, next, nil
}

// CountConversations counts the conversations that are not closed, by the
// inbox's tabs, that scope sees (nil: all), in channel when not "".
// operatorID is who "mine" is.
func (s *Store) CountConversations(ctx context.Context, scope *inbox.Scope, operatorID int64, channel string) (inbox.ConversationCounts, error) {
	restricted, opID, hidden, err := scopeArgs(scope)
	if err != nil {
		return inbox.ConversationCounts{}, fmt.Errorf("store: count conversations: %w", err)
	}
	if restricted == 0 {
		opID = operatorID
	}
	query, args := s.q.countConversations(conversationList{ChannelID: channel, Restricted: restricted == 1,
		OperatorID: opID, Hidden: hidden})
	var n inbox.ConversationCounts
	if err := s.db.GetContext(ctx, &n, query, args...); err != nil {
		return inbox.ConversationCounts{}, fmt.Errorf("store: count conversations: %w", err)
	}
	return n, nil
}

// previewLen is how much of a message's text a list preview carries.
const previewLen = 200

// withLastMessages sets each conversation's LastMessage, in one query for
// the page, its text and subject cut to previewLen runes and its meta
// left out (a list is not the place for a whole email).
func (s *Store) withLastMessages(ctx context.Context, convs []inbox.Conversation) error {
	if len(convs) == 0 {
		return nil
	}
	ids := make([]int64, len(convs))
	for i, c := range convs {
		ids[i] = c.ID
	}
	arg, err := jsonArg(ids)
	if err != nil {
		return err
	}
	var rows []messageRow
	if err := s.db.SelectContext(ctx, &rows, s.q.LastMessages, arg); err != nil {
		return fmt.Errorf("last messages: %w", err)
	}
	last := make(map[int64]*inbox.Message, len(rows))
	for _, r := range rows {
		m, err := r.message()
		if err != nil {
			return err
		}
		m.Text, m.Subject, m.Meta = cutRunes(m.Text, previewLen), cutRunes(m.Subject, previewLen), nil
		last[m.ConversationID] = &m
	}
	for i := range convs {
		convs[i].LastMessage = last[convs[i].ID]
	}
	return nil
}

// cutRunes returns s cut to at most n runes.
func cutRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// flag turns a switch into the 0/1 a query's "(? = 0 OR ...)" filter reads.
func flag(on bool) int {
	if on {
		return 1
	}
	return 0
}

// GetConversation returns one conversation; ENOTFOUND if there is none.
func (s *Store) GetConversation(ctx context.Context, id int64) (inbox.Conversation, error) {
	c, err := s.conversation(ctx, s.db, s.q.ConversationByID, id)
	if err != nil {
		return inbox.Conversation{}, fmt.Errorf("store: get conversation %d: %w", id, err)
	}
	return c, nil
}

// conversation reads one conversation with query (ConversationByID or
// ConversationForUpdate).
func (s *Store) conversation(ctx context.Context, q queryer, query string, id int64) (inbox.Conversation, error) {
	var row conversationRow
	err := q.GetContext(ctx, &row, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Conversation{}, inbox.Errorf(inbox.ENOTFOUND, "conversation not found")
	}
	if err != nil {
		return inbox.Conversation{}, err
	}
	return row.conversation(), nil
}

// UpdateConversation changes a conversation's status and assignee and writes
// a conversation.updated event. An invalid status or an unknown assignee is
// EINVALID; reopening a conversation while the client has another one open
// in the channel is ECONFLICT; an unknown conversation is ENOTFOUND.
func (s *Store) UpdateConversation(ctx context.Context, id int64, p inbox.ConversationPatch) (inbox.Conversation, []inbox.Event, error) {
	if p.Status != nil && !p.Status.Valid() {
		return inbox.Conversation{}, nil, fmt.Errorf("store: update conversation %d: %w", id,
			inbox.Errorf(inbox.EINVALID, "invalid status %q", *p.Status))
	}
	var (
		conv inbox.Conversation
		evs  []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if conv, err = s.conversation(ctx, tx, s.q.ConversationForUpdate, id); err != nil {
			return err
		}
		before := conv
		if p.Status != nil {
			conv.Status = *p.Status
		}
		if p.SetAssignee {
			conv.AssigneeID = nil
			if p.AssigneeID != nil {
				var n int
				if err := tx.GetContext(ctx, &n, s.q.OperatorExists, *p.AssigneeID); err != nil {
					return fmt.Errorf("find assignee: %w", err)
				}
				if n == 0 {
					return inbox.Errorf(inbox.EINVALID, "unknown operator %d", *p.AssigneeID)
				}
				a := *p.AssigneeID
				conv.AssigneeID = &a
			}
		}
		var assignee any
		if conv.AssigneeID != nil {
			assignee = *conv.AssigneeID
		}
		if _, err := tx.ExecContext(ctx, s.q.UpdateConversation, string(conv.Status), assignee, id); err != nil {
			if isUniqueViolation(err) {
				return inbox.Reasonf(inbox.ECONFLICT, "another_open_conversation", nil, "the client has another open conversation in this channel")
			}
			return err
		}
		if conv.Status != before.Status && (conv.Status == inbox.StatusPending || conv.Status == inbox.StatusClosed) {
			// Set aside or done: nobody owes the client an answer now.
			t := timerOf(conv)
			t.stop()
			if err := s.saveTimer(ctx, tx, conv.ID, t); err != nil {
				return err
			}
			t.apply(&conv)
		}
		var pending []inbox.PendingEvent
		if before.Place() != conv.Place() {
			pending = append(pending, inbox.ConversationMoved(before))
		}
		evs, err = s.writeEvents(ctx, tx, s.now(), append(pending, inbox.ConversationUpdated(conv)))
		return err
	})
	if err != nil {
		return inbox.Conversation{}, nil, fmt.Errorf("store: update conversation %d: %w", id, err)
	}
	return conv, evs, nil
}

// replyVia checks a reply's choice of another channel and returns the
// reply's meta naming it ("" when it goes through the conversation's own):
// the channel must exist and reach one of the client's identities.
func (s *Store) replyVia(ctx context.Context, tx *sqlx.Tx, conv inbox.Conversation, via string) (string, error) {
	if via == "" || via == conv.ChannelID {
		return "", nil
	}
	var typ string
	if err := tx.GetContext(ctx, &typ, s.q.ChannelType, via); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", inbox.Errorf(inbox.EINVALID, "no channel %q", via)
		}
		return "", fmt.Errorf("read channel: %w", err)
	}
	ids, err := s.identities(ctx, tx, conv.ClientID)
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(ids, func(id inbox.Identity) bool { return inbox.ChannelType(typ).Reaches(id, via) }) {
		return "", inbox.Reasonf(inbox.EINVALID, "no_route", map[string]string{"channel": via},
			"the client cannot be reached through channel %s", via)
	}
	return metaText(map[string]string{inbox.MetaVia: via})
}

// ListMessages returns a conversation's messages oldest first (id ASC) after
// the cursor, and the cursor of the next page ("" after the last). Limit
// defaults to 50, at most 200. An unknown conversation is ENOTFOUND.
func (s *Store) ListMessages(ctx context.Context, conversationID int64, cursor string, limit int) ([]inbox.Message, string, error) {
	after, err := parseIDCursor(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("store: list messages: %w", err)
	}
	limit = clampLimit(limit, 50, 200)
	if _, err := s.conversation(ctx, s.db, s.q.ConversationByID, conversationID); err != nil {
		return nil, "", fmt.Errorf("store: list messages of %d: %w", conversationID, err)
	}
	var rows []messageRow
	if err := s.db.SelectContext(ctx, &rows, s.q.ListMessages, conversationID, after, limit+1); err != nil {
		return nil, "", fmt.Errorf("store: list messages of %d: %w", conversationID, err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = idCursor(rows[limit-1].ID)
	}
	msgs, err := messages(rows)
	if err != nil {
		return nil, "", fmt.Errorf("store: list messages of %d: %w", conversationID, err)
	}
	return msgs, next, nil
}

// CreateReply is SendReply without a do-not-contact override.
func (s *Store) CreateReply(ctx context.Context, conversationID, authorID int64, text string) (inbox.Message, []inbox.Event, error) {
	return s.SendReply(ctx, inbox.ReplyRequest{ConversationID: conversationID, AuthorID: authorID, Text: text})
}

// SendReply stores an operator's reply: an outbound text message with
// delivery "queued", put in the outbox due now. It resets the conversation's
// unread count and bumps its last activity. Events: message.created (with
// the conversation), and conversation.updated when unread was reset from a
// non-zero count. A client flagged do-not-contact is ECONFLICT unless the
// request overrides it, and the override is audited; an erased client is
// ECONFLICT, and so is a VK client who denied the community messages
// (replyReaches). Empty text or an unknown author is EINVALID; an unknown
// conversation is ENOTFOUND.
func (s *Store) SendReply(ctx context.Context, r inbox.ReplyRequest) (inbox.Message, []inbox.Event, error) {
	conversationID, authorID := r.ConversationID, r.AuthorID
	text := clean(r.Text)
	if strings.TrimSpace(text) == "" && len(r.Attachments) == 0 {
		return inbox.Message{}, nil, fmt.Errorf("store: create reply: %w", inbox.Reasonf(inbox.EINVALID, "empty_reply", nil, "empty reply"))
	}
	att, err := attachmentsText(r.Attachments)
	if err != nil {
		return inbox.Message{}, nil, fmt.Errorf("store: create reply: encode attachments: %w", err)
	}
	var (
		msg inbox.Message
		evs []inbox.Event
	)
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		conv, err := s.conversation(ctx, tx, s.q.ConversationForUpdate, conversationID)
		if err != nil {
			return err
		}
		var card clientRow
		if err := tx.GetContext(ctx, &card, s.q.ClientByID, conv.ClientID); err != nil {
			return fmt.Errorf("read client: %w", err)
		}
		switch {
		case !card.ErasedAt.IsZero():
			return inbox.Reasonf(inbox.ECONFLICT, "client_erased", nil, "the client was erased")
		case card.DoNotContact && !r.OverrideDNC:
			if card.DNCReason != "" {
				return inbox.Reasonf(inbox.ECONFLICT, "client_dnc", map[string]string{"reason": card.DNCReason}, "the client asked not to be contacted (%s); override_dnc sends anyway", card.DNCReason)
			}
			return inbox.Reasonf(inbox.ECONFLICT, "client_dnc", map[string]string{"reason": ""}, "the client asked not to be contacted; override_dnc sends anyway")
		}
		if err := s.replyReaches(ctx, tx, conv); err != nil {
			return err
		}
		meta, err := s.replyVia(ctx, tx, conv, r.Via)
		if err != nil {
			return err
		}
		at := s.now()
		var author any
		if authorID != 0 {
			author = authorID
		}
		var row messageRow
		err = s.q.InsertOutboundMessage.get(ctx, tx, &row, replyInsert{ConversationID: conversationID,
			Direction: string(inbox.DirectionOut), Kind: string(inbox.KindText), Text: text, Attachments: att, Meta: meta, AuthorID: author,
			Delivery: string(inbox.DeliveryQueued), At: dbTime(at)})
		if err != nil {
			if isForeignKeyViolation(err) {
				return inbox.Errorf(inbox.EINVALID, "unknown author %d", authorID)
			}
			return fmt.Errorf("insert message: %w", err)
		}
		if msg, err = row.message(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.InsertOutbox, msg.ID, dbTime(at)); err != nil {
			return fmt.Errorf("insert outbox: %w", err)
		}
		if card.DoNotContact {
			detail := map[string]any{"message_id": msg.ID, "client_id": conv.ClientID}
			if err := s.audit(ctx, tx, authorID, "reply.override_dnc", "conversation", conv.ID, detail, at); err != nil {
				return err
			}
		}
		hadUnread := conv.Unread > 0
		waited := conv.WaitingSince != nil
		if err := s.replied(ctx, tx, &conv, authorID, at); err != nil {
			return err
		}
		pending := []inbox.PendingEvent{inbox.MessageCreated(msg, conv)}
		if hadUnread || waited {
			pending = append(pending, inbox.ConversationUpdated(conv))
		}
		evs, err = s.writeEvents(ctx, tx, at, pending)
		return err
	})
	if err != nil {
		return inbox.Message{}, nil, fmt.Errorf("store: create reply in %d: %w", conversationID, err)
	}
	return msg, evs, nil
}
