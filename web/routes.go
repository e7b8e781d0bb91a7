package web

import "net/http"

// routes is the whole route table, wrapped in the middleware every request
// passes through.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Providers. Telephony providers call with GET, everyone else POSTs.
	mux.Handle("POST /hooks/{type}/{channel}", s.hooks)
	mux.Handle("GET /hooks/{type}/{channel}", s.hooks)
	mux.HandleFunc("OPTIONS /hooks/{type}/{channel}", s.hooks.preflight)
	mux.HandleFunc("GET /hooks/{type}/{channel}/embed.js", s.hooks.embed)

	// The operators' page; it logs in through the API.
	mux.Handle("GET /{$}", UIHandler())
	mux.Handle("GET /ui/", UIHandler())

	// Probes and metrics: no token.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.Handler())

	// Operator API. Every route needs an operator; authenticators are tried
	// in order (the page's session cookie is added here later).
	auth := requireOperator(bearerAuth(s.api.store))
	api := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, auth(h))
	}
	api("GET /api/v1/conversations", s.api.listConversations)
	api("GET /api/v1/conversations/{id}", s.api.getConversation)
	api("PATCH /api/v1/conversations/{id}", s.api.patchConversation)
	api("GET /api/v1/conversations/{id}/messages", s.api.listMessages)
	api("POST /api/v1/conversations/{id}/messages", s.api.createReply)
	api("POST /api/v1/conversations/{id}/accept", s.api.acceptConversation)
	api("POST /api/v1/conversations/{id}/link", s.api.linkConversation)
	api("POST /api/v1/conversations/{id}/reject", s.api.rejectConversation)
	api("GET /api/v1/clients", s.api.listClients)
	api("GET /api/v1/clients.csv", s.api.exportClientsCSV)
	api("POST /api/v1/clients/import", s.api.importClients)
	api("GET /api/v1/clients/{id}", s.api.getClient)
	api("PATCH /api/v1/clients/{id}", s.api.patchClient)
	api("POST /api/v1/clients/{id}/merge", s.api.mergeClient)
	api("POST /api/v1/clients/{id}/notes", s.api.addNote)
	api("POST /api/v1/clients/{id}/consents", s.api.addConsent)
	api("POST /api/v1/clients/{id}/tasks", s.api.createTask)
	api("GET /api/v1/clients/{id}/duplicates", s.api.listClientDuplicates)
	api("GET /api/v1/clients/{id}/export", s.api.exportClient)
	api("POST /api/v1/clients/{id}/erase", s.api.eraseClient)
	api("GET /api/v1/duplicates", s.api.listDuplicates)
	api("POST /api/v1/duplicates/{id}/dismiss", s.api.dismissDuplicate)
	api("GET /api/v1/ws", s.ws.serve)
	api("GET /api/v1/channels/{id}/status", s.channelStatus)
	api("GET /files/{id}/{name}", s.files.serve)

	var h http.Handler = mux
	h = recoverer(h)
	h = accessLog(h)
	h = securityHeaders(h)
	h = s.requestID(h)
	return h
}
