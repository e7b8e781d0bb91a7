package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite extended result codes (the driver turns extended codes on).
const (
	sqliteConstraintUnique     = sqlite3.SQLITE_CONSTRAINT_UNIQUE     // 2067
	sqliteConstraintPrimaryKey = sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY // 1555
	sqliteConstraintForeignKey = sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY // 787
)

// pgCode returns the SQLSTATE of a PostgreSQL error in err's chain.
func pgCode(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, true
	}
	return "", false
}
