package store

// supervisionQueries are the statements of answer timers, alerts, presence
// and round-robin (migration 0016). Each claim re-checks in its UPDATE what
// the SELECT found, so that of several instances one wins each row.
type supervisionQueries struct {
	DueWarnings      string
	ClaimWarning     string
	DueBreaches      string
	ClaimBreach      string
	InsertBreach     string
	DueReminders     string
	ClaimReminder    string
	DueOverdueTasks  string
	ClaimOverdueTask string
	InsertAlert      string
	AlertByID        string
	ListAlerts       string
	UnreadAlerts     string
	AlertReadUpto    string
	MarkAlertsRead   string
	DueDispatch      string
	ClaimDispatch    string
	DispatchDone     string
	DispatchRetry    string
	AlertAttempts    string
	ClientName       string
	TouchPresence    string
	OfflineAssigned  string
	Unassign         string
	ChannelTeam      string
	AssignCandidates string
	WaitingInChannel string
	AssignWaiting    string
	AssignedAt       string
	OpenLoad         string
	SupervisedConvs  string
	OnlineOperators  string
	OverdueTasks     string
}

const alertCols = `a.id, a.kind, a.for_whom, a.operator_id, a.conversation_id, a.client_id, cl.name AS client_name,
	a.channel_id, a.task_id, a.task_title, a.assignee_id, a.due_at, a.late_seconds, a.created_at`

// alertsFor is the condition under which the operator (first parameter),
// a supervisor or not (second), who sees all channels or not (third) and
// has the hidden channels (fourth, a JSON array) gets alert a.
func alertsFor(set string) string {
	return `((a.for_whom = 'operator' AND a.operator_id = ?)
		OR (a.for_whom = 'supervisors' AND ?)
		OR (a.for_whom = 'team' AND (? OR a.channel_id NOT IN (` + set + `))))`
}

