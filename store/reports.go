package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// reportQueries read the reports from columns that filing, replies, triage
// and the supervisor keep (migrations 0016, 0017, 0020). Each takes the
// range [from, to), then "all channels" and the channels as a JSON array.
type reportQueries struct {
	ReportLeads         string
	ReportFirstResponse string
	ReportUnanswered    string
	ReportTriage        string
	ReportTouches       string
	ReportCallbacks     string
	ReportBreaches      string
	OperatorNames       string
}

// inChannels is the channel filter on column col.
func inChannels(col, set string) string {
	return `(? OR ` + col + ` IN (` + set + `))`
}

// seconds is the time from a to b in seconds, by dialect.
func secondsSQLite(a, b string) string {
	return `(julianday(` + b + `) - julianday(` + a + `)) * 86400.0`
}

func secondsPostgres(a, b string) string {
	return `EXTRACT(EPOCH FROM (` + b + ` - ` + a + `))::float8`
}

func baseReportQueries() reportQueries {
	return reportQueries{
		// SQLite has no time zones: the day is shifted by the zone's offset
		// at the range's start (the first parameter, "+180 minutes").
		ReportLeads: `SELECT c.channel_id AS channel, strftime('%Y-%m-%d', c.created_at, ?) AS day, COUNT(*) AS n
			FROM conversations c WHERE c.created_at >= ? AND c.created_at < ? AND ` + inChannels("c.channel_id", sqliteSet) + `
			GROUP BY 1, 2 ORDER BY 2, 1`,
		ReportFirstResponse: firstResponse(sqliteSet, secondsSQLite),
		ReportUnanswered:    unanswered(sqliteSet),
		ReportTriage:        triage(sqliteSet),
		ReportTouches:       touches(sqliteSet),
		ReportCallbacks:     callbacks(sqliteSet, secondsSQLite),
		ReportBreaches:      breaches(sqliteSet),
		OperatorNames:       `SELECT id, name, email FROM operators`,
	}
}

func (q *reportQueries) postgres() {
	q.ReportLeads = `SELECT c.channel_id AS channel, to_char(c.created_at AT TIME ZONE ?, 'YYYY-MM-DD') AS day, COUNT(*) AS n
		FROM conversations c WHERE c.created_at >= ? AND c.created_at < ? AND ` + inChannels("c.channel_id", postgresSet) + `
		GROUP BY 1, 2 ORDER BY 2, 1`
	q.ReportFirstResponse = firstResponse(postgresSet, secondsPostgres)
	q.ReportUnanswered = unanswered(postgresSet)
	q.ReportTriage = triage(postgresSet)
	q.ReportTouches = touches(postgresSet)
	q.ReportCallbacks = callbacks(postgresSet, secondsPostgres)
	q.ReportBreaches = breaches(postgresSet)
}

// firstResponse lists the conversations begun in the range: channel, who
// answered first (0: nobody or not an operator) and how long it took
// (NULL: not answered).
func firstResponse(set string, seconds func(a, b string) string) string {
	return `SELECT c.channel_id AS channel, COALESCE(c.first_reply_by, 0) AS operator,
			CASE WHEN c.first_reply_at IS NULL THEN -1 ELSE ` + seconds("c.created_at", "c.first_reply_at") + ` END AS secs
		FROM conversations c
		WHERE c.created_at >= ? AND c.created_at < ? AND ` + inChannels("c.channel_id", set) + `
			AND c.first_status <> 'closed'`
}

// unanswered counts the clients waiting for an answer now, by channel
// (the range does not apply: it is a snapshot).
func unanswered(set string) string {
	return `SELECT c.channel_id AS channel, COUNT(*) AS n, MIN(c.waiting_since) AS oldest,
			SUM(CASE WHEN c.sla_breached THEN 1 ELSE 0 END) AS late
		FROM conversations c
		WHERE c.waiting_since IS NOT NULL AND c.status IN ('new', 'open') AND ` + inChannels("c.channel_id", set) + `
		GROUP BY c.channel_id ORDER BY c.channel_id`
}

// triage counts the conversations of unknown senders begun in the range by
// how their triage ended.
func triage(set string) string {
	return `SELECT c.channel_id AS channel, COUNT(*) AS total,
			SUM(CASE WHEN c.triage IN ('accepted', 'linked') THEN 1 ELSE 0 END) AS accepted,
			SUM(CASE WHEN c.triage = 'spam' THEN 1 ELSE 0 END) AS spam
		FROM conversations c
		WHERE c.first_status = 'new' AND c.created_at >= ? AND c.created_at < ? AND ` + inChannels("c.channel_id", set) + `
		GROUP BY c.channel_id ORDER BY c.channel_id`
}

