package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestSecuritySQLite(t *testing.T) {
	runSecurity(t, func(t *testing.T) *store.Store { return storetest.Open(t, store.DialectSQLite) })
}

func TestSecurityPostgres(t *testing.T) {
	runSecurity(t, func(t *testing.T) *store.Store { return storetest.Open(t, store.DialectPostgres) })
}

func runSecurity(t *testing.T, open func(t *testing.T) *store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"Scope", testScope},
		{"Sessions", testSessions},
		{"ScopedTokens", testScopedTokens},
		{"LoginLockout", testLoginLockout},
		{"Unlock", testUnlock},
		{"OperatorsAndTeams", testOperatorsAndTeams},
		{"DisableEndsCredentials", testDisableEndsCredentials},
		{"AuditList", testAuditList},
		{"SyncChannels", testSyncChannels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

func addOperator(t *testing.T, s *store.Store, email string, role inbox.Role, teams ...string) inbox.OperatorDetail {
	t.Helper()
	d, _, err := s.AddOperator(ctxT(t), 0, inbox.Operator{Email: email, Role: role}, "hash", teams)
	if err != nil {
		t.Fatalf("AddOperator %s: %v", email, err)
	}
	return d
}

func addTeam(t *testing.T, s *store.Store, name string) inbox.Team {
	t.Helper()
	team, _, err := s.CreateTeam(ctxT(t), 0, name)
	if err != nil {
		t.Fatalf("CreateTeam %s: %v", name, err)
	}
	return team
}

// testScope: an operator in team sales sees their own conversations
// anywhere and the unassigned ones outside support's channel; lists,
// searches and the visibility checks agree.
func testScope(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	addTeam(t, s, "sales")
	addTeam(t, s, "support")
	olga := addOperator(t, s, "olga@example.com", inbox.RoleOperator, "sales")
	petr := addOperator(t, s, "petr@example.com", inbox.RoleOperator, "support")

	filed, _ := file(t, s,
		envelope("k1", "shop", "Анна Продажина", "a", phone("+79120000001")),   // sales channel, unassigned
		envelope("k2", "help", "Борис Поддержкин", "b", phone("+79120000002")), // support channel, unassigned
		envelope("k3", "site", "Вера Общая", "c", phone("+79120000003")),       // no team, unassigned
		envelope("k4", "help", "Глеб Назначенный", "d", phone("+79120000004")), // support channel, assigned to olga
		envelope("k5", "shop", "Дина Чужая", "e", phone("+79120000005")),       // sales channel, assigned to petr
		envelope("k6", "help", "Анна Продажина", "f", phone("+79120000001")),   // Анна also wrote to support
	)
	conv := func(i int) inbox.Conversation {
		c, err := s.GetConversation(ctx, filed[i].Message.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	assign := func(i int, op int64) {
		if _, _, err := s.UpdateConversation(ctx, conv(i).ID, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &op}); err != nil {
			t.Fatal(err)
		}
	}
	assign(3, olga.ID)
	assign(4, petr.ID)

	olgaScope := inbox.Scope{OperatorID: olga.ID, HiddenChannels: []string{"help"}}
	want := []int64{conv(0).ID, conv(2).ID, conv(3).ID}
	slices.Sort(want)

	list, _, err := s.ListConversations(ctx, inbox.ConversationFilter{Scope: &olgaScope})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, c := range list {
		got = append(got, c.ID)
		if !olgaScope.Sees(c) {
			t.Errorf("listed conversation %d, which the scope does not see", c.ID)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("olga lists conversations %v, want %v", got, want)
	}
	// k1 and k6 are one card in two channels: two conversations.
	if all, _, _ := s.ListConversations(ctx, inbox.ConversationFilter{}); len(all) != 6 {
		t.Errorf("unscoped list has %d conversations, want 6", len(all))
	}

	ids := []int64{conv(0).ID, conv(1).ID, conv(2).ID, conv(3).ID, conv(4).ID, 999999}
	vis, err := s.VisibleConversations(ctx, olgaScope, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		wantVis := i == 0 || i == 2 || i == 3
		if vis[id] != wantVis {
			t.Errorf("conversation %d (#%d) visible = %v, want %v", id, i, vis[id], wantVis)
		}
	}

	// Cards: Анна (has a visible conversation in shop), Вера, Глеб.
	clientIDs := []int64{conv(0).ClientID, conv(1).ClientID, conv(2).ClientID, conv(3).ClientID, conv(4).ClientID}
	cvis, err := s.VisibleClients(ctx, olgaScope, clientIDs)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range clientIDs {
		wantVis := i == 0 || i == 2 || i == 3
		if cvis[id] != wantVis {
			t.Errorf("client %d (#%d) visible = %v, want %v", id, i, cvis[id], wantVis)
		}
	}
	all, err := s.VisibleClients(ctx, inbox.Scope{All: true}, clientIDs)
	if err != nil || len(all) != len(clientIDs) {
		t.Errorf("All scope sees %d of %d clients (%v)", len(all), len(clientIDs), err)
	}

	for _, q := range []string{"", "а", "+7912000000", "0002", "борис"} {
		cards, _, err := s.ListVisibleClients(ctx, olgaScope, q, "", 50)
		if err != nil {
			t.Fatalf("ListVisibleClients(%q): %v", q, err)
		}
		for _, c := range cards {
			if !cvis[c.ID] {
				t.Errorf("search %q found client %d (%s), which olga does not see", q, c.ID, c.Name)
			}
		}
		if q == "" && len(cards) != 3 {
			t.Errorf("olga lists %d cards, want 3", len(cards))
		}
	}
	// Paging through the scoped list finds each visible card once.
	var seen []int64
	cursor := ""
	for range 10 {
		page, next, err := s.ListVisibleClients(ctx, olgaScope, "", cursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			seen = append(seen, c.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 3 {
		t.Errorf("paging found cards %v, want 3", seen)
	}
}

func testSessions(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	op := addOperator(t, s, "olga@example.com", inbox.RoleOperator)
	other := addOperator(t, s, "petr@example.com", inbox.RoleOperator)
	mk := func(hash string, expires time.Time) inbox.Session {
		sess, err := s.CreateSession(ctx, inbox.Session{OperatorID: op.ID, CSRFToken: "csrf-" + hash, IP: "10.0.0.1",
			UserAgent: "Mozilla/5.0", ExpiresAt: expires}, hash)
		if err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		return sess
	}
	a := mk("hash-a", time.Now().Add(time.Hour))
	b := mk("hash-b", time.Now().Add(time.Hour))
	mk("hash-old", time.Now().Add(-time.Minute)) // expired already

	gotOp, got, err := s.SessionByToken(ctx, "hash-a")
	if err != nil || gotOp.ID != op.ID || got.ID != a.ID || got.CSRFToken != "csrf-hash-a" || got.IP != "10.0.0.1" {
		t.Fatalf("SessionByToken = %+v %+v, %v", gotOp, got, err)
	}
	_, _, err = s.SessionByToken(ctx, "hash-old")
	wantCode(t, "expired session", err, inbox.ENOTFOUND)
	_, _, err = s.SessionByToken(ctx, "nope")
	wantCode(t, "unknown session", err, inbox.ENOTFOUND)

	// Touching is skipped within a minute of the last use, written after.
	if wrote, err := s.TouchSession(ctx, got, time.Now().Add(2*time.Hour)); err != nil || wrote {
		t.Errorf("TouchSession right after sign-in wrote=%v err=%v, want a no-op", wrote, err)
	}
	got.LastSeenAt = got.LastSeenAt.Add(-2 * time.Minute)
	if wrote, err := s.TouchSession(ctx, got, time.Now().Add(2*time.Hour)); err != nil || !wrote {
		t.Errorf("TouchSession after two minutes wrote=%v err=%v", wrote, err)
	}
	if _, moved, _ := s.SessionByToken(ctx, "hash-a"); !moved.ExpiresAt.After(a.ExpiresAt) {
		t.Errorf("expiry %v did not move past %v", moved.ExpiresAt, a.ExpiresAt)
	}

	list, err := s.ListSessions(ctx, op.ID)
	if err != nil || len(list) != 2 || list[0].ID != b.ID {
		t.Fatalf("ListSessions = %+v, %v; want b then a", list, err)
	}
	_, _, err = s.RevokeSession(ctx, other.ID, other.ID, a.ID)
	wantCode(t, "revoking someone else's session", err, inbox.ENOTFOUND)
	owner, evs, err := s.RevokeSession(ctx, op.ID, op.ID, a.ID)
	if err != nil || owner != op.ID || !slices.Equal(eventTypes(evs), []string{inbox.EventCredentialsRevoked}) {
		t.Fatalf("RevokeSession = %d %v, %v", owner, eventTypes(evs), err)
	}
	_, _, err = s.SessionByToken(ctx, "hash-a")
	wantCode(t, "revoked session", err, inbox.ENOTFOUND)

	mk("hash-c", time.Now().Add(time.Hour))
	n, _, err := s.RevokeSessions(ctx, op.ID, op.ID, 0)
	if err != nil || n != 2 {
		t.Fatalf("RevokeSessions = %d, %v; want 2", n, err)
	}
	if list, _ := s.ListSessions(ctx, op.ID); len(list) != 0 {
		t.Errorf("%d sessions left after log out everywhere", len(list))
	}
}

func testScopedTokens(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	admin := addOperator(t, s, "admin@example.com", inbox.RoleAdmin)
	op := addOperator(t, s, "olga@example.com", inbox.RoleOperator)

	_, err := s.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: op.ID, Scope: inbox.ScopeAdmin}, "h-x")
	wantCode(t, "admin token for an operator", err, inbox.EINVALID)
	_, err = s.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: op.ID, Scope: "root"}, "h-y")
	wantCode(t, "unknown scope", err, inbox.EINVALID)
	_, err = s.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: 99999, Scope: inbox.ScopeRead}, "h-z")
	wantCode(t, "unknown operator", err, inbox.ENOTFOUND)

	read, err := s.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: op.ID, Name: "report", Scope: inbox.ScopeRead}, "h-read")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateScopedToken(ctx, admin.ID, inbox.APIToken{OperatorID: admin.ID, Scope: inbox.ScopeAdmin}, "h-admin"); err != nil {
		t.Fatal(err)
	}
	gotOp, tok, err := s.TokenByHash(ctx, "h-read")
	if err != nil || gotOp.ID != op.ID || tok.ID != read.ID || tok.Scope != inbox.ScopeRead || tok.Name != "report" || tok.LastUsedAt == nil {
		t.Fatalf("TokenByHash = %+v %+v, %v", gotOp, tok, err)
	}
	// Tokens made before scopes existed can write.
	if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`INSERT INTO api_tokens (operator_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`),
		op.ID, "old", "h-old", time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	if _, tok, _ := s.TokenByHash(ctx, "h-old"); tok.Scope != inbox.ScopeWrite {
		t.Errorf("unscoped token has scope %q, want write", tok.Scope)
	}
	list, err := s.ListTokens(ctx, op.ID)
	if err != nil || len(list) != 2 || list[0].ID != read.ID || list[0].LastUsedAt == nil {
		t.Fatalf("ListTokens = %+v, %v", list, err)
	}
	_, _, err = s.RevokeToken(ctx, admin.ID, admin.ID, read.ID)
	wantCode(t, "revoking someone else's token as its owner", err, inbox.ENOTFOUND)
	if _, _, err := s.RevokeToken(ctx, admin.ID, 0, read.ID); err != nil {
		t.Fatalf("admin revokes: %v", err)
	}
	_, _, err = s.TokenByHash(ctx, "h-read")
	wantCode(t, "revoked token", err, inbox.ENOTFOUND)
}

