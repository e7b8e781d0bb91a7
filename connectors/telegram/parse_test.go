package telegram

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

func hookRequest(body []byte, secret string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/telegram/tg", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	if secret != "" {
		r.Header.Set(SecretHeader, secret)
	}
	return r
}

func TestParseUpdates(t *testing.T) {
	tg := func(id string) inbox.Identity { return inbox.Identity{Kind: inbox.IdentityTelegram, Value: id} }
	irina := []inbox.Identity{tg("5012345678")}
	tests := []struct {
		file string
		none bool // an update that is not a customer's message: no envelope
		key  string
		name string
		text string
		ids  []inbox.Identity
		atts []inbox.Attachment
		// meta entries that must be there; "" means must be absent
		meta map[string]string
		ext  string
		item inbox.Item  // "" means a message
		fact *inbox.Fact // the fact of an ItemFact
		at   time.Time
	}{
		{
			file: "telegram-update-text.json", key: "tg:tg:10000", name: "Test Firstname Test Lastname", text: "/start",
			ids: []inbox.Identity{tg("1111111")}, ext: "1111111:1365", at: time.Unix(1441645532, 0),
			meta: map[string]string{"telegram_username": "Testusername", "start_payload": ""},
		},
		{
			file: "telegram-update-reply.json", key: "tg:tg:10000", name: "Test Firstname Test Lastname", text: "/start",
			ids: []inbox.Identity{tg("1111111")}, ext: "1111111:1365",
			meta: map[string]string{"reply_to": "1111111:1334"},
		},
		{
			file: "telegram-update-edited-message.json", key: "tg:tg:10000", name: "Test Firstname Test Lastname", text: "Edited text",
			ids: []inbox.Identity{tg("1111111")}, ext: "1111111:1365", item: inbox.ItemEdit, at: time.Unix(1441646600, 0),
		},
		{file: "telegram-update-callback-query.json", none: true},
		{
			file: "telegram-update-photo.json", key: "tg:tg:2342342343242", name: "Sojan Jose", text: "[photo]",
			ids: []inbox.Identity{tg("23")}, ext: "23:1",
			atts: []inbox.Attachment{{URL: "tg-file:AgACAgUAAxkBAAODYV3aGZlD6vhzKsE2WNmblsr6zKwAAi-tMRvCoeBWNQ1ENVBzJdwBAAMCAANzAAMhBA", Name: "photo.jpg", MIME: "image/jpeg", Size: 1883}},
			meta: map[string]string{"telegram_username": "sojan"},
		},
		{
			file: "telegram-update-voice.json", key: "tg:tg:2342342343242", name: "Sojan Jose", text: "[voice message 0:02]",
			ids: []inbox.Identity{tg("23")}, ext: "23:1",
			atts: []inbox.Attachment{{URL: "tg-file:AwACAgUAAxkBAANjYVwnWF_w8LYTchqVdK9dY7mbwYEAAskDAALCoeBWFvS2u4zS6HAhBA", Name: "voice.ogg", MIME: "audio/ogg", Size: 11833}},
		},
		{
			file: "telegram-update-document.json", key: "tg:tg:2342342343242", name: "Sojan Jose", text: "[document: Screenshot 2021-09-27 at 2.01.14 PM.png]",
			ids: []inbox.Identity{tg("23")}, ext: "23:1",
			atts: []inbox.Attachment{{URL: "tg-file:AwADBAADbXXXXXXXXXXXGBdhD2l6_XX", Name: "Screenshot 2021-09-27 at 2.01.14 PM.png", MIME: "application/png", Size: 536392}},
		},
		{
			file: "telegram-update-caption.json", key: "tg:tg:2342342343242", name: "Sojan Jose", text: "test",
			ids: []inbox.Identity{tg("23")}, ext: "23:1",
		},
		{
			file: "constructed-start-payload.json", key: "tg:tg:800000101", name: "Ирина Смирнова", text: "/start", ids: irina, ext: "5012345678:11",
			meta: map[string]string{"start_payload": "spring_sale-2026", "telegram_username": "irina_sm"},
		},
		{file: "constructed-sticker.json", key: "tg:tg:800000102", name: "Ирина Смирнова", text: "[sticker 👍]", ids: irina, ext: "5012345678:12"},
		{
			file: "constructed-location.json", key: "tg:tg:800000103", name: "Ирина Смирнова", text: "📍 55.751244, 37.618423", ids: irina, ext: "5012345678:13",
			meta: map[string]string{"latitude": "55.751244", "longitude": "37.618423"},
		},
		{
			file: "constructed-venue.json", key: "tg:tg:800000104", name: "Ирина Смирнова", text: "📍 Эрмитаж, Дворцовая пл., 2, Санкт-Петербург (59.939095, 30.315868)", ids: irina, ext: "5012345678:14",
			meta: map[string]string{"latitude": "59.939095", "venue_title": "Эрмитаж"},
		},
		{
			// The sender's own number is a fact about their card, and joins
			// it written in E.164.
			file: "constructed-contact-own.json", key: "tg:tg:800000105", name: "Ирина Смирнова", text: "[contact: Ирина Смирнова, 79123456789]",
			ids: []inbox.Identity{tg("5012345678"), {Kind: inbox.IdentityPhone, Value: "+79123456789"}}, ext: "5012345678:15",
			meta: map[string]string{"contact_phone": "79123456789", "contact_user_id": "5012345678"},
			item: inbox.ItemFact, fact: &inbox.Fact{Name: inbox.FactContactShared, Value: "79123456789"},
		},
		{
			// Someone else's contact is shown but joins nothing.
			file: "constructed-contact-forwarded.json", key: "tg:tg:800000106", name: "Ирина Смирнова", text: "[contact: Пётр, +79219876543]",
			ids: irina, ext: "5012345678:16", meta: map[string]string{"contact_phone": "+79219876543", "contact_name": "Пётр"},
		},
		{
			file: "constructed-video.json", key: "tg:tg:800000107", name: "Ирина Смирнова", text: "Вот так сейчас выглядит кухня", ids: irina, ext: "5012345678:17",
			atts: []inbox.Attachment{{URL: "tg-file:BAACAgIAAxkBAAIBR2Wm", Name: "кухня.mp4", MIME: "video/mp4", Size: 8254112}},
		},
		{
			file: "constructed-video-note.json", key: "tg:tg:800000108", name: "Ирина Смирнова", text: "[video message 0:15]", ids: irina, ext: "5012345678:18",
			atts: []inbox.Attachment{{URL: "tg-file:DQACAgIAAxkBAAIBS2Wm", Name: "video_message.mp4", MIME: "video/mp4", Size: 1048576}},
		},
		{
			file: "constructed-audio.json", key: "tg:tg:800000109", name: "Ирина Смирнова", text: "[audio: Кино – Группа крови 3:25]", ids: irina, ext: "5012345678:19",
			atts: []inbox.Attachment{{URL: "tg-file:CQACAgIAAxkBAAIBT2Wm", Name: "gruppa_krovi.mp3", MIME: "audio/mpeg", Size: 4920000}},
		},
		{
			// The largest size is the one kept.
			file: "constructed-photo-album.json", key: "tg:tg:800000110", name: "Ирина Смирнова", text: "Сколько будет стоить такой шкаф?", ids: irina, ext: "5012345678:20",
			atts: []inbox.Attachment{{URL: "tg-file:AgACAgIAAxkBAAIBU2Wm-x", Name: "photo.jpg", MIME: "image/jpeg", Size: 141720}},
			meta: map[string]string{"media_group_id": "13691837450612345"},
		},
		{
			file: "constructed-big-video.json", key: "tg:tg:800000111", name: "Ирина Смирнова", text: "[video 1:02, 25.0 MB: too large to download, see it in Telegram]", ids: irina, ext: "5012345678:21",
			atts: []inbox.Attachment{{URL: "tg-file:BAACAgIAAxkBAAIBV2Wm", Name: "video.mp4", MIME: "video/mp4", Size: 26214400}},
			meta: map[string]string{"file_note": "the file is 25.0 MB; bots can download at most 20 MB, so it stays in Telegram: open the chat in Telegram to see it"},
		},
		{
			file: "constructed-forward-unknown-origin.json", key: "tg:tg:800000115", name: "Ирина Смирнова", text: "Пересылаю вам условия", ids: irina, ext: "5012345678:24",
		},
		{file: "constructed-group-message.json", none: true},
		{file: "constructed-channel-post.json", none: true},
		{file: "constructed-my-chat-member.json", none: true},
		{file: "constructed-dice.json", none: true},
	}
	c, _ := newChannel(t, newFake(t).srv.URL, nil)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFile(t, tt.file)
			envs, ack, err := c.Parse(hookRequest(body, testSecret), body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if ack != nil {
				t.Errorf("ack = %q, want nil (the web layer's default 200)", ack)
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
				t.Errorf("envelope does not validate: %v", err)
			}
			if e.DedupeKey != tt.key || e.ChannelID != "tg" || e.ChannelType != inbox.ChannelTelegram || e.Kind != inbox.KindText {
				t.Errorf("key, channel, type, kind = %q %q %q %q; want %q tg telegram text", e.DedupeKey, e.ChannelID, e.ChannelType, e.Kind, tt.key)
			}
			if e.Text != tt.text {
				t.Errorf("text = %q, want %q", e.Text, tt.text)
			}
			if e.From.Name != tt.name {
				t.Errorf("name = %q, want %q", e.From.Name, tt.name)
			}
			if !reflect.DeepEqual(e.From.Identities, tt.ids) {
				t.Errorf("identities = %v, want %v", e.From.Identities, tt.ids)
			}
			if !reflect.DeepEqual(e.Attachments, tt.atts) {
				t.Errorf("attachments = %+v, want %+v", e.Attachments, tt.atts)
			}
			for k, want := range tt.meta {
				if got, ok := e.Meta[k]; got != want || (want == "" && ok) {
					t.Errorf("meta[%s] = %q (present %v), want %q", k, got, ok, want)
				}
			}
			item := tt.item
			if item == "" {
				item = inbox.ItemMessage
			}
			if e.ExternalID != tt.ext || e.Item != item || e.Edit {
				t.Errorf("external id, item, edit = %q %q %v; want %q %q false", e.ExternalID, e.Item, e.Edit, tt.ext, item)
			}
			if !reflect.DeepEqual(e.Fact, tt.fact) {
				t.Errorf("fact = %+v, want %+v", e.Fact, tt.fact)
			}
			if !tt.at.IsZero() && !e.ReceivedAt.Equal(tt.at) {
				t.Errorf("received at = %v, want %v", e.ReceivedAt, tt.at.UTC())
			}
		})
	}
}

