package web

import (
	"context"
	"net/http"
	"slices"

	"github.com/leadhub/leadhub/inbox"
)

// level is who may call a route.
type level int

const (
	levelPublic     level = iota // anyone: providers, probes, the page's files, signing in
	levelOperator                // any signed-in operator (what they see is limited by their scope)
	levelSupervisor              // supervisors and admins
	levelAdmin                   // admins, signed in or with an admin-scoped token
)

func (l level) String() string {
	switch l {
	case levelPublic:
		return "public"
	case levelOperator:
		return "operator"
	case levelSupervisor:
		return "supervisor"
	case levelAdmin:
		return "admin"
	}
	return "unknown"
}

// role is the least role a level needs.
func (l level) role() inbox.Role {
	switch l {
	case levelSupervisor:
		return inbox.RoleSupervisor
	case levelAdmin:
		return inbox.RoleAdmin
	}
	return inbox.RoleOperator
}

// authorize lets a principal through when both their role and their
// credential reach the route's level: reading needs a read scope, changing
// anything a write scope, admin routes an admin scope.
func authorize(l level, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := principalFrom(r.Context())
		if !ok {
			writeError(w, r, inbox.Errorf(inbox.EUNAUTHORIZED, "unauthorized"))
			return
		}
		if p.op.Role.Rank() < l.role().Rank() {
			writeError(w, r, inbox.Errorf(inbox.EFORBIDDEN, "this needs the %s role", l.role()))
			return
		}
		need := inbox.ScopeRead
		if !safeMethod(r.Method) {
			need = inbox.ScopeWrite
		}
		if l == levelAdmin {
			need = inbox.ScopeAdmin
		}
		if p.scopeRank() < need.Rank() {
			writeError(w, r, inbox.Errorf(inbox.EFORBIDDEN, "this needs a token with the %s scope", need))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// access decides what an operator sees, from their role, their teams and
// the channels' teams.
type access struct {
	store Store
	// channelTeams maps a channel id to its team; channels without a team
	// are everyone's.
	channelTeams map[string]string
}

// scope returns what op sees: everything for supervisors and admins;
// for operators their own conversations and the unassigned ones outside
// the channels of teams they are not in.
func (a *access) scope(ctx context.Context, op inbox.Operator) (inbox.Scope, error) {
	if op.Role.Rank() >= inbox.RoleSupervisor.Rank() {
		return inbox.Scope{All: true, OperatorID: op.ID}, nil
	}
	sc := inbox.Scope{OperatorID: op.ID, HiddenChannels: []string{}}
	if len(a.channelTeams) == 0 {
		return sc, nil
	}
	teams, err := a.store.OperatorTeams(ctx, op.ID)
	if err != nil {
		return inbox.Scope{}, err
	}
	sc.HiddenChannels = a.channelsWhere(func(team string) bool { return team != "" && !slices.Contains(teams, team) })
	return sc, nil
}

// channelsWhere lists, sorted, the configured channels whose team (""
// for none) keep says.
func (a *access) channelsWhere(keep func(team string) bool) []string {
	out := []string{}
	for ch, team := range a.channelTeams {
		if keep(team) {
			out = append(out, ch)
		}
	}
	slices.Sort(out)
	return out
}

// requestScope is the scope of the request's operator.
func (a *access) requestScope(r *http.Request) (inbox.Scope, error) {
	op, _ := operatorFrom(r.Context())
	return a.scope(r.Context(), op)
}

// listScope is the request's scope as list filters take it: nil when the
// operator sees everything, so that lists add no visibility condition.
func (a *access) listScope(r *http.Request) (*inbox.Scope, error) {
	sc, err := a.requestScope(r)
	if err != nil || sc.All {
		return nil, err
	}
	return &sc, nil
}

// conversation returns a conversation the request's operator may see;
// one they may not is ENOTFOUND, as if it did not exist.
func (a *access) conversation(r *http.Request, id int64) (inbox.Conversation, inbox.Scope, error) {
	sc, err := a.requestScope(r)
	if err != nil {
		return inbox.Conversation{}, sc, err
	}
	c, err := a.store.GetConversation(r.Context(), id)
	if err != nil {
		return inbox.Conversation{}, sc, err
	}
	if !sc.Sees(c) {
		return inbox.Conversation{}, sc, inbox.Errorf(inbox.ENOTFOUND, "conversation not found")
	}
	return c, sc, nil
}

// checkConversation checks that the request's operator may see a
// conversation; one they may not is ENOTFOUND. Admins and supervisors
// see everything, so for them it reads nothing.
func (a *access) checkConversation(r *http.Request, id int64) (inbox.Scope, error) {
	sc, err := a.requestScope(r)
	if err != nil || sc.All {
		return sc, err
	}
	vis, err := a.store.VisibleConversations(r.Context(), sc, []int64{id})
	if err != nil {
		return sc, err
	}
	if !vis[id] {
		return sc, inbox.Errorf(inbox.ENOTFOUND, "conversation not found")
	}
	return sc, nil
}

// client checks that the request's operator may see a client card;
// one they may not is ENOTFOUND.
func (a *access) client(r *http.Request, id int64) (inbox.Scope, error) {
	sc, err := a.requestScope(r)
	if err != nil {
		return sc, err
	}
	if sc.All {
		return sc, nil
	}
	vis, err := a.store.VisibleClients(r.Context(), sc, []int64{id})
	if err != nil {
		return sc, err
	}
	if !vis[id] {
		return sc, inbox.Errorf(inbox.ENOTFOUND, "client not found")
	}
	return sc, nil
}
