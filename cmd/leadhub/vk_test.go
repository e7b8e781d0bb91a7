package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox"
)

const (
	vkGroup   = 183287114
	vkSecret  = "s3cret_key"
	vkToken   = "vk1.a.HUB-TOKEN-0123456789abcdefghijklmnopqrstuvwxyz"
	vkConfirm = "693d0ba9"
)

// fakeVKAPI speaks VK's API wire format for the methods the hub calls:
// POST /method/<name>, form body, Bearer token; HTTP 200 with {"response":
// ...} or {"error": {...}}.
type fakeVKAPI struct {
	mu    sync.Mutex
	calls map[string][]map[string]string
	next  int64
	fail  map[string]int // the next call of a method answers this error
}

func (f *fakeVKAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method, _ := strings.CutPrefix(r.URL.Path, "/method/")
	r.ParseForm()
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string][]map[string]string{}
	}
	f.calls[method] = append(f.calls[method], form)
	code := f.fail[method]
	delete(f.fail, method)
	f.next++
	id := f.next
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+vkToken {
		code = 5
	}
	if code != 0 {
		fmt.Fprintf(w, `{"error":{"error_code":%d,"error_msg":"error %d","request_params":[{"key":"method","value":%q}]}}`, code, code, method)
		return
	}
	switch method {
	case "users.get":
		io.WriteString(w, `{"response":[{"id":715616525,"first_name":"Ирина","last_name":"Смирнова","can_access_closed":true,"is_closed":false}]}`)
	case "messages.send":
		fmt.Fprintf(w, `{"response":%d}`, 5000+id)
	default:
		io.WriteString(w, `{"error":{"error_code":3,"error_msg":"Unknown method passed"}}`)
	}
}

func (f *fakeVKAPI) sent(method string) []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.calls[method]...)
}

func (f *fakeVKAPI) failNext(method string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[string]int{}
	}
	f.fail[method] = code
}

// postVK posts a Callback API body and returns the status, the body and its
// content type.
func postVK(t *testing.T, base string, body []byte) (int, string, string) {
	t.Helper()
	return postVKTo(t, base, "vk-shop", body)
}