// touches counts the conversations begun in the range by their client's
// first and last campaign marks together: one pass over the range gives
// both tables.
func touches(set string) string {
	return `SELECT COALESCE(a.first_utm_source, '') AS first_source, COALESCE(a.first_utm_campaign, '') AS first_campaign,
			COALESCE(a.last_utm_source, '') AS last_source, COALESCE(a.last_utm_campaign, '') AS last_campaign, COUNT(*) AS n
		FROM conversations c LEFT JOIN client_activity a ON a.client_id = c.client_id
		WHERE c.created_at >= ? AND c.created_at < ? AND ` + inChannels("c.channel_id", set) + `
		GROUP BY 1, 2, 3, 4`
}

// callbacks lists the missed calls of the range (each made a callback
// task): channel, whether the client was called back, and how long it took.
func callbacks(set string, seconds func(a, b string) string) string {
	return `SELECT k.channel_id AS channel, CASE WHEN t.done THEN 1 ELSE 0 END AS done,
			CASE WHEN t.done AND t.done_at IS NOT NULL THEN ` + seconds("t.created_at", "t.done_at") + ` ELSE -1 END AS secs
		FROM tasks t JOIN calls k ON k.id = t.call_id
		WHERE t.kind = 'callback' AND t.created_at >= ? AND t.created_at < ? AND ` + inChannels("k.channel_id", set)
}

// breaches counts the missed answer targets of the range by channel,
// assignee and kind.
func breaches(set string) string {
	return `SELECT b.channel_id AS channel, COALESCE(b.assignee_id, 0) AS operator, b.kind AS kind, COUNT(*) AS n
		FROM sla_breaches b
		WHERE b.breached_at >= ? AND b.breached_at < ? AND ` + inChannels("b.channel_id", set) + `
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
}

// Report runs the named report over q. An unknown name is ENOTFOUND.
func (s *Store) Report(ctx context.Context, name string, q inbox.ReportQuery) (inbox.Report, error) {
	all := q.Channels == nil
	set, err := jsonArg(nonNilStrings(q.Channels))
	if err != nil {
		return inbox.Report{}, err
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	rng := []any{dbTime(q.From), dbTime(q.To), all, set}
	r := inbox.Report{Name: name, From: q.From.In(loc).Format(time.DateOnly), To: q.To.In(loc).AddDate(0, 0, -1).Format(time.DateOnly)}
	switch name {
	case inbox.ReportLeads:
		err = s.reportLeads(ctx, &r, q, loc, rng)
	case inbox.ReportFirstResponse:
		err = s.reportFirstResponse(ctx, &r, rng)
	case inbox.ReportUnanswered:
		err = s.reportUnanswered(ctx, &r, all, set)
	case inbox.ReportTriage:
		err = s.reportTriage(ctx, &r, rng)
	case inbox.ReportUTM:
		err = s.reportUTM(ctx, &r, rng)
	case inbox.ReportCalls:
		err = s.reportCalls(ctx, &r, rng)
	case inbox.ReportSLA:
		err = s.reportSLA(ctx, &r, rng)
	default:
		return inbox.Report{}, inbox.Errorf(inbox.ENOTFOUND, "no report %q", name)
	}
	if err != nil {
		return inbox.Report{}, fmt.Errorf("store: report %s: %w", name, err)
	}
	return r, nil
}

func (s *Store) reportLeads(ctx context.Context, r *inbox.Report, q inbox.ReportQuery, loc *time.Location, rng []any) error {
	shift := any(loc.String())
	if s.dialect == DialectSQLite {
		_, off := q.From.In(loc).Zone()
		shift = fmt.Sprintf("%+d minutes", off/60)
	}
	var rows []struct {
		Channel string `db:"channel"`
		Day     string `db:"day"`
		N       int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.ReportLeads, append([]any{shift}, rng...)...); err != nil {
		return err
	}
	// One row per day of the range, one column per channel that had leads.
	var channels []string
	counts := map[[2]string]int{}
	for _, row := range rows {
		if !slices.Contains(channels, row.Channel) {
			channels = append(channels, row.Channel)
		}
		counts[[2]string{row.Day, row.Channel}] = row.N
	}
	slices.Sort(channels)
	t := inbox.ReportTable{Name: "leads_per_day", Columns: append([]string{"day"}, append(channels, "total")...)}
	for d := q.From.In(loc); d.Before(q.To); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		row := []any{day}
		total := 0
		for _, ch := range channels {
			n := counts[[2]string{day, ch}]
			row = append(row, n)
			total += n
		}
		t.Rows = append(t.Rows, append(row, total))
	}
	r.Tables = append(r.Tables, t)
	return nil
}

// timings is a group's answered times and how many there were in all.
type timings struct {
	total int
	secs  []float64
}

func (g *timings) add(secs float64) {
	g.total++
	if secs >= 0 {
		g.secs = append(g.secs, secs)
	}
}

// row is the group's total, answered count, p50 and p90 in seconds.
func (g *timings) row() []any {
	slices.Sort(g.secs)
	// SQLite's julianday arithmetic lands a hair off whole seconds.
	return []any{g.total, len(g.secs), int64(math.Round(inbox.Percentile(g.secs, 0.5))), int64(math.Round(inbox.Percentile(g.secs, 0.9)))}
}

func (s *Store) reportFirstResponse(ctx context.Context, r *inbox.Report, rng []any) error {
	var rows []struct {
		Channel  string  `db:"channel"`
		Operator int64   `db:"operator"`
		Secs     float64 `db:"secs"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.ReportFirstResponse, rng...); err != nil {
		return err
	}
	byChannel := map[string]*timings{}
	byOperator := map[int64]*timings{}
	for _, row := range rows {
		get(byChannel, row.Channel).add(row.Secs)
		if row.Secs >= 0 && row.Operator != 0 {
			get(byOperator, row.Operator).add(row.Secs)
		}
	}
	cols := []string{"conversations", "answered", "p50_seconds", "p90_seconds"}
	ct := inbox.ReportTable{Name: "by_channel", Columns: append([]string{"channel"}, cols...)}
	for _, ch := range sortedKeys(byChannel) {
		ct.Rows = append(ct.Rows, append([]any{ch}, byChannel[ch].row()...))
	}
	names, err := s.operatorNames(ctx)
	if err != nil {
		return err
	}
	ot := inbox.ReportTable{Name: "by_operator", Columns: []string{"operator_id", "operator", "answered", "p50_seconds", "p90_seconds"}}
	for _, id := range sortedKeys(byOperator) {
		row := byOperator[id].row()
		ot.Rows = append(ot.Rows, []any{id, names[id], row[1], row[2], row[3]})
	}
	r.Tables = append(r.Tables, ct, ot)
	return nil
}