func baseSupervisionQueries() supervisionQueries {
	return supervisionQueries{
		// SQLite's planner, without statistics, would rather walk the
		// status index; the timers' own partial indexes are named.
		DueWarnings:  dueWarnings(` INDEXED BY conversations_sla_warn_idx`),
		ClaimWarning: `UPDATE conversations SET sla_warn_at = NULL WHERE id = ? AND sla_warn_at = ?`,
		DueBreaches:  dueBreaches(` INDEXED BY conversations_sla_due_idx`),
		ClaimBreach: `UPDATE conversations SET sla_breached = TRUE, sla_warn_at = NULL
			WHERE id = ? AND sla_due_at = ? AND NOT sla_breached`,
		InsertBreach: `INSERT INTO sla_breaches (conversation_id, channel_id, assignee_id, kind, waiting_since, due_at, breached_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
		DueReminders:     dueTasks(` INDEXED BY tasks_due_idx`, `t.done = 0`, `t.reminded_at IS NULL`),
		ClaimReminder:    `UPDATE tasks SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL AND NOT done`,
		DueOverdueTasks:  dueTasks(` INDEXED BY tasks_due_idx`, `t.done = 0`, `t.overdue_alerted_at IS NULL`),
		ClaimOverdueTask: `UPDATE tasks SET overdue_alerted_at = ? WHERE id = ? AND overdue_alerted_at IS NULL AND NOT done`,
		InsertAlert: `INSERT INTO alerts (kind, for_whom, operator_id, conversation_id, client_id, channel_id, task_id,
				task_title, assignee_id, due_at, late_seconds, created_at, dispatch_state, dispatch_after)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		AlertByID: `SELECT ` + alertCols + ` FROM alerts a JOIN clients cl ON cl.id = a.client_id WHERE a.id = ?`,
		// Parameters: alertsFor's four, the cursor (0: none), the limit.
		ListAlerts: `SELECT ` + alertCols + ` FROM alerts a JOIN clients cl ON cl.id = a.client_id
			WHERE ` + alertsFor(sqliteSet) + ` AND (? = 0 OR a.id < ?) ORDER BY a.id DESC LIMIT ?`,
		// Parameters: alertsFor's four, then the operator's read mark.
		UnreadAlerts:  `SELECT COUNT(*) FROM alerts a WHERE ` + alertsFor(sqliteSet) + ` AND a.id > ?`,
		AlertReadUpto: `SELECT COALESCE(MAX(last_read_id), 0) FROM alert_reads WHERE operator_id = ?`,
		MarkAlertsRead: `INSERT INTO alert_reads (operator_id, last_read_id) VALUES (?, ?)
			ON CONFLICT (operator_id) DO UPDATE SET last_read_id = excluded.last_read_id`,
		DueDispatch: `SELECT id FROM alerts WHERE dispatch_state = 'due' AND dispatch_after <= ? ORDER BY id LIMIT ?`,
		ClaimDispatch: `UPDATE alerts SET dispatch_after = ?, dispatch_attempts = dispatch_attempts + 1
			WHERE id = ? AND dispatch_state = 'due' AND dispatch_after <= ? RETURNING dispatch_attempts`,
		DispatchDone:  `UPDATE alerts SET dispatch_state = ?, dispatch_error = ? WHERE id = ?`,
		DispatchRetry: `UPDATE alerts SET dispatch_after = ?, dispatch_error = ? WHERE id = ?`,
		AlertAttempts: `SELECT dispatch_attempts FROM alerts WHERE id = ?`,
		ClientName:    `SELECT name FROM clients WHERE id = ?`,
		TouchPresence: `INSERT INTO operator_presence (operator_id, seen_at)
			SELECT o.id, ? FROM operators o WHERE o.id IN (` + sqliteSet + `)
			ON CONFLICT (operator_id) DO UPDATE SET seen_at = excluded.seen_at`,
		// Parameters: the moment before which an assignee not seen since
		// is away, the channel, the limit. It goes from the operators away
		// to their open conversations (the partial assignee index), never
		// through a channel's whole history.
		OfflineAssigned: offlineAssigned(` INDEXED BY conversations_assignee_open_idx`),
		Unassign:        `UPDATE conversations SET assignee_id = NULL WHERE id = ? AND assignee_id = ?`,
		ChannelTeam:     `SELECT COALESCE(MAX(team), '') FROM channel_config WHERE id = ?`,
		// Online operators who may take the channel's conversations (its
		// team's members, or every operator when it has none), with their
		// open load, the one who got a conversation least recently first.
		// Parameters: online since, the team (twice).
		AssignCandidates: `SELECT o.id,
				(SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = o.id AND c.status <> 'closed') AS open
			FROM operators o JOIN operator_presence p ON p.operator_id = o.id
			WHERE NOT o.disabled AND p.seen_at >= ?
				AND ((? = '' AND o.role = 'operator') OR o.id IN (
					SELECT tm.operator_id FROM team_members tm JOIN teams t ON t.id = tm.team_id WHERE t.name = ?))
			ORDER BY p.last_assigned_at IS NOT NULL, p.last_assigned_at, o.id`,
		WaitingInChannel: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.channel_id = ? AND c.assignee_id IS NULL AND c.status IN ('new', 'open') ORDER BY c.id LIMIT ?`,
		AssignWaiting: `UPDATE conversations SET assignee_id = ? WHERE id = ? AND assignee_id IS NULL AND status IN ('new', 'open')`,
		AssignedAt:    `UPDATE operator_presence SET last_assigned_at = ? WHERE operator_id = ?`,
		OpenLoad: `SELECT c.assignee_id AS id, COUNT(*) AS open FROM conversations c
			WHERE c.status <> 'closed' AND c.assignee_id IS NOT NULL GROUP BY c.assignee_id`,
		// The supervisor's view: what is open, most urgent first.
		SupervisedConvs: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.status IN ('new', 'open', 'pending')
			ORDER BY c.sla_due_at IS NULL, c.sla_due_at, c.waiting_since IS NULL, c.waiting_since, c.id LIMIT ?`,
		OnlineOperators: `SELECT o.id, o.name, o.email, o.role, COALESCE(p.seen_at >= ?, FALSE) AS online
			FROM operators o LEFT JOIN operator_presence p ON p.operator_id = o.id
			WHERE NOT o.disabled ORDER BY o.name, o.id`,
		OverdueTasks: `SELECT t.id, t.client_id, t.title, t.due_at, t.done, t.assignee_id, t.created_by, t.created_at,
				t.kind, t.done_at, t.done_note
			FROM tasks t WHERE NOT t.done AND t.due_at <= ? ORDER BY t.due_at LIMIT ?`,
	}
}