func TestParseSameUpdateTwice(t *testing.T) {
	c, _ := newChannel(t, newFake(t).srv.URL, nil)
	body := readFile(t, "telegram-update-photo.json")
	var keys []string
	for range 2 {
		envs, _, err := c.Parse(hookRequest(body, testSecret), body)
		if err != nil || len(envs) != 1 {
			t.Fatalf("Parse: %d envelopes, %v", len(envs), err)
		}
		keys = append(keys, envs[0].DedupeKey)
	}
	if keys[0] != keys[1] || keys[0] != "tg:tg:2342342343242" {
		t.Fatalf("dedupe keys = %q, want the same tg:tg:2342342343242 twice", keys)
	}
}

func TestParseRejects(t *testing.T) {
	text := string(readFile(t, "telegram-update-text.json"))
	tests := []struct {
		name, body, secret, code string
	}{
		{"no secret header", text, "", inbox.EFORBIDDEN},
		{"wrong secret", text, "hook_Secret-124", inbox.EFORBIDDEN},
		{"secret in other case", text, strings.ToLower(testSecret), inbox.EFORBIDDEN},
		{"secret prefix", text, testSecret[:5], inbox.EFORBIDDEN},
		{"not json", `update_id=1`, testSecret, inbox.EINVALID},
		{"truncated", text[:40], testSecret, inbox.EINVALID},
		{"json array", `[{"update_id":1}]`, testSecret, inbox.EINVALID},
		{"null", `null`, testSecret, inbox.EINVALID},
		{"empty object", `{}`, testSecret, inbox.EINVALID},
		{"update_id not a number", `{"update_id":"10000","message":{}}`, testSecret, inbox.EINVALID},
		{"update_id zero", `{"update_id":0,"message":{"text":"x"}}`, testSecret, inbox.EINVALID},
		{"message not an object", `{"update_id":5,"message":"hello"}`, testSecret, inbox.EINVALID},
		{"text not a string", `{"update_id":5,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"from":{"id":1},"text":5}}`, testSecret, inbox.EINVALID},
	}
	c, _ := newChannel(t, newFake(t).srv.URL, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envs, _, err := c.Parse(hookRequest([]byte(tt.body), tt.secret), []byte(tt.body))
			if got := inbox.ErrorCode(err); got != tt.code {
				t.Fatalf("code = %q (err %v), want %q", got, err, tt.code)
			}
			if len(envs) != 0 {
				t.Errorf("got %d envelopes with an error", len(envs))
			}
		})
	}
}