func (s *Store) reportUnanswered(ctx context.Context, r *inbox.Report, all bool, set string) error {
	var rows []struct {
		Channel string  `db:"channel"`
		N       int     `db:"n"`
		Oldest  sqlTime `db:"oldest"`
		Late    int     `db:"late"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.ReportUnanswered, all, set); err != nil {
		return err
	}
	now := s.now()
	t := inbox.ReportTable{Name: "waiting_now", Columns: []string{"channel", "waiting", "late", "longest_wait_seconds"}}
	for _, row := range rows {
		t.Rows = append(t.Rows, []any{row.Channel, row.N, row.Late, int64(now.Sub(row.Oldest.Time) / time.Second)})
	}
	r.Tables = append(r.Tables, t)
	return nil
}

func (s *Store) reportTriage(ctx context.Context, r *inbox.Report, rng []any) error {
	var rows []struct {
		Channel  string `db:"channel"`
		Total    int    `db:"total"`
		Accepted int    `db:"accepted"`
		Spam     int    `db:"spam"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.ReportTriage, rng...); err != nil {
		return err
	}
	t := inbox.ReportTable{Name: "triage", Columns: []string{"channel", "new_senders", "accepted", "spam", "untriaged", "accepted_percent"}}
	for _, row := range rows {
		pct := 0.0
		if row.Total > 0 {
			pct = float64(int(float64(row.Accepted)*1000/float64(row.Total)+0.5)) / 10
		}
		t.Rows = append(t.Rows, []any{row.Channel, row.Total, row.Accepted, row.Spam, row.Total - row.Accepted - row.Spam, pct})
	}
	r.Tables = append(r.Tables, t)
	return nil
}

