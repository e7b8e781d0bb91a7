package store

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/jmoiron/sqlx/reflectx"

	"github.com/leadhub/leadhub/inbox"
)

// openMigrated is storetest.Open for this package's own tests (storetest
// imports store, so it cannot be used from inside it).
func openMigrated(t *testing.T, dialect string) *Store {
	t.Helper()
	return openPool(t, dialect, Pool{})
}

// TestPrepareEveryQuery prepares every statement of the store on both
// dialects, so a typo or a dialect mismatch fails here and not in
// production.
func TestPrepareEveryQuery(t *testing.T) {
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := openMigrated(t, dialect)
			ctx := context.Background()
			all := s.q.all()
			if len(all) < 40 {
				t.Fatalf("got %d queries, want the whole registry", len(all))
			}
			for name, text := range all {
				if strings.Contains(text, "?") && dialect == DialectPostgres {
					t.Errorf("%s: placeholder not rebound: %s", name, text)
				}
				stmt, err := s.db.PreparexContext(ctx, text)
				if err != nil {
					t.Errorf("prepare %s: %v", name, err)
					continue
				}
				stmt.Close()
			}
			// The lists built per request, with every filter on, are run:
			// that checks their parameters against their placeholders too.
			for name, l := range everyFilterOn(s) {
				rows, err := s.db.QueryxContext(ctx, l.text, l.args...)
				if err != nil {
					t.Errorf("%s with every filter on: %v\n%s", name, err, l.text)
					continue
				}
				rows.Close()
			}
		})
	}
}

type builtList struct {
	text string
	args []any
}

// everyFilterOn builds each list statement with all its filters on.
func everyFilterOn(s *Store) map[string]builtList {
	out := make(map[string]builtList)
	var l builtList
	l.text, l.args = s.q.listConversations(conversationList{Status: "open", ChannelID: "site", AssigneeID: 1,
		Unassigned: true, Restricted: true, OperatorID: 1, Hidden: `["vk"]`, Like: "%анна%",
		After: activityCursor{at: time.Now(), id: 10}, Limit: 5})
	out["ListConversations"] = l
	l.text, l.args = s.q.listAudit(inbox.AuditFilter{Entity: "client", EntityID: 1, OperatorID: 1,
		Action: "client.merge"}, 10, 5)
	out["ListAudit"] = l
	l.text, l.args = s.q.listSuggestions(1, 10, 5)
	out["ListSuggestions"] = l
	tl := s.q.ListTasks.start().and(s.q.visibleTask, int64(1), `["vk"]`)
	s.q.filterTasks(tl, inbox.TaskFilter{AssigneeID: 1, ClientID: 2, State: inbox.TaskStateOverdue}, 10, dbTime(time.Now()))
	l.text, l.args = tl.end(5)
	out["ListTasks"] = l
	return out
}

func TestSQLiteVersionHasReturning(t *testing.T) {
	s := openMigrated(t, DialectSQLite)
	var v string
	if err := s.db.GetContext(context.Background(), &v, "SELECT sqlite_version()"); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(v, ".")
	major, _ := strconv.Atoi(parts[0])
	minor, _ := strconv.Atoi(parts[1])
	if major < 3 || major == 3 && minor < 35 {
		t.Fatalf("sqlite_version() = %s, want >= 3.35 (RETURNING)", v)
	}
}

func TestSQLitePragmas(t *testing.T) {
	s := openMigrated(t, DialectSQLite)
	ctx := context.Background()
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	}
	for _, tt := range tests {
		var got string
		if err := s.db.GetContext(ctx, &got, "PRAGMA "+tt.pragma); err != nil {
			t.Fatalf("pragma %s: %v", tt.pragma, err)
		}
		if got != tt.want {
			t.Errorf("pragma %s = %q, want %q", tt.pragma, got, tt.want)
		}
	}
}

