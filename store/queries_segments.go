package store

import "strings"

// segmentQueries are the statements of client segments (migration 0019):
// counting and listing the cards a filter picks, and saved segments.
type segmentQueries struct {
	// The filtered lists are built per request (segmentFilter): the
	// activity ones join client_activity, for a filter that reads it.
	CountClients          listStatement
	CountLive             listStatement
	CountClientsActivity  listStatement
	FilterClients         listStatement
	FilterClientsActivity listStatement
	ActivityOf            string
	InsertSegment         string
	SegmentByID           string
	SegmentsFor           string
	UpdateSegment         string
	DeleteSegment         string
}

// liveCard is what every segment filters: no tombstones of merged or
// erased cards, no spam. Spelled as clients_live_idx's condition, so that
// both planners may read that index.
const liveCard = `c.merged_into IS NULL AND c.erased_at IS NULL AND NOT c.spam`

// activityJoin is a left join: a card without a row (never in touch) is
// still "contacted before" any moment.
const activityJoin = ` LEFT JOIN client_activity a ON a.client_id = c.id`

const segmentCols = `id, name, filter, owner_id, team, created_at, updated_at`

func baseSegmentQueries() segmentQueries {
	return segmentQueries{
		CountClients: list(`SELECT COUNT(*) FROM clients c WHERE `+liveCard, ``),
		// Without a subquery to start from, SQLite would rather read the
		// whole table than its narrow index of the live cards (3 to 4 times
		// slower at a million cards).
		CountLive:             list(`SELECT COUNT(*) FROM clients c INDEXED BY clients_live_idx WHERE `+liveCard, ``),
		CountClientsActivity:  list(`SELECT COUNT(*) FROM clients c`+activityJoin+` WHERE `+liveCard, ``),
		FilterClients:         list(`SELECT `+clientCols+` FROM clients c WHERE `+liveCard, `ORDER BY c.id LIMIT ?`),
		FilterClientsActivity: list(`SELECT `+clientCols+` FROM clients c`+activityJoin+` WHERE `+liveCard, `ORDER BY c.id LIMIT ?`),
		ActivityOf: `SELECT client_id, first_utm_source, first_utm_campaign, last_utm_source, last_utm_campaign,
				first_touch_at, last_contact_at
			FROM client_activity WHERE client_id IN (` + sqliteSet + `)`,
		InsertSegment: `INSERT INTO segments (name, filter, owner_id, team, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		SegmentByID: `SELECT ` + segmentCols + ` FROM segments WHERE id = ?`,
		// Parameters: everyone's (1 for an admin), the operator twice.
		// Theirs and those of the teams they are in, by name.
		SegmentsFor: `SELECT ` + segmentCols + ` FROM segments s
			WHERE ? = 1 OR s.owner_id = ? OR (s.team <> '' AND s.team IN (
				SELECT t.name FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.operator_id = ?))
			ORDER BY s.name, s.id`,
		UpdateSegment: `UPDATE segments SET name = ?, filter = ?, team = ?, updated_at = ? WHERE id = ?`,
		DeleteSegment: `DELETE FROM segments WHERE id = ?`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *segmentQueries) postgres() {
	q.CountLive = q.CountClients
	q.ActivityOf = strings.Replace(q.ActivityOf, sqliteSet, postgresIDSet, 1)
}

// segmentFilter builds the count (or the page after the id "after", of
// limit cards, when page) of the cards f picks. Each filter that is on adds
// one condition; the join to client_activity is there only for a filter
// that reads it, and tags, channel, open conversation and consent are
// subqueries by the card's id (see having).
func (q *segmentQueries) segmentFilter(f segmentArgs, page bool, after int64, limit int) (string, []any) {
	st := &q.CountClients
	switch {
	case page && f.activity():
		st = &q.FilterClientsActivity
	case page:
		st = &q.FilterClients
	case f.activity():
		st = &q.CountClientsActivity
	case !f.drives():
		st = &q.CountLive
	}
	l := st.start()
	for _, t := range f.Tags {
		l.and(`c.id IN (SELECT v.client_id FROM client_tags v WHERE v.tag_lower = ?)`, t)
	}
	if f.Channel != "" {
		l.and(`c.id IN (SELECT v.client_id FROM conversations v WHERE v.channel_id = ?)`, f.Channel)
	}
	if f.FirstSource != "" {
		l.and(`a.first_utm_source = ?`, f.FirstSource)
	}
	if f.FirstCampaign != "" {
		l.and(`a.first_utm_campaign = ?`, f.FirstCampaign)
	}
	if f.LastSource != "" {
		l.and(`a.last_utm_source = ?`, f.LastSource)
	}
	if f.LastCampaign != "" {
		l.and(`a.last_utm_campaign = ?`, f.LastCampaign)
	}
	if f.ContactedBefore != "" {
		l.and(`a.last_contact_at IS NULL OR a.last_contact_at < ?`, f.ContactedBefore)
	}
	if f.ContactedAfter != "" {
		l.and(`a.last_contact_at >= ?`, f.ContactedAfter)
	}
	if f.Open != nil {
		l.and(having(*f.Open, `conversations v`, `v.status <> 'closed'`))
	}
	if f.DoNotContact != nil {
		l.and(not(!*f.DoNotContact) + `c.do_not_contact`)
	}
	if f.Consent != nil {
		l.and(having(*f.Consent, `consents v`, `true`))
	}
	if f.CreatedFrom != "" {
		l.and(`c.created_at >= ?`, f.CreatedFrom)
	}
	if f.CreatedTo != "" {
		l.and(`c.created_at < ?`, f.CreatedTo)
	}
	if !page {
		return l.end()
	}
	l.and(`c.id > ?`, after)
	return l.end(limit)
}

func not(on bool) string {
	if on {
		return `NOT `
	}
	return ``
}

// having is the condition "the card has a row of table (aliased v) where
// cond" or, with has false, "has none". The first is IN: SQLite runs the
// subquery once and may drive the count from it, where EXISTS would be a
// look-up per card; PostgreSQL plans both as a semi-join. The second is
// NOT EXISTS, an anti-join on PostgreSQL (NOT IN over a big set would be a
// subplan per card).
func having(has bool, table, cond string) string {
	if has {
		return `c.id IN (SELECT v.client_id FROM ` + table + ` WHERE ` + cond + `)`
	}
	return `NOT EXISTS (SELECT 1 FROM ` + table + ` WHERE v.client_id = c.id AND ` + cond + `)`
}

// segmentArgs is a resolved filter as query parameters: tags lower-cased,
// times in the store's format, "" for a filter that is off.
type segmentArgs struct {
	Tags                                                 []string
	Channel                                              string
	FirstSource, FirstCampaign, LastSource, LastCampaign string
	ContactedBefore, ContactedAfter                      string
	Open, DoNotContact, Consent                          *bool
	CreatedFrom, CreatedTo                               string
}

// drives reports whether a filter has a subquery a count may start from.
func (f segmentArgs) drives() bool {
	return len(f.Tags) > 0 || f.Channel != "" || (f.Open != nil && *f.Open) || (f.Consent != nil && *f.Consent)
}

// activity reports whether a filter reads client_activity.
func (f segmentArgs) activity() bool {
	return f.FirstSource != "" || f.FirstCampaign != "" || f.LastSource != "" || f.LastCampaign != "" ||
		f.ContactedBefore != "" || f.ContactedAfter != ""
}
