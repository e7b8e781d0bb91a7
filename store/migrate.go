package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migrate applies the embedded migrations of the store's dialect that are
// not yet recorded in schema_migrations, in name order, one transaction per
// file. Running it again, or from two processes at once, is a no-op: on
// PostgreSQL an advisory lock serializes migrators and each file is checked
// again under that lock; SQLite's write lock does the same.
func (s *Store) Migrate(ctx context.Context) error {
	dir := path.Join("migrations", s.dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockMigrations(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q.CreateMigrationsTable)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	for _, e := range entries { // fs.ReadDir sorts by name: 0001_, 0002_, ...
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		applied := false
		err = s.inTx(ctx, func(tx *sqlx.Tx) error {
			if err := s.lockMigrations(ctx, tx); err != nil {
				return err
			}
			var n int
			if err := tx.GetContext(ctx, &n, s.q.MigrationApplied, name); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q.InsertMigration, name, dbTime(s.now())); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", name, err)
		}
		if applied {
			s.log.Info("migration applied", "dialect", s.dialect, "name", name)
		}
	}
	return nil
}

func (s *Store) lockMigrations(ctx context.Context, tx *sqlx.Tx) error {
	if s.q.LockMigrations == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q.LockMigrations); err != nil {
		return fmt.Errorf("lock migrations: %w", err)
	}
	return nil
}