func testLoginLockout(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	keys := []string{inbox.LoginAccountKey("olga@example.com"), inbox.LoginAddressKey("10.0.0.1")}
	for i := 1; i <= 4; i++ {
		until, err := s.LoginFailed(ctx, keys[0], 5, time.Hour, 15*time.Minute)
		if err != nil || !until.IsZero() {
			t.Fatalf("failure %d locked until %v (%v)", i, until, err)
		}
	}
	if until, _ := s.LoginLockedUntil(ctx, keys); !until.IsZero() {
		t.Fatalf("locked after 4 failures, until %v", until)
	}
	until, err := s.LoginFailed(ctx, keys[0], 5, time.Hour, 15*time.Minute)
	if err != nil || until.Before(time.Now().Add(14*time.Minute)) {
		t.Fatalf("fifth failure: locked until %v (%v), want ~15 min from now", until, err)
	}
	got, err := s.LoginLockedUntil(ctx, keys)
	if err != nil || !got.Equal(until) {
		t.Fatalf("LoginLockedUntil = %v, %v; want %v", got, err, until)
	}
	if err := s.LoginSucceeded(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoginLockedUntil(ctx, keys); !got.IsZero() {
		t.Errorf("still locked after the failures were forgotten: %v", got)
	}
	// Failures older than the window are forgotten: with a zero window
	// every failure is the first.
	for range 10 {
		if until, err := s.LoginFailed(ctx, keys[1], 3, 0, time.Minute); err != nil || !until.IsZero() {
			t.Fatalf("failures outside the window locked until %v (%v)", until, err)
		}
	}
}

// testUnlock: an admin's unlock ends an operator's or an address's lockout
// at once, and is audited; the table never holds the typed email.
func testUnlock(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	admin := addOperator(t, s, "admin@example.com", inbox.RoleAdmin)
	olga := addOperator(t, s, "olga@example.com", inbox.RoleOperator)
	account, addr := inbox.LoginAccountKey(" Olga@Example.com"), inbox.LoginAddressKey("198.51.100.7")
	for _, key := range []string{account, addr} {
		if until, err := s.LoginFailed(ctx, key, 1, time.Hour, time.Hour); err != nil || until.IsZero() {
			t.Fatalf("lock %s: %v %v", key, until, err)
		}
	}
	var typed int
	if err := s.DB().GetContext(ctx, &typed, `SELECT count(*) FROM login_failures WHERE key LIKE '%olga%'`); err != nil || typed != 0 {
		t.Errorf("%d login_failures rows carry the typed email (%v)", typed, err)
	}
	cleared, err := s.UnlockOperator(ctx, admin.ID, olga.ID)
	if err != nil || !cleared {
		t.Fatalf("UnlockOperator = %v, %v", cleared, err)
	}
	if until, _ := s.LoginLockedUntil(ctx, []string{account}); !until.IsZero() {
		t.Errorf("account still locked until %v", until)
	}
	if cleared, err := s.UnlockOperator(ctx, 0, olga.ID); err != nil || cleared {
		t.Errorf("second unlock = %v, %v; want nothing to clear", cleared, err)
	}
	_, err = s.UnlockOperator(ctx, 0, 999999)
	wantCode(t, "unknown operator", err, inbox.ENOTFOUND)

	_, err = s.UnlockAddress(ctx, 0, "not an address")
	wantCode(t, "bad address", err, inbox.EINVALID)
	if until, _ := s.LoginLockedUntil(ctx, []string{addr}); until.IsZero() {
		t.Fatal("address not locked before its unlock")
	}
	if cleared, err := s.UnlockAddress(ctx, admin.ID, "::ffff:198.51.100.7"); err != nil || !cleared {
		t.Fatalf("UnlockAddress (IPv4-mapped) = %v, %v", cleared, err)
	}
	if until, _ := s.LoginLockedUntil(ctx, []string{addr}); !until.IsZero() {
		t.Errorf("address still locked until %v", until)
	}
	entries, _, err := s.ListAudit(ctx, inbox.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	want := []string{"login.unlock", "operator.unlock", "operator.unlock"}
	if !slices.Equal(actions[:3], want) || !strings.Contains(string(entries[0].Detail), `"ip":"198.51.100.7"`) ||
		entries[2].OperatorID == nil || *entries[2].OperatorID != admin.ID || entries[2].EntityID != olga.ID {
		t.Errorf("audit = %v, newest %s; want %v", actions, entries[0].Detail, want)
	}
}

func testOperatorsAndTeams(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	_, _, err := s.CreateTeam(ctx, 0, "Sales Team")
	wantCode(t, "team name with spaces", err, inbox.EINVALID)
	sales := addTeam(t, s, "sales")
	_, _, err = s.CreateTeam(ctx, 0, "sales")
	wantCode(t, "team twice", err, inbox.ECONFLICT)
	addTeam(t, s, "support")

	_, _, err = s.AddOperator(ctx, 0, inbox.Operator{Email: "x@example.com", Role: inbox.RoleOperator}, "h", []string{"nope"})
	wantCode(t, "unknown team", err, inbox.EINVALID)
	_, _, err = s.AddOperator(ctx, 0, inbox.Operator{Email: "not-an-email", Role: inbox.RoleOperator}, "h", nil)
	wantCode(t, "bad email", err, inbox.EINVALID)
	admin := addOperator(t, s, "admin@example.com", inbox.RoleAdmin)
	op := addOperator(t, s, " Olga@Example.com ", inbox.RoleOperator, "support", "sales", "sales")
	if op.Email != "olga@example.com" || !slices.Equal(op.Teams, []string{"sales", "support"}) {
		t.Fatalf("AddOperator = %+v", op)
	}
	_, _, err = s.AddOperator(ctx, 0, inbox.Operator{Email: "olga@example.com", Role: inbox.RoleOperator}, "h", nil)
	wantCode(t, "email twice", err, inbox.ECONFLICT)

	sup := inbox.RoleSupervisor
	name := "Ольга"
	teams := []string{"support"}
	d, evs, err := s.UpdateOperator(ctx, admin.ID, op.ID, inbox.OperatorPatch{Role: &sup, Name: &name, Teams: &teams})
	if err != nil || d.Role != sup || d.Name != name || !slices.Equal(d.Teams, teams) ||
		!slices.Equal(eventTypes(evs), []string{inbox.EventOperatorUpdated}) {
		t.Fatalf("UpdateOperator = %+v %v, %v", d, eventTypes(evs), err)
	}
	if got, _ := s.OperatorTeams(ctx, op.ID); !slices.Equal(got, teams) {
		t.Errorf("OperatorTeams = %v", got)
	}

	// The last admin stays an admin.
	opRole := inbox.RoleOperator
	_, _, err = s.UpdateOperator(ctx, admin.ID, admin.ID, inbox.OperatorPatch{Role: &opRole})
	wantCode(t, "demote the last admin", err, inbox.ECONFLICT)
	off := true
	_, _, err = s.UpdateOperator(ctx, admin.ID, admin.ID, inbox.OperatorPatch{Disabled: &off})
	wantCode(t, "disable the last admin", err, inbox.ECONFLICT)
	_, _, err = s.UpdateOperator(ctx, admin.ID, 99999, inbox.OperatorPatch{Name: &name})
	wantCode(t, "unknown operator", err, inbox.ENOTFOUND)

	all, err := s.ListOperators(ctx)
	if err != nil || len(all) != 2 || all[0].ID != admin.ID || all[0].Teams == nil {
		t.Fatalf("ListOperators = %+v, %v", all, err)
	}
	listed, err := s.ListTeams(ctx)
	if err != nil || len(listed) != 2 || listed[0].Name != "sales" || len(listed[0].Members) != 0 ||
		!slices.Equal(listed[1].Members, []int64{op.ID}) {
		t.Fatalf("ListTeams = %+v, %v", listed, err)
	}
	if _, err := s.DeleteTeam(ctx, admin.ID, sales.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.DeleteTeam(ctx, admin.ID, sales.ID)
	wantCode(t, "delete twice", err, inbox.ENOTFOUND)
}

func testDisableEndsCredentials(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	admin := addOperator(t, s, "admin@example.com", inbox.RoleAdmin)
	op := addOperator(t, s, "olga@example.com", inbox.RoleOperator)
	if _, err := s.CreateSession(ctx, inbox.Session{OperatorID: op.ID, CSRFToken: "c", ExpiresAt: time.Now().Add(time.Hour)}, "sess"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: op.ID, Scope: inbox.ScopeWrite}, "tok"); err != nil {
		t.Fatal(err)
	}
	off := true
	d, _, err := s.UpdateOperator(ctx, admin.ID, op.ID, inbox.OperatorPatch{Disabled: &off})
	if err != nil || !d.Disabled {
		t.Fatalf("disable: %+v, %v", d, err)
	}
	_, _, err = s.SessionByToken(ctx, "sess")
	wantCode(t, "session of a disabled operator", err, inbox.ENOTFOUND)
	_, _, err = s.TokenByHash(ctx, "tok")
	wantCode(t, "token of a disabled operator", err, inbox.ENOTFOUND)
	// Enabling again does not bring them back: they were deleted.
	on := false
	if _, _, err := s.UpdateOperator(ctx, admin.ID, op.ID, inbox.OperatorPatch{Disabled: &on}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SessionByToken(ctx, "sess")
	wantCode(t, "session after re-enabling", err, inbox.ENOTFOUND)
	_, _, err = s.TokenByHash(ctx, "tok")
	wantCode(t, "token after re-enabling", err, inbox.ENOTFOUND)
	if n := count(t, s, "sessions") + count(t, s, "api_tokens"); n != 0 {
		t.Errorf("%d sessions and tokens left", n)
	}

	// A new password ends sessions but keeps tokens.
	if _, err := s.CreateSession(ctx, inbox.Session{OperatorID: op.ID, CSRFToken: "c", ExpiresAt: time.Now().Add(time.Hour)}, "sess2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: op.ID, Scope: inbox.ScopeWrite}, "tok2"); err != nil {
		t.Fatal(err)
	}
	hash := "new-hash"
	if _, _, err := s.UpdateOperator(ctx, admin.ID, op.ID, inbox.OperatorPatch{PasswordHash: &hash}); err != nil {
		t.Fatal(err)
	}
	if _, h, _ := s.OperatorByEmail(ctx, "olga@example.com"); h != hash {
		t.Errorf("password hash = %q", h)
	}
	_, _, err = s.SessionByToken(ctx, "sess2")
	wantCode(t, "session after a new password", err, inbox.ENOTFOUND)
	if _, _, err := s.TokenByHash(ctx, "tok2"); err != nil {
		t.Errorf("token after a new password: %v", err)
	}
}

func testAuditList(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	admin := addOperator(t, s, "admin@example.com", inbox.RoleAdmin)
	for i := range 5 {
		if err := s.Audit(ctx, admin.ID, "client.view", "client", int64(i%2+1), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Audit(ctx, 0, "login.failed", "operator", 0, map[string]any{"ip": "10.0.0.9"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		f    inbox.AuditFilter
		want int
	}{
		{inbox.AuditFilter{}, 7}, // and operator.create of the admin
		{inbox.AuditFilter{Entity: "client"}, 5},
		{inbox.AuditFilter{Entity: "client", EntityID: 1}, 3},
		{inbox.AuditFilter{OperatorID: admin.ID}, 5},
		{inbox.AuditFilter{Action: "login.failed"}, 1},
		{inbox.AuditFilter{Entity: "team"}, 0},
	}
	for _, tt := range tests {
		got, next, err := s.ListAudit(ctx, tt.f)
		if err != nil || len(got) != tt.want || next != "" {
			t.Errorf("ListAudit(%+v) = %d entries, next %q, %v; want %d", tt.f, len(got), next, err, tt.want)
		}
	}
	var ids []int64
	cursor := ""
	for {
		page, next, err := s.ListAudit(ctx, inbox.AuditFilter{Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			ids = append(ids, e.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(ids) != 7 || !slices.IsSortedFunc(ids, func(a, b int64) int { return int(b - a) }) {
		t.Errorf("paged audit ids %v, want 7 newest first", ids)
	}
	_, _, err := s.ListAudit(ctx, inbox.AuditFilter{Cursor: "!!"})
	wantCode(t, "bad cursor", err, inbox.EINVALID)
}

func testSyncChannels(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	crm := inbox.ChannelConfig{ID: "crm", Type: inbox.ChannelAPI, Fingerprint: "f1"}
	tg := inbox.ChannelConfig{ID: "tg", Type: inbox.ChannelTelegram, Team: "support", Fingerprint: "f2"}
	actions := func(chans ...inbox.ChannelConfig) []string {
		t.Helper()
		entries, err := s.SyncChannels(ctx, chans)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Action)
		}
		return out
	}
	if got := actions(crm, tg); !slices.Equal(got, []string{"channel.add", "channel.add"}) {
		t.Errorf("first start: %v", got)
	}
	if got := actions(crm, tg); len(got) != 0 {
		t.Errorf("same configuration again: %v", got)
	}
	tg.Team, crm.Fingerprint = "sales", "f1b"
	if got := actions(crm, tg); !slices.Equal(got, []string{"channel.change", "channel.change"}) {
		t.Errorf("changed team and settings: %v", got)
	}
	if got := actions(tg); !slices.Equal(got, []string{"channel.remove"}) {
		t.Errorf("removed crm: %v", got)
	}
	entries, _, err := s.ListAudit(ctx, inbox.AuditFilter{Entity: "channel"})
	if err != nil || len(entries) != 5 || entries[0].OperatorID != nil {
		t.Fatalf("channel audit = %+v, %v", entries, err)
	}
	if d := string(entries[1].Detail); !strings.Contains(d, `"changed":["team"]`) || !strings.Contains(d, `"team_was":"support"`) {
		t.Errorf("team change detail %s", d)
	}
}
