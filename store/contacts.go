package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// contactQueries keep what reports and segments read: a card's last
// contact and campaign marks (client_activity), a conversation's triage and
// first answer.
type contactQueries struct {
	SaveContacts string
	TouchContact string
	SetTriage    string
	MergeContact string
}

func baseContactQueries() contactQueries {
	return contactQueries{
		// The first marks are set once (first_touch_at), the last ones by
		// every marked message.
		// The first marks are set once (first_touch_at), the last ones by
		// every marked message. A row's first_touch_at is the batch's
		// marked time or NULL, so excluded.first_touch_at says "marked".
		SaveContacts: `INSERT INTO client_activity (client_id, last_contact_at, first_touch_at,
				first_utm_source, first_utm_campaign, last_utm_source, last_utm_campaign)
			SELECT json_extract(j.value, '$.id'), json_extract(j.value, '$.at'),
				CASE WHEN json_extract(j.value, '$.marked') THEN json_extract(j.value, '$.at') END,
				json_extract(j.value, '$.first_source'), json_extract(j.value, '$.first_campaign'),
				json_extract(j.value, '$.source'), json_extract(j.value, '$.campaign')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (client_id) DO UPDATE SET ` + contactUpsert,
		TouchContact: `INSERT INTO client_activity (client_id, last_contact_at) VALUES (?, ?)
			ON CONFLICT (client_id) DO UPDATE SET last_contact_at = excluded.last_contact_at`,
		SetTriage: `UPDATE conversations SET triage = ? WHERE id = ? AND triage = ''`,
		// Merging card "from" (second parameter) into "into" (first): the
		// earlier first touch and the later contact win.
		MergeContact: `INSERT INTO client_activity (client_id, first_utm_source, first_utm_campaign, last_utm_source,
				last_utm_campaign, first_touch_at, last_contact_at)
			SELECT ?, first_utm_source, first_utm_campaign, last_utm_source, last_utm_campaign, first_touch_at, last_contact_at
			FROM client_activity WHERE client_id = ?
			ON CONFLICT (client_id) DO UPDATE SET
				first_utm_source = CASE WHEN ` + earlierTouch + ` THEN excluded.first_utm_source ELSE client_activity.first_utm_source END,
				first_utm_campaign = CASE WHEN ` + earlierTouch + ` THEN excluded.first_utm_campaign ELSE client_activity.first_utm_campaign END,
				first_touch_at = CASE WHEN ` + earlierTouch + ` THEN excluded.first_touch_at ELSE client_activity.first_touch_at END,
				last_utm_source = CASE WHEN ` + laterContact + ` AND excluded.last_utm_source <> ''
					THEN excluded.last_utm_source ELSE client_activity.last_utm_source END,
				last_utm_campaign = CASE WHEN ` + laterContact + ` AND excluded.last_utm_source <> ''
					THEN excluded.last_utm_campaign ELSE client_activity.last_utm_campaign END,
				last_contact_at = CASE WHEN ` + laterContact + ` THEN excluded.last_contact_at ELSE client_activity.last_contact_at END`,
	}
}

func (q *contactQueries) postgres() {
	q.SaveContacts = `INSERT INTO client_activity (client_id, last_contact_at, first_touch_at,
			first_utm_source, first_utm_campaign, last_utm_source, last_utm_campaign)
		SELECT r.id, r.at, CASE WHEN r.marked THEN r.at END, r.first_source, r.first_campaign, r.source, r.campaign
		FROM jsonb_to_recordset(?::jsonb) AS r(id bigint, at timestamptz, marked boolean, first_source text,
			first_campaign text, source text, campaign text)
		ON CONFLICT (client_id) DO UPDATE SET ` + contactUpsert
}

const (
	earlierTouch = `excluded.first_touch_at IS NOT NULL AND (client_activity.first_touch_at IS NULL
		OR excluded.first_touch_at < client_activity.first_touch_at)`
	laterContact = `excluded.last_contact_at IS NOT NULL AND (client_activity.last_contact_at IS NULL
		OR excluded.last_contact_at > client_activity.last_contact_at)`
)

