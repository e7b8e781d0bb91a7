package store

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/leadhub/leadhub/inbox"
)

// SearchMessages finds messages whose subject or text holds every word of
// s.Q, newest first, in conversations the scope sees, with the cursor of
// the next page. PostgreSQL matches word forms with the Russian
// configuration ("кухни" finds "кухня"); SQLite matches word beginnings.
func (s *Store) SearchMessages(ctx context.Context, f inbox.MessageSearch) ([]inbox.MessageHit, string, error) {
	words := searchWords(f.Q)
	if len(words) == 0 {
		return nil, "", fmt.Errorf("store: search messages: %w", inbox.Errorf(inbox.EINVALID, "nothing to search for"))
	}
	before, err := parseIDCursor(f.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("store: search messages: %w", err)
	}
	limit := clampLimit(f.Limit, 20, 100)
	restricted, opID, hidden, err := scopeArgs(f.Scope)
	if err != nil {
		return nil, "", fmt.Errorf("store: search messages: %w", err)
	}
	l := s.q.SearchMessages.start()
	l.args = append(l.args, s.ftsQuery(words))
	if restricted == 1 {
		l.and(s.q.visible, opID, hidden)
	}
	if before != 0 {
		l.and(`m.id < ?`, before)
	}
	query, args := l.end(limit + 1)
	var rows []messageRow
	if err := s.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, "", fmt.Errorf("store: search messages: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = idCursor(rows[limit-1].ID)
	}
	hits, err := s.withConversations(ctx, rows)
	if err != nil {
		return nil, "", fmt.Errorf("store: search messages: %w", err)
	}
	return hits, next, nil
}

// withConversations pairs each message with its conversation, read in one
// query.
func (s *Store) withConversations(ctx context.Context, rows []messageRow) ([]inbox.MessageHit, error) {
	if len(rows) == 0 {
		return []inbox.MessageHit{}, nil
	}
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r.ConversationID)
	}
	arg, err := jsonArg(ids)
	if err != nil {
		return nil, err
	}
	var convRows []conversationRow
	if err := s.db.SelectContext(ctx, &convRows, s.q.ConversationsByIDs, arg); err != nil {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	convs := make(map[int64]inbox.Conversation, len(convRows))
	for _, c := range convRows {
		convs[c.ID] = c.conversation()
	}
	hits := make([]inbox.MessageHit, 0, len(rows))
	for _, r := range rows {
		m, err := r.message()
		if err != nil {
			return nil, err
		}
		m.Meta = nil
		hits = append(hits, inbox.MessageHit{Message: m, Conversation: convs[r.ConversationID]})
	}
	return hits, nil
}

// searchWords splits a search into its words (letters and digits), at
// most 8, so that no character of the user's reaches the query syntax.
func searchWords(q string) []string {
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > 8 {
		words = words[:8]
	}
	return words
}

// ftsQuery is the dialect's query text for words that must all be there:
// for PostgreSQL's websearch_to_tsquery the words themselves, for SQLite's
// FTS5 each word quoted as a prefix ("кух"* finds "кухня").
func (s *Store) ftsQuery(words []string) string {
	if s.dialect == DialectPostgres {
		return strings.Join(words, " ")
	}
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = `"` + w + `"*`
	}
	return strings.Join(q, " ")
}
