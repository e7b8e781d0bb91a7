package store

// teamQueries are the statements about teams and their members.
type teamQueries struct {
	TeamsOfOperators  string
	DeleteMemberships string
	InsertMembership  string
	InsertTeam        string
	ListTeams         string
	TeamByID          string
	TeamByName        string
	DeleteTeam        string
	MembersOfTeams    string
}

func baseTeamQueries() teamQueries {
	return teamQueries{
		// The first parameter 0 reads every operator's teams.
		TeamsOfOperators: `SELECT m.operator_id, t.name FROM team_members m JOIN teams t ON t.id = m.team_id
			WHERE ? = 0 OR m.operator_id = ? ORDER BY m.operator_id, t.name`,
		DeleteMemberships: `DELETE FROM team_members WHERE operator_id = ?`,
		InsertMembership: `INSERT INTO team_members (team_id, operator_id) VALUES (?, ?)
			ON CONFLICT (team_id, operator_id) DO NOTHING`,
		InsertTeam:     `INSERT INTO teams (name, created_at) VALUES (?, ?) RETURNING id`,
		ListTeams:      `SELECT id, name, created_at FROM teams ORDER BY name`,
		TeamByID:       `SELECT id, name, created_at FROM teams WHERE id = ?`,
		TeamByName:     `SELECT id, name, created_at FROM teams WHERE name = ?`,
		DeleteTeam:     `DELETE FROM teams WHERE id = ?`,
		MembersOfTeams: `SELECT team_id, operator_id FROM team_members WHERE ? = 0 OR team_id = ? ORDER BY team_id, operator_id`,
	}
}