// contactUpsert folds a batch's contact into a card's activity.
const contactUpsert = `last_contact_at = excluded.last_contact_at,
	first_utm_source = CASE WHEN client_activity.first_touch_at IS NULL AND excluded.first_touch_at IS NOT NULL
		THEN excluded.first_utm_source ELSE client_activity.first_utm_source END,
	first_utm_campaign = CASE WHEN client_activity.first_touch_at IS NULL AND excluded.first_touch_at IS NOT NULL
		THEN excluded.first_utm_campaign ELSE client_activity.first_utm_campaign END,
	first_touch_at = COALESCE(client_activity.first_touch_at, excluded.first_touch_at),
	last_utm_source = CASE WHEN excluded.first_touch_at IS NOT NULL
		THEN excluded.last_utm_source ELSE client_activity.last_utm_source END,
	last_utm_campaign = CASE WHEN excluded.first_touch_at IS NOT NULL
		THEN excluded.last_utm_campaign ELSE client_activity.last_utm_campaign END`

// contactRow is one card's contact in a batch.
type contactRow struct {
	ID            int64  `json:"id"`
	At            string `json:"at"`
	Marked        bool   `json:"marked"`
	FirstSource   string `json:"first_source"`
	FirstCampaign string `json:"first_campaign"`
	Source        string `json:"source"`
	Campaign      string `json:"campaign"`
}

// saveContacts records the batch's contacts on their cards: when, and the
// campaign marks the client's messages carried (the first one ever, the
// latest), in one statement in card order.
func (f *filing) saveContacts(ctx context.Context) error {
	rows := make(map[int64]*contactRow)
	for _, i := range f.todo {
		id := f.clientOf[i]
		if id == 0 || f.filed[i].Dup || !f.inConversation(i) || f.silent(id) {
			continue
		}
		r := rows[id]
		if r == nil {
			r = &contactRow{ID: id, At: dbTime(f.now)}
			rows[id] = r
		}
		m := f.filed[i].Message
		if m.Direction != inbox.DirectionIn {
			continue
		}
		src, camp := m.Meta["utm_source"], m.Meta["utm_campaign"]
		if src == "" && camp == "" {
			continue
		}
		if !r.Marked {
			r.FirstSource, r.FirstCampaign = src, camp
		}
		r.Marked, r.Source, r.Campaign = true, src, camp
	}
	if len(rows) == 0 {
		return nil
	}
	batch := make([]*contactRow, 0, len(rows))
	for _, id := range slices.Sorted(maps.Keys(rows)) {
		batch = append(batch, rows[id])
	}
	arg, err := jsonArg(batch)
	if err != nil {
		return err
	}
	if _, err := f.tx.ExecContext(ctx, f.s.q.SaveContacts, arg); err != nil {
		return fmt.Errorf("save contacts: %w", err)
	}
	return nil
}

// touchContact moves a card's last contact to at.
func (s *Store) touchContact(ctx context.Context, tx *sqlx.Tx, clientID int64, at time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q.TouchContact, clientID, dbTime(at)); err != nil {
		return fmt.Errorf("touch contact: %w", err)
	}
	return nil
}

// triaged records how a new conversation's triage ended, once.
func (s *Store) triaged(ctx context.Context, tx *sqlx.Tx, conversationID int64, outcome string) error {
	if _, err := tx.ExecContext(ctx, s.q.SetTriage, outcome, conversationID); err != nil {
		return fmt.Errorf("record triage: %w", err)
	}
	return nil
}

// mergeContact folds card from's activity into card into's.
func (s *Store) mergeContact(ctx context.Context, tx *sqlx.Tx, into, from int64) error {
	if _, err := tx.ExecContext(ctx, s.q.MergeContact, into, from); err != nil {
		return fmt.Errorf("merge activity: %w", err)
	}
	return nil
}
