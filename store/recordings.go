package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

var _ inbox.RecordingStore = (*Store)(nil)

// recordingDelay is how long after a recording is named it is first
// fetched: providers publish recordings a while after the call (Zadarma
// recommends 40 seconds).
const recordingDelay = time.Minute

// ClaimRecordings returns up to limit recordings due now, leased for lease
// (inbox.RecordingStore).
func (s *Store) ClaimRecordings(ctx context.Context, limit int, lease time.Duration) ([]inbox.RecordingJob, error) {
	now := s.now()
	var rows []struct {
		ID        int64  `db:"id"`
		ChannelID string `db:"channel_id"`
		State     string `db:"state"`
		Attempts  int    `db:"recording_attempts"`
	}
	err := s.q.ClaimRecordings.selectAll(ctx, s.db, &rows, recordingClaim{Now: dbTime(now), Limit: limit,
		LeaseUntil: dbTime(now.Add(lease))})
	if err != nil {
		return nil, fmt.Errorf("store: claim recordings: %w", err)
	}
	out := make([]inbox.RecordingJob, 0, len(rows))
	for _, r := range rows {
		j := inbox.RecordingJob{CallID: r.ID, ChannelID: r.ChannelID, Attempt: r.Attempts}
		if err := json.Unmarshal([]byte(r.State), &j.Call); err != nil {
			return nil, fmt.Errorf("store: claim recordings: call %d state: %w", r.ID, err)
		}
		out = append(out, j)
	}
	return out, nil
}

// RecordingFetched attaches the stored recording to the call's entry and
// writes message.updated and call.updated (inbox.RecordingStore).
func (s *Store) RecordingFetched(ctx context.Context, callID int64, att inbox.Attachment) ([]inbox.Event, error) {
	evs, err := s.setRecording(ctx, callID, func(m *inbox.Message) recordingUpdate {
		have := false
		for _, a := range m.Attachments {
			have = have || a.URL == att.URL
		}
		if !have {
			m.Attachments = append(m.Attachments, att)
		}
		m.Meta["call_recording"] = "ready"
		delete(m.Meta, "call_recording_error")
		return recordingUpdate{State: "ready"}
	})
	if err != nil {
		return nil, fmt.Errorf("store: recording of call %d fetched: %w", callID, err)
	}
	return evs, nil
}

// RecordingFailed says on the call's entry that its recording could not be
// fetched: it is tried again at retryAt, or, when final, never
// (inbox.RecordingStore).
func (s *Store) RecordingFailed(ctx context.Context, callID int64, reason string, retryAt time.Time, final bool) ([]inbox.Event, error) {
	reason = clean(reason)
	evs, err := s.setRecording(ctx, callID, func(m *inbox.Message) recordingUpdate {
		m.Meta["call_recording_error"] = reason
		if final {
			m.Meta["call_recording"] = "failed"
			return recordingUpdate{State: "failed", Error: reason}
		}
		m.Meta["call_recording"] = "pending"
		return recordingUpdate{State: "pending", DueAt: dbTime(retryAt), Error: reason}
	})
	if err != nil {
		return nil, fmt.Errorf("store: recording of call %d failed: %w", callID, err)
	}
	return evs, nil
}

// setRecording changes a call's recording state and its entry in one
// transaction, with the events.
func (s *Store) setRecording(ctx context.Context, callID int64, change func(m *inbox.Message) recordingUpdate) ([]inbox.Event, error) {
	var evs []inbox.Event
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row callRow
		err := tx.GetContext(ctx, &row, s.q.CallForUpdate, callID)
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Errorf(inbox.ENOTFOUND, "call not found")
		}
		if err != nil {
			return err
		}
		var call inbox.Call
		if err := json.Unmarshal([]byte(row.State), &call); err != nil {
			return fmt.Errorf("call state: %w", err)
		}
		var mr messageRow
		if err := tx.GetContext(ctx, &mr, s.q.MessageByID, row.MessageID); err != nil {
			return fmt.Errorf("call message: %w", err)
		}
		m, err := mr.message()
		if err != nil {
			return err
		}
		if m.Meta == nil {
			m.Meta = map[string]string{}
		}
		u := change(&m)
		at := s.now()
		u.ID, u.At = callID, dbTime(at)
		if _, err := s.q.SetRecording.exec(ctx, tx, u); err != nil {
			return fmt.Errorf("update call: %w", err)
		}
		attText, err := attachmentsText(m.Attachments)
		if err != nil {
			return err
		}
		meta, err := metaText(m.Meta)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.EditMessage, m.Subject, m.Text, attText, meta, m.ID); err != nil {
			return fmt.Errorf("update call message: %w", err)
		}
		conv, err := s.conversation(ctx, tx, s.q.ConversationByID, row.ConversationID)
		if err != nil {
			return err
		}
		p := inbox.CallPayload{Call: call, Message: m, Conversation: &conv, ClientID: conv.ClientID,
			ClientName: conv.ClientName, Number: call.ClientNumber()}
		p.Call.Operator = ""
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.MessageUpdated(m, conv), inbox.CallUpdatedEvent(p, conv)})
		return err
	})
	return evs, err
}
