package store

// pollerQueries are the statements about pollers' checkpoints and leases.
type pollerQueries struct {
	LoadCheckpoint string
	SaveCheckpoint string
	AcquireLease   namedQuery[leaseParams]
	RenewLease     namedQuery[leaseParams]
	LeaseByName    string
	ReleaseLease   string
}

func basePollerQueries() pollerQueries {
	return pollerQueries{
		LoadCheckpoint: `SELECT position FROM poller_checkpoints WHERE source = ?`,
		SaveCheckpoint: `INSERT INTO poller_checkpoints (source, position, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (source) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
		// One statement decides who holds a lease, so that racing instances
		// need no transaction of their own: the insert takes a free lease;
		// on conflict the update takes it only if it has expired (its end is
		// not after now, which is the new row's acquired_at) or is the
		// caller's already. On PostgreSQL the update locks the row and checks
		// the condition against the winner's version, so of several racers
		// exactly one gets a row back; SQLite serializes writers anyway.
		AcquireLease: named[leaseParams](`INSERT INTO leases (name, holder, acquired_at, expires_at)
			VALUES (:name, :holder, :now, :expires_at)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
				acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at
					ELSE excluded.acquired_at END
			WHERE leases.expires_at <= excluded.acquired_at OR leases.holder = excluded.holder
			RETURNING holder, expires_at`),
		// Never revives an expired lease: a holder that missed its renewal
		// must acquire again, which fails if another took over meanwhile.
		RenewLease: named[leaseParams](`UPDATE leases SET expires_at = :expires_at
			WHERE name = :name AND holder = :holder AND expires_at > :now
			RETURNING holder, expires_at`),
		LeaseByName:  `SELECT holder, expires_at FROM leases WHERE name = ?`,
		ReleaseLease: `DELETE FROM leases WHERE name = ? AND holder = ?`,
	}
}

// leaseParams are the parameters of taking or renewing a lease.
type leaseParams struct {
	Name      string `db:"name"`
	Holder    string `db:"holder"`
	Now       string `db:"now"`
	ExpiresAt string `db:"expires_at"`
}
