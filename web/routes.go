package web

import (
	"net/http"
	"strings"
)

// route is one entry of the route table: its pattern, who may call it
// and its handler.
type route struct {
	pattern string
	level   level
	handler http.Handler
}

// routeTable is the whole route table. Every route says who may call it;
// the role × route test walks this table and fails on a route it does not
// know.
func (s *Server) routeTable() []route {
	a, au := s.api, s.auth
	f := func(h http.HandlerFunc) http.Handler { return h }
	return []route{
		// Providers. Telephony providers call with GET, everyone else POSTs.
		{"POST /hooks/{type}/{channel}", levelPublic, s.hooks},
		{"GET /hooks/{type}/{channel}", levelPublic, s.hooks},
		{"OPTIONS /hooks/{type}/{channel}", levelPublic, f(s.hooks.preflight)},
		{"GET /hooks/{type}/{channel}/embed.js", levelPublic, f(s.hooks.embed)},
		// Mango posts to <the URL set in its cabinet>/events/call, ...:
		// the channel's connector reads what follows.
		{"POST /hooks/{type}/{channel}/{rest...}", levelPublic, s.hooks},

		// The operators' page; it signs in through the API.
		{"GET /{$}", levelPublic, UIHandler()},
		{"GET /ui/", levelPublic, UIHandler()},

		// Probes and metrics: no token.
		{"GET /healthz", levelPublic, f(s.healthz)},
		{"GET /readyz", levelPublic, f(s.readyz)},
		{"GET /metrics", levelPublic, s.metricsHandler()},

		// Signing in, sessions and tokens.
		{"POST /api/v1/session", levelPublic, f(au.login)},
		{"GET /api/v1/session", levelOperator, f(au.getSession)},
		{"DELETE /api/v1/session", levelOperator, f(au.logout)},
		{"GET /api/v1/sessions", levelOperator, f(au.listSessions)},
		{"DELETE /api/v1/sessions/{id}", levelOperator, f(au.revokeSession)},
		{"POST /api/v1/sessions/revoke-all", levelOperator, f(au.revokeAll)},
		{"POST /api/v1/password", levelOperator, f(au.changePassword)},
		{"GET /api/v1/tokens", levelOperator, f(au.listTokens)},
		{"POST /api/v1/tokens", levelOperator, f(au.createToken)},
		{"DELETE /api/v1/tokens/{id}", levelOperator, f(au.revokeToken)},

		// The inbox. What an operator sees is limited by their scope.
		{"GET /api/v1/conversations", levelOperator, f(a.listConversations)},
		{"GET /api/v1/conversations/counts", levelOperator, f(a.countConversations)},
		{"GET /api/v1/messages/search", levelOperator, f(a.searchMessages)},
		{"GET /api/v1/conversations/{id}", levelOperator, f(a.getConversation)},
		{"PATCH /api/v1/conversations/{id}", levelOperator, f(a.patchConversation)},
		{"GET /api/v1/conversations/{id}/messages", levelOperator, f(a.listMessages)},
		{"POST /api/v1/conversations/{id}/messages", levelOperator, f(a.createReply)},
		{"GET /api/v1/conversations/{id}/routes", levelOperator, f(a.replyRoutes)},
		{"POST /api/v1/conversations/{id}/read", levelOperator, a.markRead(false)},
		{"POST /api/v1/conversations/{id}/unread", levelOperator, a.markRead(true)},
		{"POST /api/v1/conversations/{id}/accept", levelOperator, f(a.acceptConversation)},
		{"POST /api/v1/conversations/{id}/link", levelOperator, f(a.linkConversation)},
		{"POST /api/v1/conversations/{id}/reject", levelOperator, f(a.rejectConversation)},
		{"GET /api/v1/clients", levelOperator, f(a.listClients)},
		{"GET /api/v1/clients/{id}", levelOperator, f(a.getClient)},
		{"PATCH /api/v1/clients/{id}", levelOperator, f(a.patchClient)},
		{"POST /api/v1/clients/{id}/notes", levelOperator, f(a.addNote)},
		{"POST /api/v1/clients/{id}/consents", levelOperator, f(a.addConsent)},
		{"POST /api/v1/clients/{id}/tasks", levelOperator, f(a.createTask)},
		{"POST /api/v1/clients/{id}/conversations", levelOperator, f(a.startConversation)},
		{"GET /api/v1/clients/{id}/duplicates", levelOperator, f(a.listClientDuplicates)},
		{"POST /api/v1/clients/{id}/call", levelOperator, f(a.callClient)},
		{"GET /api/v1/tasks", levelOperator, f(a.listTasks)},
		{"PATCH /api/v1/tasks/{id}", levelOperator, f(a.patchTask)},
		{"DELETE /api/v1/tasks/{id}", levelOperator, f(a.deleteTask)},
		{"GET /api/v1/ws", levelOperator, f(s.ws.serve)},
		{"GET /api/v1/alerts", levelOperator, f(a.listAlerts)},
		{"POST /api/v1/alerts/read", levelOperator, f(a.markAlertsRead)},
		{"GET /api/v1/directory", levelOperator, f(a.listColleagues)},
		{"GET /api/v1/canned-replies", levelOperator, f(a.listCanned)},
		{"POST /api/v1/canned-replies", levelOperator, f(a.createCanned)},
		{"PATCH /api/v1/canned-replies/{id}", levelOperator, f(a.patchCanned)},
		{"DELETE /api/v1/canned-replies/{id}", levelOperator, f(a.deleteCanned)},
		{"GET /api/v1/channels/health", levelOperator, f(a.listChannelHealth)},
		{"GET /api/v1/channels/{id}/status", levelOperator, f(s.channelStatus)},
		{"GET /files/{id}/{name}", levelOperator, f(s.files.serve)},
		// Integrations download a reply's file through the signed link
		// their callback carried.
		{"GET /files/signed/{channel}/{id}/{name}", levelPublic, f(s.files.serveSigned)},

		// Whole-base and irreversible work on personal data.
		{"GET /api/v1/clients.csv", levelSupervisor, f(a.exportClientsCSV)},
		// The clients page: segments of the whole base.
		{"GET /api/v1/clients/count", levelSupervisor, f(a.countClients)},
		{"GET /api/v1/clients/filter", levelSupervisor, f(a.filterClients)},
		{"GET /api/v1/clients/filter.csv", levelSupervisor, f(a.exportFilterCSV)},
		{"GET /api/v1/segments", levelSupervisor, f(a.listSegments)},
		{"POST /api/v1/segments", levelSupervisor, f(a.createSegment)},
		{"PATCH /api/v1/segments/{id}", levelSupervisor, f(a.patchSegment)},
		{"DELETE /api/v1/segments/{id}", levelSupervisor, f(a.deleteSegment)},
		{"GET /api/v1/segments/{id}/clients.csv", levelSupervisor, f(a.exportSegmentCSV)},
		{"POST /api/v1/clients/import", levelSupervisor, f(a.importClients)},
		{"POST /api/v1/imports", levelSupervisor, f(a.startImport)},
		{"GET /api/v1/imports/{id}", levelSupervisor, f(a.getImport)},
		{"GET /api/v1/imports/{id}/rejected.csv", levelSupervisor, f(a.rejectedRows)},
		{"POST /api/v1/clients/{id}/merge", levelSupervisor, f(a.mergeClient)},
		{"GET /api/v1/clients/{id}/export", levelSupervisor, f(a.exportClient)},
		{"POST /api/v1/clients/{id}/erase", levelSupervisor, f(a.eraseClient)},
		{"GET /api/v1/duplicates", levelSupervisor, f(a.listDuplicates)},
		{"GET /api/v1/supervision", levelSupervisor, f(a.supervise)},
		{"GET /api/v1/reports/{name}", levelSupervisor, f(a.getReport)},
		{"GET /api/v1/reports/{name}/chart.svg", levelSupervisor, f(a.reportChart)},
		{"POST /api/v1/duplicates/{id}/dismiss", levelSupervisor, f(a.dismissDuplicate)},

		// Administration.
		{"GET /api/v1/operators", levelAdmin, f(a.listOperators)},
		{"POST /api/v1/operators", levelAdmin, f(a.createOperator)},
		{"GET /api/v1/operators/{id}", levelAdmin, f(a.getOperator)},
		{"PATCH /api/v1/operators/{id}", levelAdmin, f(a.patchOperator)},
		{"POST /api/v1/operators/{id}/unlock", levelAdmin, f(a.unlockOperator)},
		{"DELETE /api/v1/login-locks", levelAdmin, f(a.unlockAddress)},
		{"GET /api/v1/teams", levelAdmin, f(a.listTeams)},
		{"POST /api/v1/teams", levelAdmin, f(a.createTeam)},
		{"DELETE /api/v1/teams/{id}", levelAdmin, f(a.deleteTeam)},
		{"GET /api/v1/audit", levelAdmin, f(a.listAudit)},
		{"GET /api/v1/channels", levelAdmin, f(a.listChannels)},
		{"GET /api/v1/channels/{id}/details", levelAdmin, f(a.channelDetails)},
		{"GET /api/v1/webhooks", levelAdmin, f(a.listWebhooks)},
		{"POST /api/v1/webhooks", levelAdmin, f(a.createWebhook)},
		{"PATCH /api/v1/webhooks/{id}", levelAdmin, f(a.patchWebhook)},
		{"DELETE /api/v1/webhooks/{id}", levelAdmin, f(a.deleteWebhook)},
		{"GET /api/v1/webhooks/{id}/deliveries", levelAdmin, f(a.listDeliveries)},
		{"POST /api/v1/webhooks/deliveries/{id}/replay", levelAdmin, f(a.replayDelivery)},
	}
}

// ownBodyLimit are the API routes that bound their bodies themselves.
var ownBodyLimit = map[string]bool{
	"POST /api/v1/clients/import":              true,
	"POST /api/v1/conversations/{id}/messages": true,
}

// routes mounts the route table, each route behind the checks its level
// needs, wrapped in the middleware every request passes through.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Authenticators are tried in order: scripts' tokens, then the page's
	// session cookie.
	auth := requireOperator(bearerAuth(s.api.store), s.auth.cookieAuth)
	for _, rt := range s.routeTable() {
		h := rt.handler
		if rt.level != levelPublic {
			h = auth(authorize(rt.level, h))
		}
		// The CSV import and a reply with files bound their own, larger
		// bodies; every other API body is JSON of at most maxJSONBody.
		if strings.Contains(rt.pattern, " /api/") && !ownBodyLimit[rt.pattern] {
			h = limitBody(maxJSONBody, h)
		}
		mux.Handle(rt.pattern, h)
	}

	var h http.Handler = mux
	h = recoverer(h)
	h = accessLog(h)
	h = securityHeaders(h)
	h = s.hsts(h)
	h = s.clientAddr(h)
	h = s.requestID(h)
	return h
}
