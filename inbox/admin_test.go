package inbox_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/leadhub/leadhub/inbox"
)

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name     string
		password string
		ok       bool
	}{
		{"empty", "", false},
		{"seven characters", "1234567", false},
		{"eight characters", "12345678", true},
		{"eight Cyrillic characters (16 bytes)", "пароль12", true},
		{"seven Cyrillic characters", "парольп", false},
		{"72 bytes", strings.Repeat("a", 72), true},
		{"73 bytes, which bcrypt would cut", strings.Repeat("a", 73), false},
		{"37 Cyrillic characters (74 bytes)", strings.Repeat("я", 37), false},
	}
	for _, tt := range tests {
		err := inbox.CheckPassword(tt.password)
		if (err == nil) != tt.ok {
			t.Errorf("%s: CheckPassword = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && inbox.ErrorCode(err) != inbox.EINVALID {
			t.Errorf("%s: code %s, want EINVALID", tt.name, inbox.ErrorCode(err))
		}
	}
}

// adminStore records what Admin hands the store.
type adminStore struct {
	hash  string
	patch inbox.OperatorPatch
	token inbox.APIToken
}

func (s *adminStore) AddOperator(_ context.Context, _ int64, op inbox.Operator, hash string, teams []string) (inbox.OperatorDetail, []inbox.Event, error) {
	s.hash = hash
	return inbox.OperatorDetail{Operator: op, Teams: teams}, nil, nil
}

func (s *adminStore) UpdateOperator(_ context.Context, _, id int64, p inbox.OperatorPatch) (inbox.OperatorDetail, []inbox.Event, error) {
	s.patch = p
	return inbox.OperatorDetail{Operator: inbox.Operator{ID: id}}, nil, nil
}

func (s *adminStore) CreateScopedToken(_ context.Context, _ int64, t inbox.APIToken, hash string) (inbox.APIToken, error) {
	s.token = t
	s.hash = hash
	return t, nil
}

func TestAdmin(t *testing.T) {
	ctx := context.Background()
	st := &adminStore{}
	a := inbox.NewAdmin(st, bcrypt.MinCost)

	// No password: one is generated, meets the rules, and only its hash
	// reaches the store.
	d, generated, _, err := a.AddOperator(ctx, 1, inbox.NewOperator{Email: "a@example.com"})
	if err != nil || d.Role != inbox.RoleOperator || inbox.CheckPassword(generated) != nil {
		t.Fatalf("AddOperator = %+v %q %v", d, generated, err)
	}
	if st.hash == generated || bcrypt.CompareHashAndPassword([]byte(st.hash), []byte(generated)) != nil {
		t.Errorf("stored %q is not the bcrypt hash of the generated password", st.hash)
	}
	if cost, _ := bcrypt.Cost([]byte(st.hash)); cost != bcrypt.MinCost {
		t.Errorf("hash cost %d, want %d", cost, bcrypt.MinCost)
	}
	// A given password is not echoed back as generated.
	if _, generated, _, err := a.AddOperator(ctx, 1, inbox.NewOperator{Email: "b@example.com", Password: "long enough"}); err != nil || generated != "" {
		t.Errorf("AddOperator with a password: generated %q, %v", generated, err)
	}
	st.hash = ""
	for _, in := range []inbox.NewOperator{
		{Email: "c@example.com", Password: "short"},
		{Email: "c@example.com", Role: "boss", Password: "long enough"},
	} {
		if _, _, _, err := a.AddOperator(ctx, 1, in); inbox.ErrorCode(err) != inbox.EINVALID || st.hash != "" {
			t.Errorf("AddOperator(%+v) = %v, stored %q; want EINVALID and nothing stored", in, err, st.hash)
		}
	}

	p := "новый пароль"
	if _, _, err := a.UpdateOperator(ctx, 1, 7, inbox.OperatorChange{Password: &p}); err != nil {
		t.Fatal(err)
	}
	if st.patch.PasswordHash == nil || bcrypt.CompareHashAndPassword([]byte(*st.patch.PasswordHash), []byte(p)) != nil {
		t.Errorf("UpdateOperator stored %v, not the password's hash", st.patch.PasswordHash)
	}
	short := "short"
	if _, _, err := a.UpdateOperator(ctx, 1, 7, inbox.OperatorChange{Password: &short}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("UpdateOperator with a short password: %v", err)
	}
	if _, _, err := a.UpdateOperator(ctx, 1, 7, inbox.OperatorChange{}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("UpdateOperator with nothing to change: %v", err)
	}

	tok, token, err := a.CreateToken(ctx, 1, inbox.APIToken{OperatorID: 7})
	if err != nil || tok.Scope != inbox.ScopeWrite || !strings.HasPrefix(token, "lh_") || st.hash != inbox.HashToken(token) {
		t.Errorf("CreateToken = %+v %q %v; stored hash %q", tok, token, err, st.hash)
	}
	if _, _, err := a.CreateToken(ctx, 1, inbox.APIToken{OperatorID: 7, Scope: "root"}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("CreateToken with scope root: %v", err)
	}
}