func TestParseWithoutSecretRejectsEverything(t *testing.T) {
	// A polling channel has no secret: a request to its webhook is never
	// genuine.
	c, _ := newChannel(t, newFake(t).srv.URL, func(o *Options) { o.Mode = ModePolling; o.Secret = "" })
	body := readFile(t, "telegram-update-text.json")
	for _, secret := range []string{"", "anything"} {
		if _, _, err := c.Parse(hookRequest(body, secret), body); inbox.ErrorCode(err) != inbox.EFORBIDDEN {
			t.Errorf("secret %q: err = %v, want forbidden", secret, err)
		}
	}
}

func TestParseLogsUnhandledUpdates(t *testing.T) {
	c, logs := newChannel(t, newFake(t).srv.URL, nil)
	body := readFile(t, "telegram-update-callback-query.json")
	envs, _, err := c.Parse(hookRequest(body, testSecret), body)
	if err != nil || len(envs) != 0 {
		t.Fatalf("got %d envelopes, %v; want none and no error", len(envs), err)
	}
	out := logs.String()
	if !strings.Contains(out, "level=INFO") || !strings.Contains(out, "update_type=callback_query") || !strings.Contains(out, "update_id=10000") {
		t.Errorf("log = %q, want an info line naming callback_query and the update id", out)
	}
	if strings.Contains(out, "Data from button callback") {
		t.Errorf("log carries the update's content: %q", out)
	}
}