func (s *Store) reportUTM(ctx context.Context, r *inbox.Report, rng []any) error {
	var rows []struct {
		FirstSource   string `db:"first_source"`
		FirstCampaign string `db:"first_campaign"`
		LastSource    string `db:"last_source"`
		LastCampaign  string `db:"last_campaign"`
		N             int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.ReportTouches, rng...); err != nil {
		return err
	}
	first, last := map[[2]string]int{}, map[[2]string]int{}
	for _, row := range rows {
		first[[2]string{row.FirstSource, row.FirstCampaign}] += row.N
		last[[2]string{row.LastSource, row.LastCampaign}] += row.N
	}
	for _, tb := range []struct {
		name   string
		counts map[[2]string]int
	}{{"first_touch", first}, {"last_touch", last}} {
		keys := make([][2]string, 0, len(tb.counts))
		for k := range tb.counts {
			keys = append(keys, k)
		}
		// Most leads first, then by source and campaign.
		slices.SortFunc(keys, func(a, b [2]string) int {
			return cmp.Or(cmp.Compare(tb.counts[b], tb.counts[a]), cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
		})
		t := inbox.ReportTable{Name: tb.name, Columns: []string{"utm_source", "utm_campaign", "leads"}}
		for _, k := range keys {
			t.Rows = append(t.Rows, []any{k[0], k[1], tb.counts[k]})
		}
		r.Tables = append(r.Tables, t)
	}
	return nil
}

func (s *Store) reportCalls(ctx context.Context, r *inbox.Report, rng []any) error {
	var rows []struct {
		Channel string  `db:"channel"`
		Done    int     `db:"done"`
		Secs    float64 `db:"secs"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.ReportCallbacks, rng...); err != nil {
		return err
	}
	byChannel := map[string]*timings{}
	for _, row := range rows {
		get(byChannel, row.Channel).add(row.Secs)
	}
	t := inbox.ReportTable{Name: "missed_calls", Columns: []string{"channel", "missed", "called_back", "p50_seconds_to_call_back", "p90_seconds_to_call_back"}}
	for _, ch := range sortedKeys(byChannel) {
		t.Rows = append(t.Rows, append([]any{ch}, byChannel[ch].row()...))
	}
	r.Tables = append(r.Tables, t)
	return nil
}

func (s *Store) reportSLA(ctx context.Context, r *inbox.Report, rng []any) error {
	var rows []struct {
		Channel  string `db:"channel"`
		Operator int64  `db:"operator"`
		Kind     string `db:"kind"`
		N        int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.ReportBreaches, rng...); err != nil {
		return err
	}
	names, err := s.operatorNames(ctx)
	if err != nil {
		return err
	}
	type counts struct{ first, next int }
	byChannel := map[string]*counts{}
	byOperator := map[int64]*counts{}
	for _, row := range rows {
		for _, c := range []*counts{get(byChannel, row.Channel), get(byOperator, row.Operator)} {
			if row.Kind == string(inbox.SLAFirst) {
				c.first += row.N
			} else {
				c.next += row.N
			}
		}
	}
	ct := inbox.ReportTable{Name: "by_channel", Columns: []string{"channel", "first_answer_late", "next_answer_late", "total"}}
	for _, ch := range sortedKeys(byChannel) {
		c := byChannel[ch]
		ct.Rows = append(ct.Rows, []any{ch, c.first, c.next, c.first + c.next})
	}
	ot := inbox.ReportTable{Name: "by_assignee", Columns: []string{"operator_id", "operator", "first_answer_late", "next_answer_late", "total"}}
	for _, id := range sortedKeys(byOperator) {
		c := byOperator[id]
		name := names[id]
		if id == 0 {
			name = "(nobody)"
		}
		ot.Rows = append(ot.Rows, []any{id, name, c.first, c.next, c.first + c.next})
	}
	r.Tables = append(r.Tables, ct, ot)
	return nil
}

// get returns m[k], made when missing.
func get[K comparable, V any](m map[K]*V, k K) *V {
	v := m[k]
	if v == nil {
		v = new(V)
		m[k] = v
	}
	return v
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// operatorNames maps operator ids to their names (their email when they
// have none).
func (s *Store) operatorNames(ctx context.Context) (map[int64]string, error) {
	var rows []struct {
		ID    int64  `db:"id"`
		Name  string `db:"name"`
		Email string `db:"email"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.OperatorNames); err != nil {
		return nil, fmt.Errorf("operator names: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = cmp.Or(r.Name, r.Email)
	}
	return out, nil
}