func postVKTo(t *testing.T, base, channel string, body []byte) (int, string, string) {
	t.Helper()
	resp, err := http.Post(base+"/hooks/vk/"+channel, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Content-Type")
}

func vkFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../connectors/vk/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVKThroughTheHub: the Callback API through the real handler, queue and
// store. The confirmation is answered with the code; a wrong secret or
// community is 403, malformed JSON 400; a message (sent twice, as VK
// resends) becomes one message on a card named by users.get with the VK
// profile link; an edit changes it; the operator's reply goes out by
// messages.send, and VK's message_reply echo of it files nothing, while a
// reply written in VK's interface is stored as sent; message_deny marks the
// card and the API refuses a reply until message_allow; error 5 shows the
// channel down in the health API. The token is in no log line.
func TestVKThroughTheHub(t *testing.T) {
	fake := &fakeVKAPI{}
	api := httptest.NewServer(fake)
	defer api.Close()
	cfg := testConfig(t, false, false, "")
	cfg.HTTP.PublicURL = "https://hub.example.com"
	cfg.Channels = append(cfg.Channels, config.Channel{ID: "vk-shop", Type: "vk", GroupID: vkGroup, Secret: vkSecret,
		Confirmation: vkConfirm, Token: vkToken, APIURL: api.URL + "/method/"},
		// A second community: its own channel, secret and code.
		config.Channel{ID: "vk-other", Type: "vk", GroupID: 224391972, Secret: "other-secret",
			Confirmation: "0ther", Token: vkToken, APIURL: api.URL + "/method/"})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	token := createToken(t, cfg)
	hub := startHub(t, cfg)
	ws := dialWS(t, hub.base, token, 0)

	code, body, ctype := postVK(t, hub.base, []byte(`{"type":"confirmation","group_id":183287114,"secret":"s3cret_key"}`))
	if code != http.StatusOK || body != vkConfirm || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("confirmation: %d %q %q", code, body, ctype)
	}
	msg := vkFixture(t, "constructed-message-new-private.json")
	if code, body, _ := postVKTo(t, hub.base, "vk-other", []byte(`{"type":"confirmation","group_id":224391972,"secret":"other-secret"}`)); code != http.StatusOK || body != "0ther" {
		t.Fatalf("second community's confirmation: %d %q", code, body)
	}
	if code, _, _ := postVKTo(t, hub.base, "vk-other", msg); code != http.StatusForbidden {
		t.Fatalf("one community's event posted to the other's channel: %d, want 403", code)
	}
	for name, b := range map[string][]byte{
		"wrong secret":  []byte(strings.Replace(string(msg), vkSecret, "guess", 1)),
		"other group":   []byte(strings.Replace(string(msg), "183287114", "1", 1)),
		"no secret":     vkFixture(t, "vk-message-new.json"),
		"confirm wrong": []byte(`{"type":"confirmation","group_id":183287114}`),
	} {
		if code, _, _ := postVK(t, hub.base, b); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	if code, _, _ := postVK(t, hub.base, []byte(`{"type":"message_new",`)); code != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d, want 400", code)
	}
	for range 2 {
		if code, body, ctype := postVK(t, hub.base, msg); code != http.StatusOK || body != "ok" || !strings.HasPrefix(ctype, "text/plain") {
			t.Fatalf("message_new: %d %q %q", code, body, ctype)
		}
	}
	var created struct {
		Message      inbox.Message      `json:"message"`
		Conversation inbox.Conversation `json:"conversation"`
	}
	json.Unmarshal(nextEvent(t, ws, inbox.EventMessageCreated).Data, &created)
	if created.Conversation.ChannelType != inbox.ChannelVK || !strings.HasPrefix(created.Message.Text, "Здравствуйте!") || created.Message.ExternalID != "715616525:41" {
		t.Fatalf("filed %+v", created)
	}
	convID, clientID := created.Conversation.ID, created.Conversation.ClientID
	waitFor(t, "queue drained", func() bool {
		st, err := hub.hub.backend.queue.Stats(t.Context())
		return err == nil && st.Depth == 0
	})
	if got := count(t, hub.hub, "messages"); got != 1 {
		t.Fatalf("one event posted twice gave %d messages", got)
	}
	var card inbox.ClientDetail
	apiGet(t, hub.base, token, fmt.Sprintf("/api/v1/clients/%d", clientID), &card)
	if card.Name != "Ирина Смирнова" || len(card.Identities) != 1 || card.Identities[0] != (inbox.Identity{Kind: inbox.IdentityVK, Value: "715616525"}) ||
		card.CustomFields["vk_profile"] != "https://vk.com/id715616525" {
		t.Fatalf("card = %+v", card)
	}

	// The second community's customer lands in that channel.
	other := strings.NewReplacer(`"from_id": 715616525`, `"from_id": 1001`, `"peer_id": 715616525`, `"peer_id": 1001`,
		"183287114", "224391972", vkSecret, "other-secret").Replace(string(msg))
	if code, _, _ := postVKTo(t, hub.base, "vk-other", []byte(other)); code != http.StatusOK {
		t.Fatalf("second community's message: %d", code)
	}
	var second struct {
		Conversation inbox.Conversation `json:"conversation"`
	}
	json.Unmarshal(nextEvent(t, ws, inbox.EventMessageCreated).Data, &second)
	if second.Conversation.ChannelID != "vk-other" || second.Conversation.ClientID == clientID {
		t.Fatalf("second community's message filed in %+v", second.Conversation)
	}

	// The customer edits the message.
	if code, _, _ := postVK(t, hub.base, vkFixture(t, "constructed-message-edit.json")); code != http.StatusOK {
		t.Fatalf("message_edit: %d", code)
	}
	var updated struct {
		Message inbox.Message `json:"message"`
	}
	json.Unmarshal(nextEvent(t, ws, inbox.EventMessageUpdated).Data, &updated)
	if updated.Message.ID != created.Message.ID || !strings.Contains(updated.Message.Text, "и в Уфу") {
		t.Fatalf("edit: %+v", updated.Message)
	}

	replyStatus := func(text string) int {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/conversations/%d/messages", hub.base, convID), strings.NewReader(fmt.Sprintf(`{"text":%q}`, text)))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	delivery := func() inbox.Message {
		for {
			var upd struct {
				Message inbox.Message `json:"message"`
			}
			json.Unmarshal(nextEvent(t, ws, inbox.EventMessageUpdated).Data, &upd)
			if upd.Message.Direction == inbox.DirectionOut && upd.Message.Delivery != inbox.DeliveryQueued {
				return upd.Message
			}
		}
	}
	if code := replyStatus("Доставка в Казань 300 ₽"); code != http.StatusAccepted {
		t.Fatalf("reply: %d", code)
	}
	if m := delivery(); m.Delivery != inbox.DeliverySent || m.ExternalID == "" {
		t.Fatalf("reply delivery %s (%s) %q", m.Delivery, m.Error, m.ExternalID)
	}
	sends := fake.sent("messages.send")
	if len(sends) != 1 || sends[0]["peer_id"] != "715616525" || sends[0]["message"] != "Доставка в Казань 300 ₽" || sends[0]["random_id"] == "" || sends[0]["v"] != "5.199" {
		t.Fatalf("messages.send calls %v", sends)
	}

	// VK's echo of that reply files nothing; a reply an admin wrote in
	// VK's interface is stored as sent and not sent again.
	uiReply := vkFixture(t, "constructed-message-reply.json")
	echo := strings.NewReplacer(`"random_id": 0`, `"random_id": `+sends[0]["random_id"], "c0ffee0000000000000000000000000000000004", "e0c0").Replace(string(uiReply))
	if code, _, _ := postVK(t, hub.base, []byte(echo)); code != http.StatusOK {
		t.Fatalf("echo: %d", code)
	}
	if code, _, _ := postVK(t, hub.base, uiReply); code != http.StatusOK {
		t.Fatalf("message_reply: %d", code)
	}
	json.Unmarshal(nextEvent(t, ws, inbox.EventMessageCreated).Data, &created)
	if created.Message.Direction != inbox.DirectionOut || created.Message.Delivery != inbox.DeliverySent || !strings.HasPrefix(created.Message.Text, "Доставка в Казань 300 ₽, в Уфу") {
		t.Fatalf("reply from VK's interface filed as %+v", created.Message)
	}
	waitFor(t, "queue drained", func() bool {
		st, err := hub.hub.backend.queue.Stats(t.Context())
		return err == nil && st.Depth == 0
	})
	if got := count(t, hub.hub, "messages WHERE direction = 'out'"); got != 2 {
		t.Fatalf("%d outbound messages, want the operator's reply and the one from VK's interface", got)
	}
	if got := len(fake.sent("messages.send")); got != 1 {
		t.Fatalf("%d messages.send calls, want 1", got)
	}

	// Permission withdrawn: marked on the card, replies refused; given
	// again: replies go.
	if code, _, _ := postVK(t, hub.base, vkFixture(t, "constructed-message-deny.json")); code != http.StatusOK {
		t.Fatalf("message_deny: %d", code)
	}
	nextEvent(t, ws, inbox.EventClientUpdated)
	apiGet(t, hub.base, token, fmt.Sprintf("/api/v1/clients/%d", clientID), &card)
	if len(card.Unreachable) != 1 || !strings.Contains(card.Unreachable[0].Reason, "denied messages") {
		t.Fatalf("card after message_deny: %+v", card.Unreachable)
	}
	if code := replyStatus("Вы здесь?"); code != http.StatusConflict {
		t.Fatalf("reply to a client who denied messages: %d, want 409", code)
	}
	if code, _, _ := postVK(t, hub.base, vkFixture(t, "constructed-message-allow.json")); code != http.StatusOK {
		t.Fatalf("message_allow: %d", code)
	}
	nextEvent(t, ws, inbox.EventClientUpdated)

	// The token revoked: the reply waits, and the channel shows down.
	fake.failNext("messages.send", 5)
	if code := replyStatus("Спасибо!"); code != http.StatusAccepted {
		t.Fatalf("reply after message_allow: %d", code)
	}
	var health struct {
		Items []inbox.ChannelHealth `json:"items"`
	}
	waitFor(t, "the channel down", func() bool {
		apiGet(t, hub.base, token, "/api/v1/channels/health", &health)
		for _, h := range health.Items {
			if h.Channel == "vk-shop" && h.State == inbox.HealthDown {
				return true
			}
		}
		return false
	})
	for _, h := range health.Items {
		if strings.Contains(h.Error, vkToken) {
			t.Fatalf("token in the health: %+v", h)
		}
	}
	var status struct {
		CallbackURL string `json:"callback_url"`
		State       string `json:"state"`
	}
	if code := apiGet(t, hub.base, token, "/api/v1/channels/vk-shop/status", &status); code != http.StatusOK ||
		status.CallbackURL != "https://hub.example.com/hooks/vk/vk-shop" || status.State != "down" {
		t.Fatalf("channel status: %d %+v", code, status)
	}
	if strings.Contains(hub.logs.String(), vkToken) {
		t.Fatal("the access token appears in the logs")
	}
}