func TestParseUnusableDateFallsBackToNow(t *testing.T) {
	c, _ := newChannel(t, newFake(t).srv.URL, nil)
	for _, date := range []string{"0", "-5", "99999999999999", "1000"} {
		body := []byte(`{"update_id":9,"message":{"message_id":3,"from":{"id":42,"first_name":"A"},"chat":{"id":42,"type":"private"},"date":` + date + `,"text":"hi"}}`)
		envs, _, err := c.Parse(hookRequest(body, testSecret), body)
		if err != nil || len(envs) != 1 {
			t.Fatalf("date %s: %d envelopes, %v", date, len(envs), err)
		}
		if want := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC); !envs[0].ReceivedAt.Equal(want) {
			t.Errorf("date %s: received at = %v, want now (%v)", date, envs[0].ReceivedAt, want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"b","username":"b"}}`)
	}))
	defer srv.Close()
	c, err := New(b.Context(), Options{ChannelID: "tg", Token: testToken, Secret: testSecret, APIURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	body := readFile(b, "constructed-photo-album.json")
	b.ReportAllocs()
	for b.Loop() {
		r := hookRequest(body, testSecret)
		if envs, _, err := c.Parse(r, body); err != nil || len(envs) != 1 {
			b.Fatal(err)
		}
	}
}
