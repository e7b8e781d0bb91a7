package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

func outbound(text string, atts ...inbox.Attachment) inbox.Outbound {
	return inbox.Outbound{
		Message:     inbox.Message{ID: 7, ConversationID: 3, Direction: inbox.DirectionOut, Text: text, Attachments: atts},
		ChannelID:   "tg",
		ChannelType: inbox.ChannelTelegram,
		ClientID:    5,
		To: []inbox.Identity{
			{Kind: inbox.IdentityPhone, Value: "+79123456789"},
			{Kind: inbox.IdentityTelegram, Value: strconv.FormatInt(testUser, 10)},
		},
		Attempt: 1,
	}
}

func isPermanent(err error) bool {
	var se *inbox.SendError
	return errors.As(err, &se) && se.Permanent
}

func TestSendText(t *testing.T) {
	f := newFake(t)
	c, _ := newChannel(t, f.srv.URL, nil)
	o := outbound("Добрый день! Замер можем сделать в субботу.")
	o.ReplyTo = "5012345678:15"
	id, err := c.Send(context.Background(), o)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id != "5012345678:101" {
		t.Errorf("external id = %q, want 5012345678:101", id)
	}
	calls := f.callsOf("sendMessage")
	if len(calls) != 1 {
		t.Fatalf("sendMessage calls = %d, want 1", len(calls))
	}
	form := calls[0].Form
	if form.Get("chat_id") != "5012345678" || form.Get("text") != "Добрый день! Замер можем сделать в субботу." {
		t.Errorf("form = %v", form)
	}
	var rp struct {
		MessageID int  `json:"message_id"`
		Allow     bool `json:"allow_sending_without_reply"`
	}
	if err := json.Unmarshal([]byte(form.Get("reply_parameters")), &rp); err != nil || rp.MessageID != 15 || !rp.Allow {
		t.Errorf("reply_parameters = %q (%v)", form.Get("reply_parameters"), err)
	}
}