func TestDataSource(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name        string
		opts        Options
		wantDialect string
		wantPath    string
		wantCode    string
	}{
		{"default", Options{DataDir: filepath.Join(dir, "d1")}, DialectSQLite, filepath.Join(dir, "d1", "leadhub.db"), ""},
		{"sqlite prefix", Options{URL: "sqlite:" + dir + "/a.db"}, DialectSQLite, dir + "/a.db", ""},
		{"sqlite triple slash", Options{URL: "sqlite://" + dir + "/b.db"}, DialectSQLite, dir + "/b.db", ""},
		{"file prefix with query", Options{URL: "file:" + dir + "/c.db?mode=ro"}, DialectSQLite, dir + "/c.db", ""},
		{"postgres", Options{URL: "postgres://u:secret@h/db"}, DialectPostgres, "", ""},
		{"postgresql", Options{URL: "postgresql://h/db"}, DialectPostgres, "", ""},
		{"unknown scheme", Options{URL: "mysql://u:secret@h/db"}, "", "", inbox.EINVALID},
		{"empty path", Options{URL: "sqlite:"}, "", "", inbox.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dialect, _, dsn, path, err := dataSource(tt.opts)
			if got := inbox.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			if err != nil {
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q leaks the URL's password", err)
				}
				return
			}
			if dialect != tt.wantDialect || path != tt.wantPath {
				t.Errorf("got (%q, %q), want (%q, %q)", dialect, path, tt.wantDialect, tt.wantPath)
			}
			if dialect == DialectSQLite && !strings.HasSuffix(dsn, "?"+sqliteParams) {
				t.Errorf("dsn %q lacks the pragmas", dsn)
			}
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC)
	c, err := parseActivityCursor(activityCursor{at: at, id: 42}.String())
	if err != nil || !c.at.Equal(at) || c.id != 42 {
		t.Fatalf("got %v %d %v, want %v 42", c.at, c.id, err, at)
	}
	for _, bad := range []string{"!!", encodeCursor("x"), encodeCursor("1.x"), encodeCursor("-5")} {
		if _, err := parseActivityCursor(bad); inbox.ErrorCode(err) != inbox.EINVALID {
			t.Errorf("activity cursor %q: got %v, want EINVALID", bad, err)
		}
		if _, err := parseIDCursor(bad); inbox.ErrorCode(err) != inbox.EINVALID {
			t.Errorf("id cursor %q: got %v, want EINVALID", bad, err)
		}
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"Иван", "Иван"},
		{"a\x00b", "ab"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
	}
	for _, tt := range tests {
		if got := clean(tt.in); got != tt.want {
			t.Errorf("clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFileBatchLosesRaces drives the ON CONFLICT fallbacks that the person
// locks normally make unnecessary: a writer without them (LockPersons off)
// loses the race for a new person's identity, then for a conversation, to a
// transaction that commits while it waits. Each ends with one card and one
// conversation.
func TestFileBatchLosesRaces(t *testing.T) {
	s := openMigrated(t, DialectPostgres)
	s.q.LockPersons = ""
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := inbox.Identity{Kind: inbox.IdentityPhone, Value: "+79001234567"}
	env := func(key string, more ...inbox.Identity) inbox.Envelope {
		return inbox.Envelope{DedupeKey: key, ChannelID: "site", ChannelType: inbox.ChannelForm,
			From: inbox.Contact{Name: "Race", Identities: append([]inbox.Identity{p}, more...)}, Text: key}
	}
	e := inbox.Identity{Kind: inbox.IdentityEmail, Value: "race@example.com"}

	// race files b in the background while a's transaction is open and
	// commits a once b waits on the statement named by waitsOn.
	race := func(a, b inbox.Envelope, waitsOn string) ([]inbox.Filed, []inbox.Event, []inbox.Filed) {
		t.Helper()
		tx, err := s.db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		fa := newFiling(s, tx, []inbox.Envelope{a})
		if err := fa.run(ctx); err != nil {
			t.Fatalf("file a: %v", err)
		}
		type result struct {
			filed []inbox.Filed
			evs   []inbox.Event
			err   error
		}
		done := make(chan result, 1)
		go func() {
			filed, evs, err := s.FileBatch(ctx, []inbox.Envelope{b})
			done <- result{filed, evs, err}
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n int
			err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_activity
				WHERE wait_event_type = 'Lock' AND query LIKE $1`, waitsOn+"%")
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("b never waited on %q", waitsOn)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil {
			t.Fatalf("file b: %v", r.err)
		}
		return r.filed, r.evs, fa.filed
	}
	count := func(table string) int {
		var n int
		if err := s.db.GetContext(ctx, &n, "SELECT count(*) FROM "+table); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// 1. Both see a new person; b creates a card, loses the phone, moves
	// the email it won to a's card, drops its own and files into a's
	// conversation.
	fb, evs, fa := race(env("r1"), env("r2", e), "INSERT INTO identities")
	if fb[0].Dup || fb[0].Message.ConversationID != fa[0].Message.ConversationID {
		t.Errorf("b filed %+v, want a new message in conversation %d", fb[0], fa[0].Message.ConversationID)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	if want := []string{inbox.EventClientUpdated, inbox.EventMessageCreated}; !slices.Equal(types, want) {
		t.Errorf("b's events: %v, want %v", types, want)
	}
	if c, v := count("clients"), count("conversations"); c != 1 || v != 1 {
		t.Errorf("%d cards, %d conversations; want 1, 1", c, v)
	}
	conv, err := s.GetConversation(ctx, fa[0].Message.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := s.GetClient(ctx, conv.ClientID); err != nil || !slices.Equal(d.Identities, []inbox.Identity{p, e}) {
		t.Errorf("card identities = %v (%v), want %v", d.Identities, err, []inbox.Identity{p, e})
	}

	// 2. The card is known, its conversation closed: both open a new one,
	// b loses and files into a's.
	if _, err := s.db.ExecContext(ctx, `UPDATE conversations SET status = 'closed'`); err != nil {
		t.Fatal(err)
	}
	fb, _, fa = race(env("r3"), env("r4"), "INSERT INTO conversations")
	if fb[0].Message.ConversationID != fa[0].Message.ConversationID {
		t.Errorf("b filed into conversation %d, a into %d", fb[0].Message.ConversationID, fa[0].Message.ConversationID)
	}
	if c, v, m := count("clients"), count("conversations"), count("messages"); c != 1 || v != 2 || m != 4 {
		t.Errorf("%d cards, %d conversations, %d messages; want 1, 2, 4", c, v, m)
	}
	conv, err = s.GetConversation(ctx, fb[0].Message.ConversationID)
	if err != nil || conv.Unread != 2 || conv.Status != inbox.StatusOpen {
		t.Errorf("conversation = %+v, %v; want open with 2 unread", conv, err)
	}
}

// TestUnencodableEventFailsItsTransaction: an event whose payload cannot be
// encoded, or that names no audience, fails the transaction that wanted it;
// nothing half-formed is written for a socket to read.
func TestUnencodableEventFailsItsTransaction(t *testing.T) {
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			s := openMigrated(t, dialect)
			ctx := context.Background()
			bad := []inbox.PendingEvent{
				{Type: "test.bad", Data: map[string]any{"f": func() {}}, Audience: inbox.Audience{Kind: inbox.AudienceAdmins}},
				{Type: "test.nobody", Data: map[string]int{}, Audience: inbox.Audience{}},
			}
			for _, ev := range bad {
				err := s.inTx(ctx, func(tx *sqlx.Tx) error {
					if _, err := tx.ExecContext(ctx, s.q.InsertMigration, "marker-"+ev.Type, dbTime(s.now())); err != nil {
						return err
					}
					_, err := s.writeEvents(ctx, tx, s.now(), []inbox.PendingEvent{ev})
					return err
				})
				if err == nil {
					t.Errorf("%s: writing it succeeded", ev.Type)
				}
				var n int
				if err := s.db.GetContext(ctx, &n, s.q.MigrationApplied, "marker-"+ev.Type); err != nil || n != 0 {
					t.Errorf("%s: the transaction's other write survived (%d, %v)", ev.Type, n, err)
				}
			}
			if last, err := s.LastEventID(ctx); err != nil || last != 0 {
				t.Errorf("events after failed writes: last id %d, %v", last, err)
			}
		})
	}
}

// TestBigImportRefreshesStatistics: on PostgreSQL a big CSV import analyzes
// the card tables, so filing is not planned for the tables as they were.
func TestBigImportRefreshesStatistics(t *testing.T) {
	s := openMigrated(t, DialectPostgres)
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("name;phone\n")
	for i := range analyzeAfter {
		fmt.Fprintf(&b, "Клиент %d;+7916%07d\n", i, i)
	}
	if _, _, err := s.ImportClients(ctx, strings.NewReader(b.String()), inbox.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var analyzed bool
	err := s.db.GetContext(ctx, &analyzed, `SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables
		WHERE schemaname = current_schema() AND relname = 'clients'`)
	if err != nil || !analyzed {
		t.Errorf("clients not analyzed after importing %d cards (%v)", analyzeAfter, err)
	}
}

// TestNamedQuery: a named statement compiles once to the dialect's
// placeholders, a name used twice takes its value twice, and a name the
// parameters lack fails when the store opens, not when the statement runs.
func TestNamedQuery(t *testing.T) {
	type params struct {
		ID    int64  `db:"id"`
		Since string `db:"since"`
	}
	m := reflectx.NewMapperFunc("db", strings.ToLower)
	q := named[params](`SELECT id FROM t WHERE id = :id AND (a < :since OR b < :since) AND c = CAST(:id AS bigint)`)
	if err := q.compile(m, func(s string) string { return sqlx.Rebind(sqlx.DOLLAR, s) }); err != nil {
		t.Fatal(err)
	}
	if want := `SELECT id FROM t WHERE id = $1 AND (a < $2 OR b < $3) AND c = CAST($4 AS bigint)`; q.sql() != want {
		t.Errorf("compiled = %q, want %q", q.sql(), want)
	}
	if got := q.args(params{ID: 7, Since: "x"}); !reflect.DeepEqual(got, []any{int64(7), "x", "x", int64(7)}) {
		t.Errorf("args = %#v", got)
	}
	bad := named[params](`SELECT id FROM t WHERE id = :id AND owner = :owner`)
	if err := bad.compile(m, func(s string) string { return s }); err == nil {
		t.Error("a name the parameters lack compiled")
	}
}