func (q *supervisionQueries) postgres() {
	q.ListAlerts = `SELECT ` + alertCols + ` FROM alerts a JOIN clients cl ON cl.id = a.client_id
		WHERE ` + alertsFor(postgresSet) + ` AND (?::bigint = 0 OR a.id < ?) ORDER BY a.id DESC LIMIT ?`
	q.UnreadAlerts = `SELECT COUNT(*) FROM alerts a WHERE ` + alertsFor(postgresSet) + ` AND a.id > ?`
	q.TouchPresence = `INSERT INTO operator_presence (operator_id, seen_at)
		SELECT o.id, ? FROM operators o WHERE o.id IN (` + postgresIDSet + `)
		ON CONFLICT (operator_id) DO UPDATE SET seen_at = excluded.seen_at`
	q.AssignCandidates = `SELECT o.id,
			(SELECT COUNT(*) FROM conversations c WHERE c.assignee_id = o.id AND c.status <> 'closed') AS open
		FROM operators o JOIN operator_presence p ON p.operator_id = o.id
		WHERE NOT o.disabled AND p.seen_at >= ?
			AND ((?::text = '' AND o.role = 'operator') OR o.id IN (
				SELECT tm.operator_id FROM team_members tm JOIN teams t ON t.id = tm.team_id WHERE t.name = ?))
		ORDER BY p.last_assigned_at NULLS FIRST, o.id`
	q.OfflineAssigned = offlineAssigned("")
	q.DueWarnings = dueWarnings("") + ` FOR UPDATE OF c SKIP LOCKED`
	q.DueBreaches = dueBreaches("") + ` FOR UPDATE OF c SKIP LOCKED`
	q.DueReminders = dueTasks("", `NOT t.done`, `t.reminded_at IS NULL`)
	q.DueOverdueTasks = dueTasks("", `NOT t.done`, `t.overdue_alerted_at IS NULL`)
}

// dueWarnings, dueBreaches and dueTasks read what fell due, through the
// partial index named by indexed (SQLite's INDEXED BY; "" on PostgreSQL).
// The conditions repeat the indexes' own so that SQLite can use them.
func dueWarnings(indexed string) string {
	return `SELECT ` + conversationCols + ` FROM conversations c` + indexed + ` JOIN clients cl ON cl.id = c.client_id
		WHERE c.sla_warn_at <= ? AND c.status IN ('new', 'open') ORDER BY c.sla_warn_at LIMIT ?`
}

func dueBreaches(indexed string) string {
	return `SELECT ` + conversationCols + ` FROM conversations c` + indexed + ` JOIN clients cl ON cl.id = c.client_id
		WHERE c.sla_due_at <= ? AND NOT c.sla_breached AND c.status IN ('new', 'open')
		ORDER BY c.sla_due_at LIMIT ?`
}

func dueTasks(indexed, open, unclaimed string) string {
	return `SELECT t.id, t.client_id, t.title, t.due_at, t.done, t.assignee_id, t.created_by, t.created_at,
			t.kind, t.done_at, t.done_note
		FROM tasks t` + indexed + ` WHERE ` + open + ` AND t.due_at <= ? AND ` + unclaimed + ` ORDER BY t.due_at LIMIT ?`
}

func offlineAssigned(indexed string) string {
	return `SELECT ` + conversationCols + ` FROM conversations c` + indexed + ` JOIN clients cl ON cl.id = c.client_id
		WHERE c.assignee_id IN (SELECT o.id FROM operators o LEFT JOIN operator_presence p ON p.operator_id = o.id
				WHERE p.seen_at IS NULL OR p.seen_at < ?)
			AND c.status <> 'closed' AND c.status IN ('new', 'open') AND c.channel_id = ?
		ORDER BY c.id LIMIT ?`
}
