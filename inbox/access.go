package inbox

import (
	"slices"
	"time"
)

// Scope is what one operator may see. Admins and supervisors see
// everything (All). An operator sees the conversations assigned to them,
// and the unassigned ones in every channel that is not hidden from them: a
// channel is hidden when it belongs to a team the operator is not in
// (channels without a team are everyone's). A client card is visible when
// one of its conversations is.
type Scope struct {
	All        bool
	OperatorID int64
	// HiddenChannels are the ids of the channels of other teams.
	HiddenChannels []string
}

// Sees reports whether the scope lets its operator see c.
func (s Scope) Sees(c Conversation) bool {
	return s.SeesPlace(c.Place())
}

// SeesPlace reports whether the scope lets its operator see a conversation
// in place p.
func (s Scope) SeesPlace(p ConversationPlace) bool {
	if s.All {
		return true
	}
	if p.AssigneeID != 0 {
		return p.AssigneeID == s.OperatorID
	}
	return !slices.Contains(s.HiddenChannels, p.ChannelID)
}

// Rank orders roles by what they may do: operator < supervisor < admin.
// An unknown role ranks below all of them.
func (r Role) Rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleSupervisor:
		return 2
	case RoleOperator:
		return 1
	}
	return 0
}

// TokenScope limits what an API token may do, whatever its operator's role.
type TokenScope string

const (
	ScopeRead  TokenScope = "read"  // GET only
	ScopeWrite TokenScope = "write" // everything the role allows but admin routes
	ScopeAdmin TokenScope = "admin" // everything the role allows; admins only
)

// Valid reports whether s is a known scope.
func (s TokenScope) Valid() bool { return s == ScopeRead || s == ScopeWrite || s == ScopeAdmin }

// Rank orders scopes: read < write < admin; unknown ranks below all.
func (s TokenScope) Rank() int {
	switch s {
	case ScopeAdmin:
		return 3
	case ScopeWrite:
		return 2
	case ScopeRead:
		return 1
	}
	return 0
}

// APIToken describes an API token. The token itself is shown once when it
// is created and never stored; only its hash is.
type APIToken struct {
	ID         int64      `json:"id"`
	OperatorID int64      `json:"operator_id"`
	Name       string     `json:"name"`
	Scope      TokenScope `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// Session is a signed-in browser. Its cookie value is stored hashed; the
// CSRF token the page sends with every change is never listed.
type Session struct {
	ID         int64     `json:"id"`
	OperatorID int64     `json:"operator_id"`
	CSRFToken  string    `json:"-"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Team is a group of operators; a channel may belong to one team (the
// channel's `team` setting names it).
type Team struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Members   []int64   `json:"members"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxTeamNameLen bounds a team's name; names are the slugs channels refer
// to: lower-case letters, digits, "-" and "_".
const MaxTeamNameLen = 63

// ValidTeamName reports whether name can name a team.
func ValidTeamName(name string) bool {
	if name == "" || len(name) > MaxTeamNameLen {
		return false
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '_'))
		if !ok {
			return false
		}
	}
	return true
}

// OperatorDetail is an operator with the names of their teams, as the
// admin API lists them.
type OperatorDetail struct {
	Operator
	Teams []string `json:"teams"`
}

// OperatorPatch changes an operator; nil fields stay as they are.
type OperatorPatch struct {
	Name *string
	Role *Role
	// Disabled, when set to true, also ends every session and deletes every
	// API token of the operator, at once.
	Disabled *bool
	// Teams, when set, replaces the operator's teams (by name).
	Teams *[]string
	// PasswordHash, when set, replaces the password and ends the
	// operator's sessions.
	PasswordHash *string
}

// AuditFilter narrows the audit log. Zero values match all.
type AuditFilter struct {
	Entity     string
	EntityID   int64
	OperatorID int64
	Action     string
	Cursor     string // opaque, from the previous page's next
	Limit      int    // default 50, at most 200
}

// ChannelConfig is what the audit log follows of a configured channel:
// its type, team, and a fingerprint of its settings that are not secrets.
type ChannelConfig struct {
	ID          string
	Type        ChannelType
	Team        string
	Fingerprint string
}
