package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// Personal data (152-FZ, GDPR): an operator can export everything stored
// about one client, and erase it.

// ExportClient returns everything stored about a client: the card, its
// identities and tags, all its conversations and every message (not only
// the latest), notes, consents, tasks, open duplicate suggestions and the
// audit entries about the card and its conversations. The export itself is
// audited. An unknown client is ENOTFOUND.
func (s *Store) ExportClient(ctx context.Context, operatorID, clientID int64) (inbox.ClientExport, error) {
	var out inbox.ClientExport
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		d, err := s.clientDetail(ctx, tx, clientID)
		if err != nil {
			return err
		}
		at := s.now()
		if err := s.audit(ctx, tx, operatorID, "client.export", "client", clientID, nil, at); err != nil {
			return err
		}
		var msgs []messageRow
		if err := tx.SelectContext(ctx, &msgs, s.q.AllMessagesOfClient, clientID); err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		all, err := messages(msgs)
		if err != nil {
			return err
		}
		audit, err := s.auditOfClient(ctx, tx, clientID)
		if err != nil {
			return err
		}
		out = inbox.ClientExport{
			Client:        d.Client,
			Conversations: d.Conversations,
			Messages:      all,
			Notes:         d.Notes,
			Consents:      d.Consents,
			Tasks:         d.Tasks,
			Duplicates:    d.Duplicates,
			Audit:         audit,
			ExportedAt:    at,
		}
		return nil
	})
	if err != nil {
		return inbox.ClientExport{}, fmt.Errorf("store: export client %d: %w", clientID, err)
	}
	return out, nil
}

// EraseClient erases a client's personal data in one transaction and keeps
// an anonymous skeleton, so that counts and reports stay right:
//   - identities, tags, notes, tasks and duplicate suggestions are deleted;
//     consents keep their kind, text version and time, not the IP address;
//   - every message keeps its direction, kind, channel and time; its text,
//     subject, attachments (and so call recording links), meta and provider
//     id are blanked; replies still queued are failed and leave the outbox;
//   - the card is renamed "Erased client #<id>" (as are cards merged into it
//     before), its company, custom fields, raw phones and flags cleared, and
//     its conversations closed;
//   - the payloads of past events about the card are replaced by a marker;
//   - SHA-256 tombstones of the identities and of the messages' dedupe keys
//     are kept: a provider retry or a mailbox re-scan of an erased message
//     is a duplicate and does not bring it back. A new message from the same
//     address later is a new, lawful contact and starts a new card.
//
// It writes an audit entry (counts only) and a client.erased event. Erasing
// an erased card again changes nothing. An unknown card is ENOTFOUND; the
// tombstone of a merged card is ECONFLICT (erase the survivor).
func (s *Store) EraseClient(ctx context.Context, operatorID, clientID int64) (inbox.Client, []inbox.Event, error) {
	var (
		card inbox.Client
		evs  []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		rows, err := s.lockCards(ctx, tx, clientID)
		if err != nil {
			return err
		}
		row := rows[clientID]
		if row.MergedInto.Valid {
			return inbox.Errorf(inbox.ECONFLICT, "client %d was merged into client %d; erase that one", clientID, row.MergedInto.Int64)
		}
		if !row.ErasedAt.IsZero() {
			card, err = s.client(ctx, tx, clientID)
			return err
		}
		at := s.now()
		tombs, nIdentities, nMessages, err := s.tombstones(ctx, tx, clientID, at)
		if err != nil {
			return err
		}
		if err := s.insertErasures(ctx, tx, tombs); err != nil {
			return err
		}
		steps := []struct {
			what  string
			query string
			args  []any
		}{
			{"blank messages", s.q.BlankMessages, []any{clientID}},
			// Calls keep their numbers in their folded state too.
			{"blank calls", s.q.BlankCallsOf, []any{clientID}},
			{"fail queued replies", s.q.CancelQueuedReplies, []any{clientID}},
			{"empty the outbox", s.q.DeleteOutboxOfClient, []any{clientID}},
			{"close conversations", s.q.CloseConversationsOf, []any{clientID}},
			{"delete identities", s.q.DeleteIdentities, []any{clientID}},
			{"delete tags", s.q.DeleteTags, []any{clientID}},
			{"delete notes", s.q.DeleteNotes, []any{clientID}},
			{"delete tasks", s.q.DeleteTasks, []any{clientID}},
			{"delete facts", s.q.DeleteFactsOf, []any{clientID}},
			{"blank consents", s.q.BlankConsents, []any{clientID}},
			{"delete duplicate suggestions", s.q.DeleteSuggestionsOf, []any{clientID, clientID}},
			{"erase card", s.q.EraseClient, []any{dbTime(at), dbTime(at), clientID, clientID}},
		}
		for _, st := range steps {
			if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
		}
		marker, err := json.Marshal(map[string]any{"erased": true, "client_id": clientID})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.BlankEvents, string(marker), clientID); err != nil {
			return fmt.Errorf("blank events: %w", err)
		}
		detail := map[string]any{"identities": nIdentities, "messages": nMessages}
		if err := s.audit(ctx, tx, operatorID, "client.erase", "client", clientID, detail, at); err != nil {
			return err
		}
		if card, err = s.client(ctx, tx, clientID); err != nil {
			return err
		}
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.ClientErased(card)})
		return err
	})
	if err != nil {
		return inbox.Client{}, nil, fmt.Errorf("store: erase client %d: %w", clientID, err)
	}
	return card, evs, nil
}

type erasureInsert struct {
	Hash string `json:"hash"`
	Kind string `json:"kind"`
	At   string `json:"at"`
}

// tombstones returns the erasure rows for a card's identities and the
// dedupe keys of its messages and facts, with how many identities and
// messages there are.
func (s *Store) tombstones(ctx context.Context, tx *sqlx.Tx, clientID int64, at time.Time) ([]erasureInsert, int, int, error) {
	ids, err := s.identities(ctx, tx, clientID)
	if err != nil {
		return nil, 0, 0, err
	}
	var keys []string
	if err := tx.SelectContext(ctx, &keys, s.q.DedupeKeysOfClient, clientID); err != nil {
		return nil, 0, 0, fmt.Errorf("read dedupe keys: %w", err)
	}
	nMessages := len(keys)
	var factKeys []string
	if err := tx.SelectContext(ctx, &factKeys, s.q.FactKeysOfClient, clientID); err != nil {
		return nil, 0, 0, fmt.Errorf("read fact keys: %w", err)
	}
	keys = append(keys, factKeys...)
	stamp := dbTime(at)
	out := make([]erasureInsert, 0, len(ids)+len(keys))
	for _, id := range ids {
		out = append(out, erasureInsert{Hash: erasureHash("identity", string(id.Kind)+":"+id.Value), Kind: "identity", At: stamp})
	}
	for _, k := range keys {
		out = append(out, erasureInsert{Hash: erasureHash("dedupe", k), Kind: "dedupe", At: stamp})
	}
	return out, len(ids), nMessages, nil
}

func (s *Store) insertErasures(ctx context.Context, tx *sqlx.Tx, rows []erasureInsert) error {
	// Chunks keep one statement's JSON parameter reasonable for a client
	// with a long history.
	for len(rows) > 0 {
		n := min(len(rows), 1000)
		arg, err := jsonArg(rows[:n])
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.InsertErasures, arg); err != nil {
			return fmt.Errorf("insert tombstones: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}
