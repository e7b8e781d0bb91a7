package inbox

import (
	"context"
	"crypto/rand"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password rules. Every door that sets a password (the admin API, the
// command line) goes through Admin, so an operator's password is held to
// these whichever way it was set.
const (
	// MinPasswordLen is counted in characters, so that a Cyrillic
	// password is not held to half the length of a Latin one.
	MinPasswordLen = 8
	// MaxPasswordLen is counted in bytes: bcrypt ignores everything after
	// the 72nd, and a password that is silently cut is worse than one that
	// is refused.
	MaxPasswordLen = 72
	// DefaultPasswordCost is the bcrypt cost of stored passwords; tests
	// pass bcrypt.MinCost to stay fast.
	DefaultPasswordCost = bcrypt.DefaultCost
)

// CheckPassword refuses a password outside the bounds above (EINVALID).
func CheckPassword(p string) error {
	if utf8.RuneCountInString(p) < MinPasswordLen || len(p) > MaxPasswordLen {
		return Errorf(EINVALID, "a password has at least %d characters and at most %d bytes", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// GeneratePassword makes a password for an operator created without one.
// It is shown once to whoever created the operator, so it avoids letters
// that are easy to misread (l/1, O/0).
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// AdminStore is what the admin use cases need from the database. Each
// method is one transaction that writes the change, its audit entry and its
// events together, on behalf of actorID (0: the command line).
type AdminStore interface {
	AddOperator(ctx context.Context, actorID int64, op Operator, passwordHash string, teams []string) (OperatorDetail, []Event, error)
	UpdateOperator(ctx context.Context, actorID, id int64, p OperatorPatch) (OperatorDetail, []Event, error)
	CreateScopedToken(ctx context.Context, actorID int64, t APIToken, tokenHash string) (APIToken, error)
}

// Admin holds the admin actions that need more than one store call's worth
// of rules: creating and changing operators (passwords above all) and
// minting API tokens. The API and the command line both call it, so that
// both doors check, hash, audit and announce the same way. Actions that
// are a single store transaction with nothing around it (teams, revoking
// tokens and sessions) are called on the store directly by both doors.
type Admin struct {
	store AdminStore
	cost  int
}

// NewAdmin returns the admin use cases over store. passwordCost is the
// bcrypt cost of the passwords it sets; outside bcrypt's bounds (0
// included) it is DefaultPasswordCost.
func NewAdmin(store AdminStore, passwordCost int) *Admin {
	if passwordCost < bcrypt.MinCost || passwordCost > bcrypt.MaxCost {
		passwordCost = DefaultPasswordCost
	}
	return &Admin{store: store, cost: passwordCost}
}

// NewOperator is an operator to create. An empty Role is RoleOperator; an
// empty Password has one generated.
type NewOperator struct {
	Email    string
	Name     string
	Role     Role
	Password string
	Teams    []string
}

// AddOperator creates an operator on behalf of actorID. It returns the
// operator, the password it generated ("" when one was given: it is the
// caller's to show once), and the events it wrote. A bad role, password,
// email or team is EINVALID; an email taken already ECONFLICT.
func (a *Admin) AddOperator(ctx context.Context, actorID int64, in NewOperator) (OperatorDetail, string, []Event, error) {
	if in.Role == "" {
		in.Role = RoleOperator
	}
	if !in.Role.Valid() {
		return OperatorDetail{}, "", nil, Errorf(EINVALID, "role must be admin, supervisor or operator")
	}
	generated := ""
	if in.Password == "" {
		generated = GeneratePassword()
		in.Password = generated
	}
	hash, err := a.hash(in.Password)
	if err != nil {
		return OperatorDetail{}, "", nil, err
	}
	d, evs, err := a.store.AddOperator(ctx, actorID, Operator{Email: in.Email, Name: in.Name, Role: in.Role}, hash, in.Teams)
	if err != nil {
		return OperatorDetail{}, "", nil, err
	}
	return d, generated, evs, nil
}

// OperatorChange changes an operator; nil fields stay as they are.
// Password is the new password in clear: Admin checks and hashes it.
type OperatorChange struct {
	Name     *string
	Role     *Role
	Disabled *bool
	Teams    *[]string
	Password *string
}

// UpdateOperator changes an operator on behalf of actorID (see
// AdminStore's UpdateOperator for what disabling and a new password end).
// A change of nothing, a bad role or a bad password is EINVALID.
func (a *Admin) UpdateOperator(ctx context.Context, actorID, id int64, c OperatorChange) (OperatorDetail, []Event, error) {
	if c.Name == nil && c.Role == nil && c.Disabled == nil && c.Teams == nil && c.Password == nil {
		return OperatorDetail{}, nil, Errorf(EINVALID, "nothing to change")
	}
	if c.Role != nil && !c.Role.Valid() {
		return OperatorDetail{}, nil, Errorf(EINVALID, "role must be admin, supervisor or operator")
	}
	p := OperatorPatch{Name: c.Name, Role: c.Role, Disabled: c.Disabled, Teams: c.Teams}
	if c.Password != nil {
		hash, err := a.hash(*c.Password)
		if err != nil {
			return OperatorDetail{}, nil, err
		}
		p.PasswordHash = &hash
	}
	return a.store.UpdateOperator(ctx, actorID, id, p)
}

// CreateToken mints an API token for t.OperatorID with t.Name and t.Scope
// (empty: ScopeWrite) on behalf of actorID. It returns the stored token and
// the token itself, which only its hash is kept of: the caller shows it
// once. Whether the actor may mint that scope is the caller's to decide.
func (a *Admin) CreateToken(ctx context.Context, actorID int64, t APIToken) (APIToken, string, error) {
	if t.Scope == "" {
		t.Scope = ScopeWrite
	}
	if !t.Scope.Valid() {
		return APIToken{}, "", Errorf(EINVALID, "scope must be read, write or admin")
	}
	token, hash := NewToken()
	stored, err := a.store.CreateScopedToken(ctx, actorID, t, hash)
	if err != nil {
		return APIToken{}, "", err
	}
	return stored, token, nil
}

// hash checks a password against the rules and returns its bcrypt hash.
func (a *Admin) hash(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), a.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}
