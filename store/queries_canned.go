package store

import (
	"database/sql"

	"github.com/leadhub/leadhub/inbox"
)

// cannedQueries are the statements about canned replies.
type cannedQueries struct {
	CannedFor    string
	CannedByID   string
	InsertCanned namedQuery[cannedInsert]
	UpdateCanned string
	DeleteCanned string
	TeamIDByName string
}

// cannedCols reads a canned reply with its team's name (alias t).
const cannedCols = `r.id, r.owner_id, COALESCE(t.name, '') AS team, r.title, r.text, r.created_by, r.updated_at`

func baseCannedQueries() cannedQueries {
	return cannedQueries{
		// Parameters: the operator twice. Personal ones of theirs, their
		// teams' and everyone's, by title.
		CannedFor: `SELECT ` + cannedCols + ` FROM canned_replies r LEFT JOIN teams t ON t.id = r.team_id
			WHERE r.owner_id = ?
				OR r.team_id IN (SELECT m.team_id FROM team_members m WHERE m.operator_id = ?)
				OR (r.owner_id IS NULL AND r.team_id IS NULL)
			ORDER BY r.title, r.id`,
		CannedByID: `SELECT ` + cannedCols + ` FROM canned_replies r LEFT JOIN teams t ON t.id = r.team_id
			WHERE r.id = ?`,
		InsertCanned: named[cannedInsert](`INSERT INTO canned_replies
				(owner_id, team_id, title, text, created_by, created_at, updated_at)
			VALUES (:owner_id, :team_id, :title, :text, :created_by, :at, :at)
			RETURNING id`),
		UpdateCanned: `UPDATE canned_replies SET title = ?, text = ?, updated_at = ? WHERE id = ?`,
		DeleteCanned: `DELETE FROM canned_replies WHERE id = ?`,
		TeamIDByName: `SELECT id FROM teams WHERE name = ?`,
	}
}

// cannedInsert is a new canned reply; the nullable columns take nil.
type cannedInsert struct {
	OwnerID   any    `db:"owner_id"`
	TeamID    any    `db:"team_id"`
	Title     string `db:"title"`
	Text      string `db:"text"`
	CreatedBy any    `db:"created_by"`
	At        string `db:"at"`
}

// cannedRow is a canned reply as read.
type cannedRow struct {
	ID        int64         `db:"id"`
	OwnerID   sql.NullInt64 `db:"owner_id"`
	Team      string        `db:"team"`
	Title     string        `db:"title"`
	Text      string        `db:"text"`
	CreatedBy sql.NullInt64 `db:"created_by"`
	UpdatedAt sqlTime       `db:"updated_at"`
}

func (r cannedRow) canned() inbox.CannedReply {
	c := inbox.CannedReply{ID: r.ID, Title: r.Title, Text: r.Text, Team: r.Team,
		OwnerID: nullID(r.OwnerID), CreatedBy: nullID(r.CreatedBy), UpdatedAt: r.UpdatedAt.Time}
	switch {
	case c.OwnerID != nil:
		c.Scope = inbox.CannedPersonal
	case c.Team != "":
		c.Scope = inbox.CannedTeam
	default:
		c.Scope = inbox.CannedEveryone
	}
	return c
}
