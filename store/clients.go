package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/leadhub/leadhub/inbox"
)

// clientHistory is how many of a client's latest messages GetClient returns.
const clientHistory = 200

// ListClients returns client cards with their identities, newest card first,
// and the cursor of the next page ("" after the last). q matches a substring
// of the name (case-insensitive) or of an identity value. Limit defaults to
// 50, at most 200. A bad cursor is EINVALID.
func (s *Store) ListClients(ctx context.Context, q, cursor string, limit int) ([]inbox.Client, string, error) {
	before, err := parseIDCursor(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("store: list clients: %w", err)
	}
	limit = clampLimit(limit, 50, 200)
	pat := likePattern(q)
	var rows []clientRow
	err = s.db.SelectContext(ctx, &rows, s.q.ListClients, pat, pat, pat, flag(before != 0), before, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("store: list clients: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = idCursor(rows[limit-1].ID)
	}
	out := make([]inbox.Client, len(rows))
	ids := make([]int64, len(rows))
	byID := make(map[int64]*inbox.Client, len(rows))
	for i, r := range rows {
		out[i] = r.client()
		ids[i] = r.ID
		byID[r.ID] = &out[i]
	}
	if len(ids) == 0 {
		return out, next, nil
	}
	arg, err := jsonArg(ids)
	if err != nil {
		return nil, "", fmt.Errorf("store: list clients: %w", err)
	}
	var idents []identityRow
	if err := s.db.SelectContext(ctx, &idents, s.q.IdentitiesOfClients, arg); err != nil {
		return nil, "", fmt.Errorf("store: list clients: identities: %w", err)
	}
	for _, r := range idents {
		c := byID[r.ClientID]
		c.Identities = append(c.Identities, inbox.Identity{Kind: inbox.IdentityKind(r.Kind), Value: r.Value})
	}
	return out, next, nil
}

// GetClient returns a client card with its identities, all its
// conversations (newest activity first) and the latest 200 messages across
// all of them, oldest first. An unknown client is ENOTFOUND.
func (s *Store) GetClient(ctx context.Context, id int64) (inbox.ClientDetail, error) {
	c, err := s.client(ctx, s.db, id)
	if err != nil {
		return inbox.ClientDetail{}, fmt.Errorf("store: get client %d: %w", id, err)
	}
	d := inbox.ClientDetail{Client: c}
	var convs []conversationRow
	if err := s.db.SelectContext(ctx, &convs, s.q.ConversationsOfClient, id); err != nil {
		return inbox.ClientDetail{}, fmt.Errorf("store: get client %d: conversations: %w", id, err)
	}
	d.Conversations = conversations(convs)
	var msgs []messageRow
	if err := s.db.SelectContext(ctx, &msgs, s.q.LatestMessagesOfClient, id, clientHistory); err != nil {
		return inbox.ClientDetail{}, fmt.Errorf("store: get client %d: messages: %w", id, err)
	}
	slices.Reverse(msgs)
	if d.Messages, err = messages(msgs); err != nil {
		return inbox.ClientDetail{}, fmt.Errorf("store: get client %d: %w", id, err)
	}
	return d, nil
}

// client reads one card with its identities; ENOTFOUND if there is none.
func (s *Store) client(ctx context.Context, q queryer, id int64) (inbox.Client, error) {
	var row clientRow
	err := q.GetContext(ctx, &row, s.q.ClientByID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Client{}, inbox.Errorf(inbox.ENOTFOUND, "client not found")
	}
	if err != nil {
		return inbox.Client{}, fmt.Errorf("read client: %w", err)
	}
	c := row.client()
	if c.Identities, err = s.identities(ctx, q, id); err != nil {
		return inbox.Client{}, err
	}
	return c, nil
}

// identities returns a client's identities, oldest first.
func (s *Store) identities(ctx context.Context, q queryer, clientID int64) ([]inbox.Identity, error) {
	var rows []identityRow
	if err := q.SelectContext(ctx, &rows, s.q.IdentitiesOfClient, clientID); err != nil {
		return nil, fmt.Errorf("read identities: %w", err)
	}
	out := make([]inbox.Identity, len(rows))
	for i, r := range rows {
		out[i] = inbox.Identity{Kind: inbox.IdentityKind(r.Kind), Value: r.Value}
	}
	return out, nil
}
