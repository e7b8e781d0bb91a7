package vk

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

const (
	testGroup  = 183287114
	testSecret = "s3cret_key"
	testToken  = "vk1.a.TOKEN-never-to-be-seen_0123456789abcdef"
)

var testNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func newTestChannel(t testing.TB, group int64, secret string, mod func(*Options)) *Channel {
	t.Helper()
	opts := Options{
		ChannelID: "vk", GroupID: group, Secret: secret, Confirmation: "conf-code",
		Token: testToken, APIURL: "http://127.0.0.1:1/method/", Now: func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixture reads testdata/name and applies edits to its top level and, with
// "message." keys, to the message of a message_new.
func fixture(t testing.TB, name string, edits map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if len(edits) == 0 {
		return b
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range edits {
		if f, ok := strings.CutPrefix(k, "message."); ok {
			m["object"].(map[string]any)["message"].(map[string]any)[f] = v
			continue
		}
		m[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parse(c *Channel, body []byte) ([]inbox.Envelope, []byte, error) {
	r := httptest.NewRequest(http.MethodPost, "/hooks/vk/vk", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return c.Parse(r, body)
}

func vkID(id string) []inbox.Identity { return []inbox.Identity{{Kind: inbox.IdentityVK, Value: id}} }

func TestParseEvents(t *testing.T) {
	// The real samples were sent in chats; moved to the private dialog.
	private := func(from float64) map[string]any {
		return map[string]any{"secret": testSecret, "message.peer_id": from}
	}
	tests := []struct {
		file  string
		edits map[string]any
		group int64
		none  bool
		key   string
		item  inbox.Item
		text  string
		ids   []inbox.Identity
		ext   string
		atts  []inbox.Attachment
		meta  map[string]string // entries that must be there; "" means absent
		fact  *inbox.Fact
		at    time.Time
	}{
		{
			file: "vk-message-new-v5199.json", edits: private(715616525), group: 224391972,
			key: "vk:vk:8bd6a82e64572cd9ca01de2dbadbca05256667b6", text: "/stats", ids: vkID("715616525"),
			ext: "715616525:147833", at: time.Unix(1749346530, 0),
		},
		{
			file: "vk-message-new.json", edits: private(612444319), group: 214167102,
			key: "vk:vk:da1b15e9f6d0c3c8a0c937e048cdd3e2b43794d0", text: "Ок", ids: vkID("612444319"), ext: "612444319:2169",
		},
		{
			file: "vk-message-new-photo.json", edits: private(555644284), group: testGroup,
			key: "vk:vk:2bc491893831d3b0d801f2bc122af6697aa4369a", text: "Чувак могёт ракетами кидаться", ids: vkID("555644284"),
			ext:  "555644284:241661",
			atts: []inbox.Attachment{{URL: "vk-file:https://sun9-3.userapi.com/c857236/v857236595/124a59/nJXapHnUbeo.jpg", Name: "photo.jpg", MIME: "image/jpeg"}},
		},
		{
			file: "vk-message-new-voice.json", edits: private(526252082), group: testGroup,
			key: "vk:vk:ccb98c9b065a00f21971a50830751a274f59f515", text: "[voice message 0:02]", ids: vkID("526252082"),
			ext:  "526252082:518107",
			atts: []inbox.Attachment{{URL: "vk-file:https://psv4.userapi.com/c852536//u526252082/audiomsg/d12/c02eb6b2fb.mp3", Name: "voice.mp3", MIME: "audio/mpeg"}},
		},
		// A chat as it really came: not a customer writing to the community.
		{file: "vk-message-new-photo.json", edits: map[string]any{"secret": testSecret}, group: testGroup, none: true},
		// The pre-5.103 sample is a chat's service message: nothing to file.
		{file: "vk-message-new-legacy-pre5103.json", edits: map[string]any{"secret": testSecret, "group_id": testGroup}, group: testGroup, none: true},
		{
			file: "constructed-message-new-legacy-private.json", group: testGroup,
			key: "vk:vk:183287114:message_new:194250225:17", text: "Добрый день, есть в наличии?", ids: vkID("194250225"),
			ext: "194250225:17", at: time.Unix(1558100846, 0),
		},
		{
			file: "constructed-message-new-private.json", group: testGroup,
			key: "vk:vk:c0ffee0000000000000000000000000000000001", text: "Здравствуйте! Сколько стоит доставка в Казань?",
			ids: vkID("715616525"), ext: "715616525:41", meta: map[string]string{"vk_ref": "spring_sale", "vk_ref_source": "ads"},
		},
		{
			file: "constructed-message-new-media.json", group: testGroup,
			key: "vk:vk:c0ffee0000000000000000000000000000000002",
			text: "Вот прайс и пост\n" +
				"[sticker https://vk.com/sticker/1-9008-512]\n" +
				"[link: Каталог https://example.com/catalog]\n" +
				"[wall post: https://vk.com/wall-183287114_77] Весенняя распродажа\n" +
				"[market]\n" +
				"[in reply to]\n> community:\n> Пришлите, пожалуйста, реквизиты\n" +
				"[forwarded]\n> https://vk.com/id555644284:\n> Контакт менеджера: +7 912 345-67-89\n> [photo]",
			ids: vkID("715616525"), ext: "715616525:42",
			atts: []inbox.Attachment{{URL: "vk-file:https://vk.com/doc715616525_6612?hash=abc&dl=1", Name: "price.pdf", MIME: "application/pdf", Size: 48213}},
			meta: map[string]string{"reply_to": "715616525:40"},
		},
		{
			file: "constructed-message-edit.json", group: testGroup, item: inbox.ItemEdit,
			key: "vk:vk:c0ffee0000000000000000000000000000000003", text: "Здравствуйте! Сколько стоит доставка в Казань и в Уфу?",
			ids: vkID("715616525"), ext: "715616525:41", at: time.Unix(1764700300, 0),
		},
		{
			file: "constructed-message-reply.json", group: testGroup, item: inbox.ItemOutgoing,
			key: "vk:vk:c0ffee0000000000000000000000000000000004", text: "Доставка в Казань 300 ₽, в Уфу 450 ₽.",
			ids: vkID("715616525"), ext: "715616525:43", meta: map[string]string{"vk_admin_author_id": "1234567"},
		},
		{
			file: "constructed-message-allow.json", group: testGroup, item: inbox.ItemFact,
			key: "vk:vk:c0ffee0000000000000000000000000000000005", ids: vkID("715616525"),
			fact: &inbox.Fact{Name: inbox.FactMessagingAllowed}, meta: map[string]string{"vk_allow_key": "landing_widget"},
		},
		{
			file: "constructed-message-deny.json", group: testGroup, item: inbox.ItemFact,
			key: "vk:vk:c0ffee0000000000000000000000000000000006", ids: vkID("715616525"),
			fact: &inbox.Fact{Name: inbox.FactMessagingDenied, Value: DeniedReason},
		},
		{file: "constructed-message-typing-state.json", group: testGroup, none: true},
		{file: "constructed-group-join.json", group: testGroup, none: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := newTestChannel(t, tt.group, testSecret, nil)
			envs, ack, err := parse(c, fixture(t, tt.file, tt.edits))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if string(ack) != "ok" {
				t.Errorf("ack %q, want ok", ack)
			}
			if tt.none {
				if len(envs) != 0 {
					t.Fatalf("got %d envelopes, want none: %+v", len(envs), envs)
				}
				return
			}
			if len(envs) != 1 {
				t.Fatalf("got %d envelopes, want 1", len(envs))
			}
			e := envs[0]
			if err := e.Validate(); err != nil {
				t.Errorf("invalid envelope: %v", err)
			}
			item := tt.item
			if item == "" {
				item = inbox.ItemMessage
			}
			if e.Carries() != item {
				t.Errorf("item %q, want %q", e.Carries(), item)
			}
			if e.DedupeKey != tt.key {
				t.Errorf("dedupe key %q, want %q", e.DedupeKey, tt.key)
			}
			if e.Text != tt.text {
				t.Errorf("text\n%q\nwant\n%q", e.Text, tt.text)
			}
			if !reflect.DeepEqual(e.From.Identities, tt.ids) {
				t.Errorf("identities %v, want %v", e.From.Identities, tt.ids)
			}
			if want := "https://vk.com/id" + tt.ids[0].Value; e.From.Fields[ProfileField] != want {
				t.Errorf("profile %q, want %q", e.From.Fields[ProfileField], want)
			}
			if e.ExternalID != tt.ext {
				t.Errorf("external id %q, want %q", e.ExternalID, tt.ext)
			}
			if !reflect.DeepEqual(e.Attachments, tt.atts) {
				t.Errorf("attachments %+v, want %+v", e.Attachments, tt.atts)
			}
			for k, v := range tt.meta {
				if got, ok := e.Meta[k]; v == "" && ok || v != "" && got != v {
					t.Errorf("meta %s = %q, want %q", k, got, v)
				}
			}
			if !reflect.DeepEqual(e.Fact, tt.fact) {
				t.Errorf("fact %+v, want %+v", e.Fact, tt.fact)
			}
			if e.ChannelID != "vk" || e.ChannelType != inbox.ChannelVK {
				t.Errorf("channel %q %q", e.ChannelID, e.ChannelType)
			}
			if !tt.at.IsZero() && !e.ReceivedAt.Equal(tt.at) {
				t.Errorf("received at %v, want %v", e.ReceivedAt, tt.at)
			}
		})
	}
}

// Events from before event_id existed: two edits of one message are two
// events, one resent edit is one.
func TestLegacyDedupeKeys(t *testing.T) {
	c := newTestChannel(t, testGroup, testSecret, nil)
	edit := func(at int) string {
		return `{"type":"message_edit","group_id":183287114,"secret":"s3cret_key","object":{"from_id":5,"peer_id":5,"id":9,` +
			`"conversation_message_id":3,"text":"v` + itoa(int64(at)) + `","update_time":` + itoa(int64(at)) + `}}`
	}
	key := func(body string) string {
		envs, _, err := parse(c, []byte(body))
		if err != nil || len(envs) != 1 {
			t.Fatalf("Parse(%s) = %v, %v", body, envs, err)
		}
		return envs[0].DedupeKey
	}
	first, again, second := key(edit(1764700001)), key(edit(1764700001)), key(edit(1764700002))
	if first != again || first == second || first != "vk:vk:183287114:message_edit:5:3:1764700001" {
		t.Fatalf("keys %q, %q, %q", first, again, second)
	}
}

func TestParseConfirmation(t *testing.T) {
	c := newTestChannel(t, 123456, "secret_123456", func(o *Options) { o.Confirmation = "confirmation_123456" })
	envs, ack, err := parse(c, fixture(t, "vk-confirmation.json", nil))
	if err != nil || len(envs) != 0 || string(ack) != "confirmation_123456" {
		t.Fatalf("Parse = %v, %q, %v; want no envelopes and the code", envs, ack, err)
	}
}

func TestParseRefuses(t *testing.T) {
	var logs bytes.Buffer
	c := newTestChannel(t, testGroup, testSecret, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	tests := []struct {
		name string
		body []byte
		code string
	}{
		{"real sample without a secret", fixture(t, "vk-message-new-photo.json", nil), inbox.EFORBIDDEN},
		{"wrong secret", fixture(t, "constructed-message-new-private.json", map[string]any{"secret": "guess"}), inbox.EFORBIDDEN},
		{"other community", fixture(t, "constructed-message-new-private.json", map[string]any{"group_id": 1}), inbox.EFORBIDDEN},
		{"confirmation of another community", fixture(t, "vk-confirmation.json", nil), inbox.EFORBIDDEN},
		{"confirmation without the secret", []byte(`{"type":"confirmation","group_id":183287114}`), inbox.EFORBIDDEN},
		{"malformed JSON", []byte(`{"type":"message_new",`), inbox.EINVALID},
		{"not an object", []byte(`[1,2]`), inbox.EINVALID},
		{"no type", []byte(`{"group_id":183287114,"secret":"s3cret_key"}`), inbox.EINVALID},
		{"malformed message", []byte(`{"type":"message_new","group_id":183287114,"secret":"s3cret_key","object":{"message":{"text":5}}}`), inbox.EINVALID},
		{"malformed permission", []byte(`{"type":"message_deny","group_id":183287114,"secret":"s3cret_key","object":[]}`), inbox.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envs, ack, err := parse(c, tt.body)
			if inbox.ErrorCode(err) != tt.code || envs != nil || ack != nil {
				t.Fatalf("Parse = %v, %q, %v; want %s", envs, ack, err, tt.code)
			}
		})
	}
	if !strings.Contains(logs.String(), "wrong secret refused") || !strings.Contains(logs.String(), "another community refused") {
		t.Errorf("refusals not logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "guess") {
		t.Errorf("a secret leaked into the log:\n%s", logs.String())
	}
}

func TestParseUnknownTypeIsLogged(t *testing.T) {
	var logs bytes.Buffer
	c := newTestChannel(t, testGroup, testSecret, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	envs, ack, err := parse(c, fixture(t, "constructed-group-join.json", nil))
	if err != nil || len(envs) != 0 || string(ack) != "ok" {
		t.Fatalf("Parse = %v, %q, %v", envs, ack, err)
	}
	if !strings.Contains(logs.String(), "event type not handled") || !strings.Contains(logs.String(), "group_join") {
		t.Errorf("unknown type not logged:\n%s", logs.String())
	}
}

// An echo of a message leadhub sent itself is not filed again; the same
// message written in VK's interface is.
func TestParseReplyEcho(t *testing.T) {
	c := newTestChannel(t, testGroup, testSecret, nil)
	sent := inbox.Message{ID: 4242, CreatedAt: testNow}
	rid := c.RandomID(sent)
	echo := []byte(strings.Replace(string(fixture(t, "constructed-message-reply.json", nil)), `"random_id": 0`, `"random_id": `+itoa(rid), 1))
	envs, ack, err := parse(c, echo)
	if err != nil || len(envs) != 0 || string(ack) != "ok" {
		t.Fatalf("echo of our own send: Parse = %v, %q, %v; want nothing to file", envs, ack, err)
	}
	// Another channel (another community, another hub) sending the same
	// leadhub message id is not us.
	other := newTestChannel(t, testGroup, testSecret, func(o *Options) { o.ChannelID = "vk2" })
	if envs, _, _ := parse(other, echo); len(envs) != 1 {
		t.Fatalf("another channel's random_id was taken for its own: %v", envs)
	}
}

func TestRandomID(t *testing.T) {
	c := newTestChannel(t, testGroup, testSecret, nil)
	m := inbox.Message{ID: 17, CreatedAt: testNow}
	a, b := c.RandomID(m), c.RandomID(m)
	if a != b || a <= 0 {
		t.Fatalf("random_id %d, %d: want one positive value for one message", a, b)
	}
	if !c.isOwnRandomID(a) || c.isOwnRandomID(0) {
		t.Fatal("own random_id not recognised")
	}
	if c.RandomID(inbox.Message{ID: 18, CreatedAt: testNow}) == a {
		t.Fatal("two messages share a random_id")
	}
	// A fresh database reusing id 17 later must not repeat it.
	if c.RandomID(inbox.Message{ID: 17, CreatedAt: testNow.Add(time.Hour)}) == a {
		t.Fatal("a reused message id repeated the random_id")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// BenchmarkParse is the connector's own share of the callback path: the
// secret check and the decoding of a photo message.
func BenchmarkParse(b *testing.B) {
	c := newTestChannel(b, testGroup, testSecret, nil)
	body := fixture(b, "vk-message-new-photo.json", map[string]any{"secret": testSecret, "message.peer_id": 555644284})
	r := httptest.NewRequest(http.MethodPost, "/hooks/vk/vk", nil)
	b.ReportAllocs()
	for b.Loop() {
		envs, _, err := c.Parse(r, body)
		if err != nil || len(envs) != 1 {
			b.Fatal(envs, err)
		}
	}
}