func TestSendReplyToOtherChatIsNotThreaded(t *testing.T) {
	f := newFake(t)
	c, _ := newChannel(t, f.srv.URL, nil)
	for _, replyTo := range []string{"", "42:15", "garbage", "5012345678:x"} {
		o := outbound("hi")
		o.ReplyTo = replyTo
		if _, err := c.Send(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	for _, call := range f.callsOf("sendMessage") {
		if call.Form.Has("reply_parameters") {
			t.Errorf("threaded under a message of another chat: %v", call.Form)
		}
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		fixture    string
		permanent  bool
		blocked    bool
		retryAfter time.Duration
	}{
		{name: "429 flood control", fixture: "telegram-error-429.json", retryAfter: 34 * time.Second},
		{name: "403 blocked", fixture: "telegram-error-403-blocked.json", permanent: true, blocked: true},
		{name: "403 deactivated", status: 403, body: `{"ok":false,"error_code":403,"description":"Forbidden: user is deactivated"}`, permanent: true, blocked: true},
		{name: "400 bad request", status: 400, body: `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`, permanent: true},
		{name: "413 unknown to the library", status: 413, body: `{"ok":false,"error_code":413,"description":"Request Entity Too Large"}`, permanent: true},
		{name: "502 from the proxy", status: 502, body: `<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>`},
		{name: "500 in Telegram's words", status: 500, body: `{"ok":false,"error_code":500,"description":"Internal Server Error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.fixture != "" {
				f.replyFixture("sendMessage", tt.fixture)
			} else {
				f.reply("sendMessage", func(url.Values) (int, string) { return tt.status, tt.body })
			}
			c, _ := newChannel(t, f.srv.URL, nil)
			_, err := c.Send(context.Background(), outbound("hi"))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			assertNoToken(t, err)
			if got := isPermanent(err); got != tt.permanent {
				t.Errorf("permanent = %v, want %v (err %v)", got, tt.permanent, err)
			}
			if got := errors.Is(err, ErrBlocked); got != tt.blocked {
				t.Errorf("blocked = %v, want %v (err %v)", got, tt.blocked, err)
			}
			var se *inbox.SendError
			errors.As(err, &se)
			if tt.retryAfter > 0 && (se == nil || se.RetryAfter != tt.retryAfter) {
				t.Errorf("retry after not honoured: %#v", se)
			}
			if tt.blocked {
				want := inbox.Identity{Kind: inbox.IdentityTelegram, Value: "5012345678"}
				if se == nil || !se.Unreachable || se.Identity != want {
					t.Errorf("send error = %#v, want unreachable %v", se, want)
				}
				if !strings.Contains(err.Error(), "bot was blocked by the user") && !strings.Contains(err.Error(), "deactivated") {
					t.Errorf("error %q hides Telegram's reason", err)
				}
			} else if se != nil && se.Unreachable {
				t.Errorf("unreachable on %s", tt.name)
			}
		})
	}
}

func TestSendAttachments(t *testing.T) {
	photo := inbox.Attachment{URL: "https://cdn.example.com/catalog/shkaf.jpg", Name: "shkaf.jpg", MIME: "image/jpeg"}
	price := inbox.Attachment{URL: "https://cdn.example.com/price.pdf", Name: "price.pdf", MIME: "application/pdf"}
	forwarded := inbox.Attachment{URL: "tg-file:BQACAgIAAxkBAAIBX2Wm", Name: "plan.pdf", MIME: "application/pdf"}
	tests := []struct {
		name  string
		text  string
		atts  []inbox.Attachment
		calls []call // method and the fields that matter
	}{
		{"one photo with a caption", "Вот этот шкаф", []inbox.Attachment{photo},
			[]call{{"sendPhoto", url.Values{"photo": {photo.URL}, "caption": {"Вот этот шкаф"}}}}},
		{"text and two files", "Прайс и план", []inbox.Attachment{price, forwarded},
			[]call{
				{"sendMessage", url.Values{"text": {"Прайс и план"}}},
				{"sendDocument", url.Values{"document": {price.URL}}},
				{"sendDocument", url.Values{"document": {"BQACAgIAAxkBAAIBX2Wm"}}},
			}},
		{"a file alone", "", []inbox.Attachment{price},
			[]call{{"sendDocument", url.Values{"document": {price.URL}, "caption": {""}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c, _ := newChannel(t, f.srv.URL, nil)
			o := outbound(tt.text, tt.atts...)
			o.ReplyTo = "5012345678:15"
			id, err := c.Send(context.Background(), o)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id != "5012345678:101" {
				t.Errorf("external id = %q, want the first message's", id)
			}
			f.mu.Lock()
			got := append([]call(nil), f.calls...)
			f.mu.Unlock()
			got = got[1:] // getMe
			if len(got) != len(tt.calls) {
				t.Fatalf("calls = %v, want %v", got, tt.calls)
			}
			for i, want := range tt.calls {
				if got[i].Method != want.Method || got[i].Form.Get("chat_id") != "5012345678" {
					t.Errorf("call %d = %s %v, want %s", i, got[i].Method, got[i].Form, want.Method)
				}
				for k := range want.Form {
					if got[i].Form.Get(k) != want.Form.Get(k) {
						t.Errorf("call %d %s = %q, want %q", i, k, got[i].Form.Get(k), want.Form.Get(k))
					}
				}
				if threaded := got[i].Form.Has("reply_parameters"); threaded != (i == 0) {
					t.Errorf("call %d threaded = %v; only the first message is a reply", i, threaded)
				}
			}
		})
	}
}

// An operator's file, in leadhub's storage, is uploaded with the call; one
// gone from storage fails for good.
func TestSendUploadsStoredFiles(t *testing.T) {
	files := &memFiles{}
	plan, _ := files.Save(context.Background(), "план.pdf", "application/pdf", 1<<20, strings.NewReader("%PDF plan"))
	photo, _ := files.Save(context.Background(), "kitchen.jpg", "image/jpeg", 1<<20, strings.NewReader("JPEG"))
	f := newFake(t)
	c, _ := newChannel(t, f.srv.URL, func(o *Options) { o.Source = files })
	if _, err := c.Send(context.Background(), outbound("Проект кухни", plan, photo)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := f.callsOf("sendDocument"); len(got) != 1 || got[0].Form.Get("upload:document") != "план.pdf:%PDF plan" {
		t.Errorf("sendDocument calls = %v", got)
	}
	if got := f.callsOf("sendPhoto"); len(got) != 1 || got[0].Form.Get("upload:photo") != "kitchen.jpg:JPEG" {
		t.Errorf("sendPhoto calls = %v", got)
	}
	gone := inbox.Attachment{URL: "/files/0123/lost.pdf", Name: "lost.pdf", MIME: "application/pdf"}
	if _, err := c.Send(context.Background(), outbound("", gone)); !isPermanent(err) {
		t.Errorf("a file gone from storage: err = %v, want permanent", err)
	}
}

func TestSendRefusesWhatCannotBeSent(t *testing.T) {
	long := strings.Repeat("я", maxTextLen+1)
	tests := []struct {
		name string
		o    inbox.Outbound
		want string
	}{
		{"no telegram identity", func() inbox.Outbound { o := outbound("hi"); o.To = o.To[:1]; return o }(), "no Telegram identity"},
		{"identity not a number", func() inbox.Outbound { o := outbound("hi"); o.To[1].Value = "@irina_sm"; return o }(), "not a user id"},
		{"empty", outbound("  "), "neither text nor attachments"},
		{"too long", outbound(long), "at most 4096"},
		{"stored file without a source", outbound("", inbox.Attachment{URL: "/files/ab/plan.pdf", Name: "plan.pdf"}), "public http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			c, _ := newChannel(t, f.srv.URL, nil)
			_, err := c.Send(context.Background(), tt.o)
			if !isPermanent(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a permanent error mentioning %q", err, tt.want)
			}
			f.mu.Lock()
			n := len(f.calls)
			f.mu.Unlock()
			if n != 1 {
				t.Errorf("%d calls reached Telegram, want only getMe", n)
			}
		})
	}
}

func fileRef() inbox.Attachment {
	return inbox.Attachment{URL: "tg-file:BQACAgIAAxkBAAIBX2Wm", Name: "Смета.pdf", MIME: "application/pdf", Size: 19}
}

func TestDownload(t *testing.T) {
	f := newFake(t)
	f.mu.Lock()
	f.files["documents/file_12.pdf"] = []byte("%PDF-1.7 fake body")
	f.mu.Unlock()
	f.reply("getFile", func(form url.Values) (int, string) {
		if form.Get("file_id") != "BQACAgIAAxkBAAIBX2Wm" {
			return 400, `{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}`
		}
		return 200, `{"ok":true,"result":{"file_id":"BQACAgIAAxkBAAIBX2Wm","file_unique_id":"AgADX2Wm","file_size":18,"file_path":"documents/file_12.pdf"}}`
	})
	files := &memFiles{}
	c, _ := newChannel(t, f.srv.URL, func(o *Options) { o.Files = files })
	got, err := c.Download(context.Background(), fileRef())
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	want := inbox.Attachment{URL: "/files/0123/Смета.pdf", Name: "Смета.pdf", MIME: "application/pdf", Size: 18}
	if got != want {
		t.Errorf("attachment = %+v, want %+v", got, want)
	}
	if string(files.saved["Смета.pdf"]) != "%PDF-1.7 fake body" {
		t.Errorf("saved %q", files.saved["Смета.pdf"])
	}

	// A file_id Telegram does not know: keep the reference, no retry.
	bad := fileRef()
	bad.URL = "tg-file:nope"
	got, err = c.Download(context.Background(), bad)
	if inbox.ErrorCode(err) != inbox.ENOTFOUND || got != bad {
		t.Errorf("unknown file: %+v, %v; want the reference back and not_found", got, err)
	}
	if _, err := c.Download(context.Background(), inbox.Attachment{URL: "https://x.example/a.pdf"}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("non-reference: err = %v, want invalid", err)
	}
}

func TestDownloadTooLarge(t *testing.T) {
	f := newFake(t)
	c, _ := newChannel(t, f.srv.URL, func(o *Options) { o.Files = &memFiles{} })

	// Known from the update: Telegram is not even asked.
	big := fileRef()
	big.Size = 25 << 20
	got, err := c.Download(context.Background(), big)
	if inbox.ErrorCode(err) != inbox.ETOOLARGE || got != big {
		t.Fatalf("got %+v, %v; want the reference back and too_large", got, err)
	}
	if !strings.Contains(inbox.ErrorMessage(err), "25.0 MB") || !strings.Contains(inbox.ErrorMessage(err), "20 MB") {
		t.Errorf("note = %q", inbox.ErrorMessage(err))
	}
	if n := len(f.callsOf("getFile")); n != 0 {
		t.Errorf("getFile called %d times for a file over the limit", n)
	}

	// Size unknown in the update: Telegram says so.
	f.reply("getFile", func(url.Values) (int, string) {
		return 400, `{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}`
	})
	unknown := fileRef()
	unknown.Size = 0
	got, err = c.Download(context.Background(), unknown)
	if inbox.ErrorCode(err) != inbox.ETOOLARGE || got != unknown {
		t.Errorf("got %+v, %v; want the reference back and too_large", got, err)
	}
}

func TestDownloadWithoutFiles(t *testing.T) {
	c, _ := newChannel(t, newFake(t).srv.URL, nil)
	if _, err := c.Download(context.Background(), fileRef()); err == nil || !strings.Contains(err.Error(), "no attachment storage") {
		t.Errorf("err = %v", err)
	}
}

func TestResolve(t *testing.T) {
	f := newFake(t)
	f.mu.Lock()
	f.files["photos/file_3.jpg"] = []byte("\xff\xd8\xff jpeg")
	f.mu.Unlock()
	f.reply("getFile", func(form url.Values) (int, string) {
		switch form.Get("file_id") {
		case "good":
			return 200, `{"ok":true,"result":{"file_id":"good","file_unique_id":"u1","file_size":9,"file_path":"photos/file_3.jpg"}}`
		case "flaky":
			return 500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`
		}
		return 400, `{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}`
	})
	files := &memFiles{}
	c, logs := newChannel(t, f.srv.URL, func(o *Options) { o.Files = files })
	shared := []inbox.Attachment{
		{URL: "tg-file:good", Name: "photo.jpg", MIME: "image/jpeg", Size: 9},
		{URL: "https://example.com/price.pdf", Name: "price.pdf"},
	}
	e := inbox.Envelope{DedupeKey: "tg:tg:1", Attachments: shared, Meta: map[string]string{"telegram_username": "irina_sm"}}
	c.Resolve(context.Background(), &e)
	want := []inbox.Attachment{
		{URL: "/files/0123/photo.jpg", Name: "photo.jpg", MIME: "image/jpeg", Size: 8},
		{URL: "https://example.com/price.pdf", Name: "price.pdf"},
	}
	if !reflect.DeepEqual(e.Attachments, want) {
		t.Errorf("attachments = %+v, want %+v", e.Attachments, want)
	}
	if shared[0].URL != "tg-file:good" {
		t.Errorf("Resolve wrote into the caller's slice")
	}
	if _, ok := e.Meta["file_note"]; ok {
		t.Errorf("note on a resolved envelope: %v", e.Meta)
	}

	for _, tt := range []struct {
		name, url string
		size      int64
		note      string
	}{
		{"too large", "tg-file:big", 25 << 20, "25.0 MB"},
		{"telegram failing", "tg-file:flaky", 10, "could not be downloaded"},
	} {
		meta := map[string]string{"telegram_username": "irina_sm"}
		ref := inbox.Attachment{URL: tt.url, Name: "video.mp4", MIME: "video/mp4", Size: tt.size}
		e := inbox.Envelope{DedupeKey: "tg:tg:2", Attachments: []inbox.Attachment{ref}, Meta: meta}
		c.Resolve(context.Background(), &e)
		if e.Attachments[0] != ref {
			t.Errorf("%s: attachment = %+v, want the reference kept", tt.name, e.Attachments[0])
		}
		if !strings.Contains(e.Meta["file_note"], tt.note) || e.Meta["telegram_username"] != "irina_sm" {
			t.Errorf("%s: meta = %v, want a note mentioning %q", tt.name, e.Meta, tt.note)
		}
		if _, ok := meta["file_note"]; ok {
			t.Errorf("%s: Resolve wrote into the caller's map", tt.name)
		}
	}
	if !strings.Contains(logs.String(), "attachment kept as a reference") {
		t.Errorf("a failed download is not logged")
	}
}
