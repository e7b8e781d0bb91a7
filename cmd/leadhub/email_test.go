package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/connectors/email/emailtest"
	"github.com/leadhub/leadhub/inbox"
)

// emailChannel is an email channel on the in-process servers.
func emailChannel(t *testing.T, imapAddr, smtpAddr string) config.Channel {
	t.Helper()
	ih, ip, _ := net.SplitHostPort(imapAddr)
	sh, sp, _ := net.SplitHostPort(smtpAddr)
	iport, _ := strconv.Atoi(ip)
	sport, _ := strconv.Atoi(sp)
	return config.Channel{ID: "mail", Type: "email",
		IMAPHost: ih, IMAPPort: iport, IMAPTLS: "none", Username: emailtest.User, Password: emailtest.Password,
		SentMailbox: "Sent", SMTPHost: sh, SMTPPort: sport, SMTPTLS: "none", FromName: "Shop"}
}

// testMails are 51 deliveries of 50 distinct mails: the shared fixtures
// (two of which share one Message-ID, as in the originals), a Gmail and an
// Outlook message, Windows-1251 and KOI8-R ones, a bounce, one without a
// Message-ID, a malformed one, and 20 customers who write and then answer
// their own first mail.
func testMails(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, name := range []string{"email-only-text.eml", "email-reply.eml", "email-auto-reply-x-autoreply.eml", "email-auto-submitted.eml",
		"gmail-reply.eml", "outlook-html-attachment.eml", "windows-1251.eml", "koi8-r.eml", "bounce-dsn.eml", "no-message-id.eml", "malformed-mime.eml"} {
		b, err := os.ReadFile(filepath.Join("../../connectors/email/testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	for k := 1; k <= 20; k++ {
		out = append(out, []byte(fmt.Sprintf("From: Client %d <client%02d@example.com>\r\nTo: sales@shop.test\r\nSubject: Question %d\r\n"+
			"Message-ID: <first-%d@example.com>\r\nDate: Mon, 2 Dec 2024 10:00:00 +0000\r\n\r\nHow much is item %d?\r\n", k, k, k, k, k)))
	}
	for k := 1; k <= 20; k++ {
		refs := fmt.Sprintf("References: <first-%d@example.com>\r\n", k)
		if k%2 == 0 {
			refs = "" // mail programs that drop References
		}
		out = append(out, []byte(fmt.Sprintf("From: client%02d@example.com\r\nTo: sales@shop.test\r\nSubject: Re: Question %d\r\n"+
			"Message-ID: <reply-%d@example.com>\r\nIn-Reply-To: <first-%d@example.com>\r\n%sDate: Mon, 2 Dec 2024 11:00:00 +0000\r\n\r\nAnd delivery?\r\n\r\n> How much is item %d?\r\n", k, k, k, k, refs, k)))
	}
	return out
}

// TestEmailThroughTheHub delivers 51 mails (50 distinct) to a real IMAP
// server with the hub stopped halfway, then answers one and checks what the
// SMTP server and the Sent folder got, then changes the mailbox's
// UIDVALIDITY and checks the re-scan files nothing twice and does not bring
// back an erased card.
func TestEmailThroughTheHub(t *testing.T) {
	imapSrv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	smtpSrv := emailtest.NewSMTP(t, "none", emailtest.TLS{})
	cfg := testConfig(t, false, false, "")
	cfg.Channels = append(cfg.Channels, emailChannel(t, imapSrv.Addr, smtpSrv.Addr))
	token := createToken(t, cfg)
	mails := testMails(t)

	checkpoint := func(h *hub) (pos string) {
		h.backend.store.DB().Get(&pos, "SELECT position FROM poller_checkpoints WHERE source = 'email:mail:INBOX'")
		return pos
	}
	inbound := func(h *hub) int {
		var n int
		if err := h.backend.store.DB().Get(&n, "SELECT count(*) FROM messages WHERE direction = 'in'"); err != nil {
			t.Fatal(err)
		}
		return n
	}

	for _, m := range mails[:25] {
		imapSrv.Deliver(t, "INBOX", m)
	}
	first := startHub(t, cfg)
	waitFor(t, "the first 25 mails filed", func() bool { return checkpoint(first.hub) == "1:25" && drained(first) })
	if n := inbound(first.hub); n != 24 {
		t.Fatalf("%d messages from 25 mails, one of them a copy", n)
	}
	first.stop()
	for _, m := range mails[25:] {
		imapSrv.Deliver(t, "INBOX", m)
	}
	r := startHub(t, cfg)
	waitFor(t, "all 51 mails filed", func() bool { return checkpoint(r.hub) == "1:51" && drained(r) })
	if n := inbound(r.hub); n != 50 {
		t.Fatalf("%d messages stored, want exactly 50", n)
	}

	db := r.hub.backend.store.DB()
	convOf := func(externalID string) int64 {
		t.Helper()
		var id int64
		if err := db.Get(&id, "SELECT conversation_id FROM messages WHERE external_id = ?", externalID); err != nil {
			t.Fatalf("message %s: %v", externalID, err)
		}
		return id
	}
	seen := map[int64]int{}
	for k := 1; k <= 20; k++ {
		c := convOf(fmt.Sprintf("first-%d@example.com", k))
		if reply := convOf(fmt.Sprintf("reply-%d@example.com", k)); reply != c {
			t.Errorf("client %d's reply is in conversation %d, their first mail in %d", k, reply, c)
		}
		if other, dup := seen[c]; dup {
			t.Errorf("clients %d and %d share conversation %d", other, k, c)
		}
		seen[c] = k
	}
	if a, b := convOf("0CB459E0-0336-41DA-BC88-E6E28C697DDBF@chatwoot.com"), convOf("0CB459E0-0336-41DA-BC88-E6E28C697DDB@chatwoot.com"); a != b {
		t.Errorf("one sender's mails in conversations %d and %d", a, b)
	}
	meta := func(externalID string) map[string]string {
		t.Helper()
		var raw string
		if err := db.Get(&raw, "SELECT meta FROM messages WHERE external_id = ?", externalID); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		json.Unmarshal([]byte(raw), &m)
		return m
	}
	if m := meta("0CB459E0-0336-41DA-BC88-E6E28C697DDB@chatwoot.com"); m["auto"] != "auto-reply" {
		t.Errorf("auto-reply meta %v", m)
	}
	if m := meta("broken-1@example.net"); m["malformed"] == "" {
		t.Errorf("malformed mail not flagged: %v", m)
	}
	var noID int
	db.Get(&noID, "SELECT count(*) FROM messages WHERE external_id LIKE '%@no-message-id.leadhub.invalid'")
	if noID != 1 {
		t.Errorf("%d messages with a synthetic id, want 1", noID)
	}
	bounced := findClient(t, r, token, "no.such.user@example.org")
	if len(bounced.Unreachable) != 1 || bounced.Unreachable[0].Value != "no.such.user@example.org" {
		t.Errorf("bounced card's unreachable = %+v", bounced.Unreachable)
	}

	// An operator answers the Gmail customer.
	anna := convOf("CAF=gmail-0001@mail.gmail.com")
	// With a file, uploaded the way the page does (multipart).
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("text", "Доставим в четверг.")
	fw, _ := mw.CreateFormFile("files", "смета.pdf")
	io.WriteString(fw, "%PDF-1.4 смета 350 000")
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/conversations/%d/messages", r.base, anna), &form)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("reply: status %d", resp.StatusCode)
	}
	waitFor(t, "the reply sent", func() bool {
		var n int
		db.Get(&n, "SELECT count(*) FROM messages WHERE direction = 'out' AND delivery = 'sent'")
		return n == 1
	})
	got := smtpSrv.Received()
	if len(got) != 1 || got[0].To[0] != "anna.smirnova@gmail.com" {
		t.Fatalf("SMTP got %+v", got)
	}
	mr, err := mail.CreateReader(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := mr.Header.MessageID()
	irt, _ := mr.Header.MsgIDList("In-Reply-To")
	refs, _ := mr.Header.MsgIDList("References")
	subj, _ := mr.Header.Subject()
	if len(irt) != 1 || irt[0] != "CAF=gmail-0001@mail.gmail.com" || strings.Join(refs, " ") != "leadhub.1.abc@shop.test CAF=gmail-0001@mail.gmail.com" || subj != "Re: Заказ №42 — доставка" {
		t.Errorf("reply headers: In-Reply-To %q, References %q, Subject %q", irt, refs, subj)
	}
	// The operator's file went out as an attachment of the mail.
	var attached []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if h, ok := p.Header.(*mail.AttachmentHeader); ok {
			name, _ := h.Filename()
			body, _ := io.ReadAll(p.Body)
			attached = append(attached, name+":"+string(body))
		}
	}
	if len(attached) != 1 || attached[0] != "смета.pdf:%PDF-1.4 смета 350 000" {
		t.Errorf("the reply's attachments: %q", attached)
	}
	var ext string
	db.Get(&ext, "SELECT external_id FROM messages WHERE direction = 'out'")
	if ext != id || id == "" {
		t.Errorf("stored external id %q, sent Message-ID %q", ext, id)
	}
	if sent := imapSrv.Messages(t, "Sent"); len(sent) != 1 || !bytes.Equal(sent[0], got[0].Data) {
		t.Errorf("Sent holds %d messages", len(sent))
	}

	// The customer answers the reply (In-Reply-To: the hub's Message-ID),
	// and a copy of the hub's own reply comes back (a Bcc to itself): the
	// answer joins the conversation, the copy is skipped.
	imapSrv.Deliver(t, "INBOX", []byte("From: anna.smirnova@gmail.com\r\nTo: sales@shop.test\r\nSubject: Re: Re: Заказ\r\nMessage-ID: <anna-2@mail.gmail.com>\r\nIn-Reply-To: <"+id+">\r\n\r\nСпасибо!\r\n"))
	imapSrv.Deliver(t, "INBOX", got[0].Data)
	// Her colleague answers all from his own address: his mail joins her
	// conversation, which its In-Reply-To names.
	imapSrv.Deliver(t, "INBOX", []byte("From: Pavel <pavel@company.test>\r\nTo: sales@shop.test\r\nCc: anna.smirnova@gmail.com\r\nSubject: Re: Заказ\r\nMessage-ID: <pavel-1@company.test>\r\nIn-Reply-To: <"+id+">\r\nReferences: <CAF=gmail-0001@mail.gmail.com> <"+id+">\r\n\r\nИ мне копию счёта.\r\n"))
	waitFor(t, "all three filed", func() bool { return checkpoint(r.hub) == "1:54" && drained(r) })
	if c := convOf("anna-2@mail.gmail.com"); c != anna {
		t.Errorf("the answer to the reply went to conversation %d, want %d", c, anna)
	}
	if c := convOf("pavel-1@company.test"); c != anna {
		t.Errorf("the colleague's answer went to conversation %d, want %d", c, anna)
	}
	if n := inbound(r.hub); n != 52 {
		t.Errorf("%d inbound messages after the answers and the copy, want 52", n)
	}

	// An operator writes first to a lead that came through the API
	// channel: an email conversation opens and the mail goes out.
	postMessage(t, r, "lead-1", `{"name":"Лид","email":"lead@example.com","phone":"+79120000009"}`, "перезвоните")
	lead := findClient(t, r, token, "lead@example.com")
	var start struct {
		Conversation inbox.Conversation `json:"conversation"`
		Message      inbox.Message      `json:"message"`
	}
	if code := apiCall(t, r.base, token, http.MethodPost, fmt.Sprintf("/api/v1/clients/%d/conversations", lead.ID),
		`{"channel":"mail","to":"lead@example.com","subject":"Ваша заявка","text":"Здравствуйте! Пишем по вашей заявке."}`, &start); code != http.StatusAccepted {
		t.Fatalf("start a mail: %d", code)
	}
	if start.Conversation.ChannelID != "mail" || start.Conversation.ClientID != lead.ID {
		t.Fatalf("started %+v", start.Conversation)
	}
	waitFor(t, "the new mail sent", func() bool { return len(smtpSrv.Received()) == 2 })
	newMail := smtpSrv.Received()[1]
	nr, err := mail.CreateReader(bytes.NewReader(newMail.Data))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := nr.Header.Subject(); s != "Ваша заявка" || newMail.To[0] != "lead@example.com" || nr.Header.Get("In-Reply-To") != "" {
		t.Errorf("new mail: to %v, subject %q, In-Reply-To %q", newMail.To, s, nr.Header.Get("In-Reply-To"))
	}

	// An admin erases a card; then the mailbox is rebuilt (UIDVALIDITY
	// changes) with every mail still in it.
	olga := findClient(t, r, token, "olga@mail.ru")
	if code := apiCall(t, r.base, token, http.MethodPost, fmt.Sprintf("/api/v1/clients/%d/erase", olga.ID), "", nil); code != http.StatusOK {
		t.Fatalf("erase: %d", code)
	}
	// (A server migration: the hub finds the new mailbox when it
	// connects again.)
	before := inbound(r.hub)
	r.stop()
	imapSrv.Recreate(t, "INBOX")
	for _, m := range mails {
		imapSrv.Deliver(t, "INBOX", m)
	}
	r = startHub(t, cfg)
	db = r.hub.backend.store.DB()
	waitFor(t, "the re-scan", func() bool {
		cp := checkpoint(r.hub)
		return !strings.HasPrefix(cp, "1:") && strings.HasSuffix(cp, ":51") && drained(r)
	})
	if n := inbound(r.hub); n != before {
		t.Errorf("the re-scan changed the inbound messages from %d to %d", before, n)
	}
	var cards int
	db.Get(&cards, "SELECT count(*) FROM identities WHERE value = 'olga@mail.ru'")
	if cards != 0 {
		t.Errorf("the erased client's address is back on %d cards", cards)
	}
}

func drained(r *running) bool {
	st, err := r.hub.backend.queue.Stats(context.Background())
	return err == nil && st.Depth == 0
}

// TestEmailWrongPasswordOnHealth: a refused login shows on the channels'
// health API as down, with the server's reason and no password.
func TestEmailWrongPasswordOnHealth(t *testing.T) {
	imapSrv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	cfg := testConfig(t, false, false, "")
	ch := emailChannel(t, imapSrv.Addr, "127.0.0.1:1")
	ch.Password = "not-the-password-42"
	cfg.Channels = append(cfg.Channels, ch)
	token := createToken(t, cfg)
	r := startHub(t, cfg)
	var health struct {
		Items []inbox.ChannelHealth `json:"items"`
	}
	waitFor(t, "the channel down", func() bool {
		health.Items = nil
		apiCall(t, r.base, token, http.MethodGet, "/api/v1/channels/health", "", &health)
		for _, h := range health.Items {
			if h.Channel == "mail" && h.State == inbox.HealthDown {
				return true
			}
		}
		return false
	})
	body, _ := json.Marshal(health)
	if strings.Contains(string(body), "not-the-password-42") || strings.Contains(r.logs.String(), "not-the-password-42") {
		t.Fatal("the password is in the health answer or the log")
	}
}

// TestEmailOneInstanceReadsTheMailbox: two hubs share a database; one holds
// the mailbox's lease and reads it, each mail is filed once, and when that
// hub stops the other takes over from the saved position.
func TestEmailOneInstanceReadsTheMailbox(t *testing.T) {
	imapSrv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	cfg := testConfig(t, true, false, "")
	cfg.Channels = append(cfg.Channels, emailChannel(t, imapSrv.Addr, "127.0.0.1:1"))
	lease := func(h *hub) (holder string) {
		h.backend.store.DB().Get(&holder, "SELECT holder FROM leases WHERE name = 'email:mail:INBOX'")
		return holder
	}
	first := startHub(t, cfg)
	waitFor(t, "the first hub to take the lease", func() bool { return lease(first.hub) != "" })
	holder := lease(first.hub)
	second := startHub(t, cfg)
	defer second.stop()

	mails := testMails(t)
	for _, m := range mails[11:21] {
		imapSrv.Deliver(t, "INBOX", m)
	}
	waitFor(t, "10 mails filed", func() bool { return count(t, second.hub, "messages") == 10 && drained(second) })
	if got := lease(second.hub); got != holder {
		t.Fatalf("lease holder = %q, want the first hub's %q", got, holder)
	}
	first.stop()
	for _, m := range mails[21:31] {
		imapSrv.Deliver(t, "INBOX", m)
	}
	waitFor(t, "the second hub to file the next 10", func() bool { return count(t, second.hub, "messages") == 20 && drained(second) })
	if got := lease(second.hub); got == holder || got == "" {
		t.Fatalf("lease holder = %q after the first hub stopped", got)
	}
}
