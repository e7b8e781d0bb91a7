package store

import "strconv"

// migrationQueries are the statements about schema_migrations: which migrations ran.
type migrationQueries struct {
	LockMigrations        string
	CreateMigrationsTable string
	MigrationApplied      string
	InsertMigration       string
}

func baseMigrationQueries() migrationQueries {
	return migrationQueries{
		CreateMigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			name       TEXT PRIMARY KEY,
			applied_at TEXT NOT NULL)`,
		MigrationApplied: `SELECT count(*) FROM schema_migrations WHERE name = ?`,
		InsertMigration:  `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *migrationQueries) postgres() {
	q.LockMigrations = `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(lockKeyMigrations, 10) + `)`
	q.CreateMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL)`
}
