package inbox

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a canned reply.
const (
	MaxCannedTitleLen = 100
	MaxCannedTextLen  = 4000
)

// CannedScope says who may use a canned reply.
type CannedScope string

const (
	CannedPersonal CannedScope = "personal" // its owner
	CannedTeam     CannedScope = "team"     // the members of one team
	CannedEveryone CannedScope = "everyone" // every operator
)

// CannedReply is a reply template an operator inserts by typing "/" and
// its title in the reply box. Its text may hold placeholders the page fills
// in: {{client.name}}, {{client.first_name}}, {{operator.name}}.
type CannedReply struct {
	ID    int64       `json:"id"`
	Title string      `json:"title"`
	Text  string      `json:"text"`
	Scope CannedScope `json:"scope"`
	// Team is the team's name when Scope is CannedTeam.
	Team string `json:"team,omitempty"`
	// OwnerID is the owner when Scope is CannedPersonal.
	OwnerID   *int64    `json:"owner_id"`
	CreatedBy *int64    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CannedPatch changes a canned reply's title or text; nil stays.
type CannedPatch struct {
	Title *string
	Text  *string
}

// Check normalizes c's title and text and reports what is wrong with them.
func (c *CannedReply) Check() error {
	c.Title, c.Text = strings.TrimSpace(c.Title), strings.TrimSpace(c.Text)
	switch {
	case c.Title == "" || strings.ContainsAny(c.Title, " \t\r\n/"):
		return Errorf(EINVALID, "a title is one word without spaces or slashes: it is typed after /")
	case utf8.RuneCountInString(c.Title) > MaxCannedTitleLen:
		return Errorf(EINVALID, "the title is longer than %d characters", MaxCannedTitleLen)
	case c.Text == "":
		return Errorf(EINVALID, "the text is empty")
	case utf8.RuneCountInString(c.Text) > MaxCannedTextLen:
		return Errorf(EINVALID, "the text is longer than %d characters", MaxCannedTextLen)
	}
	switch c.Scope {
	case CannedPersonal, CannedEveryone:
		c.Team = ""
	case CannedTeam:
		if c.Team == "" {
			return Errorf(EINVALID, "a team's reply names the team")
		}
	default:
		return Errorf(EINVALID, `scope must be "personal", "team" or "everyone"`)
	}
	return nil
}

// CanEditCanned says whether an operator with role, member of teams, may
// create, change or delete c: their own personal replies; their teams'
// (supervisors and admins: any team's); everyone's only supervisors and
// admins.
func CanEditCanned(c CannedReply, operatorID int64, role Role, teams []string) bool {
	switch c.Scope {
	case CannedPersonal:
		return c.OwnerID != nil && *c.OwnerID == operatorID
	case CannedTeam:
		return role.Rank() >= RoleSupervisor.Rank() || slices.Contains(teams, c.Team)
	case CannedEveryone:
		return role.Rank() >= RoleSupervisor.Rank()
	}
	return false
}
