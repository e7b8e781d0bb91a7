package store

import "strconv"

// channelQueries are the statements about channels' recorded configuration.
type channelQueries struct {
	LockChannels   string
	ChannelConfigs string
	UpsertChannel  namedQuery[channelUpsert]
	DeleteChannel  string
	ChannelType    string
}

func baseChannelQueries() channelQueries {
	return channelQueries{
		ChannelConfigs: `SELECT id, type, team, fingerprint FROM channel_config ORDER BY id`,
		UpsertChannel: named[channelUpsert](`INSERT INTO channel_config (id, type, team, fingerprint, updated_at)
			VALUES (:id, :type, :team, :fingerprint, :at)
			ON CONFLICT (id) DO UPDATE SET type = excluded.type, team = excluded.team,
				fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`),
		DeleteChannel: `DELETE FROM channel_config WHERE id = ?`,
		ChannelType:   `SELECT type FROM channel_config WHERE id = ?`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *channelQueries) postgres() {
	q.LockChannels = `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(lockKeyChannels, 10) + `)`
}

// channelUpsert is a channel's configuration as last seen.
type channelUpsert struct {
	ID          string `db:"id"`
	Type        string `db:"type"`
	Team        string `db:"team"`
	Fingerprint string `db:"fingerprint"`
	At          string `db:"at"`
}
