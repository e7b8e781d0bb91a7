package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// Triage: a first contact from an unknown sender opens its conversation as
// "new". An operator accepts it (it is theirs now), links it to the card of
// a client they know (the two cards are merged), or rejects it as spam.

// AcceptConversation takes a conversation: status open, assigned to the
// operator. Accepting a conversation the operator holds already changes
// nothing; one another operator holds, or a closed one, is ECONFLICT; an
// unknown conversation ENOTFOUND. It writes conversation.updated and an
// audit entry.
func (s *Store) AcceptConversation(ctx context.Context, operatorID, conversationID int64) (inbox.Conversation, []inbox.Event, error) {
	var (
		conv inbox.Conversation
		evs  []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if conv, err = s.conversation(ctx, tx, s.q.ConversationForUpdate, conversationID); err != nil {
			return err
		}
		mine := conv.AssigneeID != nil && *conv.AssigneeID == operatorID
		switch {
		case conv.Status == inbox.StatusClosed:
			return inbox.Reasonf(inbox.ECONFLICT, "conversation_closed", nil, "the conversation is closed")
		case conv.Status != inbox.StatusNew && mine:
			return nil
		case conv.AssigneeID != nil && !mine:
			return inbox.Reasonf(inbox.ECONFLICT, "conversation_taken", map[string]string{"operator_id": strconv.FormatInt(*conv.AssigneeID, 10)}, "the conversation is taken by operator %d", *conv.AssigneeID)
		}
		at := s.now()
		conv.Status = inbox.StatusOpen
		conv.AssigneeID = &operatorID
		if err := s.saveConversation(ctx, tx, conv); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, operatorID, "conversation.accept", "conversation", conv.ID, nil, at); err != nil {
			return err
		}
		if err := s.triaged(ctx, tx, conv.ID, "accepted"); err != nil {
			return err
		}
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{
			inbox.ConversationUpdated(conv),
		})
		return err
	})
	if err != nil {
		return inbox.Conversation{}, nil, fmt.Errorf("store: accept conversation %d: %w", conversationID, err)
	}
	return conv, evs, nil
}

// LinkConversation says the sender of a conversation is a client the
// operator knows: the conversation's card is merged into clientID (see
// MergeClients) and a "new" conversation becomes open. It returns the
// conversation the messages are in now: the same one, or the open one of
// clientID in the channel it was folded into. Linking to the card the
// conversation belongs to already changes nothing. Errors are
// MergeClients'; an unknown conversation is ENOTFOUND.
func (s *Store) LinkConversation(ctx context.Context, operatorID, conversationID, clientID int64) (inbox.Conversation, []inbox.Event, error) {
	var (
		conv inbox.Conversation
		evs  []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if conv, err = s.conversation(ctx, tx, s.q.ConversationByID, conversationID); err != nil {
			return err
		}
		if conv.ClientID == clientID {
			return nil
		}
		at := s.now()
		from := conv.ClientID
		m, err := s.merge(ctx, tx, operatorID, clientID, from, at)
		if err != nil {
			return err
		}
		id := conversationID
		if to, ok := m.folded[id]; ok {
			id = to
		}
		if conv, err = s.conversation(ctx, tx, s.q.ConversationForUpdate, id); err != nil {
			return err
		}
		if conv.ClientID != clientID {
			// Another merge moved the conversation between our read and
			// our card locks; nothing is committed, the caller may retry.
			return inbox.Reasonf(inbox.ECONFLICT, "changed_meanwhile", nil, "the conversation changed meanwhile; try again")
		}
		pending := m.events
		if conv.Status == inbox.StatusNew {
			conv.Status = inbox.StatusOpen
			if err := s.saveConversation(ctx, tx, conv); err != nil {
				return err
			}
			pending = append(pending, inbox.ConversationUpdated(conv))
		}
		detail := map[string]any{"client_id": clientID, "from_client_id": from, "conversation_id": conv.ID}
		if err := s.audit(ctx, tx, operatorID, "conversation.link", "conversation", conversationID, detail, at); err != nil {
			return err
		}
		if err := s.triaged(ctx, tx, conversationID, "linked"); err != nil {
			return err
		}
		evs, err = s.writeEvents(ctx, tx, at, pending)
		return err
	})
	if err != nil {
		return inbox.Conversation{}, nil, fmt.Errorf("store: link conversation %d to client %d: %w", conversationID, clientID, err)
	}
	return conv, evs, nil
}

// RejectConversation marks a conversation as spam: it is closed and its card
// is flagged spam, so that the sender's later messages are stored in a
// closed conversation without a word to anyone (see FileBatch). Rejecting
// again changes nothing. It writes conversation.updated, client.updated and
// an audit entry. An unknown conversation is ENOTFOUND; one whose card was
// erased ECONFLICT.
func (s *Store) RejectConversation(ctx context.Context, operatorID, conversationID int64) (inbox.Conversation, []inbox.Event, error) {
	var (
		conv inbox.Conversation
		evs  []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		first, err := s.conversation(ctx, tx, s.q.ConversationByID, conversationID)
		if err != nil {
			return err
		}
		// Card first, then conversation: the order filing locks them in.
		row, err := s.lockLiveCard(ctx, tx, first.ClientID)
		if err != nil {
			return err
		}
		if conv, err = s.conversation(ctx, tx, s.q.ConversationForUpdate, conversationID); err != nil {
			return err
		}
		if conv.ClientID != first.ClientID {
			return inbox.Reasonf(inbox.ECONFLICT, "changed_meanwhile", nil, "the conversation changed meanwhile; try again")
		}
		if conv.Status == inbox.StatusClosed && row.Spam {
			return nil
		}
		at := s.now()
		var pending []inbox.PendingEvent
		if conv.Status != inbox.StatusClosed || conv.Unread != 0 {
			conv.Status, conv.Unread = inbox.StatusClosed, 0
			if err := s.saveConversation(ctx, tx, conv); err != nil {
				return err
			}
			pending = append(pending, inbox.ConversationUpdated(conv))
		}
		card, err := row.client()
		if err != nil {
			return err
		}
		if !card.Spam {
			card.Spam = true
			if err := s.saveClient(ctx, tx, card, at); err != nil {
				return err
			}
			if card, err = s.client(ctx, tx, card.ID); err != nil {
				return err
			}
			pending = append(pending, inbox.ClientUpdated(card))
		}
		detail := map[string]any{"client_id": card.ID}
		if err := s.audit(ctx, tx, operatorID, "conversation.reject", "conversation", conv.ID, detail, at); err != nil {
			return err
		}
		if err := s.triaged(ctx, tx, conv.ID, "spam"); err != nil {
			return err
		}
		evs, err = s.writeEvents(ctx, tx, at, pending)
		return err
	})
	if err != nil {
		return inbox.Conversation{}, nil, fmt.Errorf("store: reject conversation %d: %w", conversationID, err)
	}
	return conv, evs, nil
}
