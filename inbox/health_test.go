package inbox_test

import (
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

func TestHealthBoard(t *testing.T) {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	clock := inbox.NewFakeClock(start)
	b := inbox.NewHealthBoard(clock)

	if h := b.Get("mail"); h.State != inbox.HealthUnknown || h.Channel != "mail" {
		t.Fatalf("before any report: %+v", h)
	}
	b.Fail("mail", inbox.HealthDegraded, "connection refused")
	clock.Advance(time.Minute)
	b.Fail("mail", inbox.HealthDegraded, "connection refused")
	h := b.Get("mail")
	if h.State != inbox.HealthDegraded || h.Failures != 2 || !h.Since.Equal(start) || h.Error != "connection refused" {
		t.Fatalf("after two failures: %+v", h)
	}
	clock.Advance(time.Minute)
	b.Fail("mail", inbox.HealthDown, "wrong password")
	if h := b.Get("mail"); h.State != inbox.HealthDown || !h.Since.Equal(start.Add(2*time.Minute)) || h.Failures != 3 {
		t.Fatalf("down: %+v", h)
	}
	clock.Advance(time.Minute)
	b.OK("mail")
	h = b.Get("mail")
	if h.State != inbox.HealthOK || h.Error != "" || h.Failures != 0 || !h.LastOK.Equal(start.Add(3*time.Minute)) || !h.Since.Equal(h.LastOK) {
		t.Fatalf("recovered: %+v", h)
	}
	clock.Advance(time.Minute)
	b.OK("mail")
	if h := b.Get("mail"); !h.Since.Equal(start.Add(3 * time.Minute)) {
		t.Fatalf("a second OK must keep Since: %+v", h)
	}
	b.OK("bot")
	if all := b.All(); len(all) != 2 || all[0].Channel != "bot" || all[1].Channel != "mail" {
		t.Fatalf("All: %+v", all)
	}

	var nilBoard *inbox.HealthBoard
	nilBoard.OK("x")
	nilBoard.Fail("x", inbox.HealthDown, "y")
	if h := nilBoard.Get("x"); h.State != inbox.HealthUnknown {
		t.Fatalf("nil board: %+v", h)
	}
}

func TestFileSignature(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	exp := now.Add(inbox.SignedFileTTL).Unix()
	sig := inbox.FileSignature("secret", "crm", "abc", exp)
	if !inbox.FileSignatureValid("secret", "crm", "abc", exp, sig, now) {
		t.Fatal("a fresh signature does not check out")
	}
	for name, ok := range map[string]bool{
		"other secret":  inbox.FileSignatureValid("other", "crm", "abc", exp, sig, now),
		"other channel": inbox.FileSignatureValid("secret", "api", "abc", exp, sig, now),
		"other file":    inbox.FileSignatureValid("secret", "crm", "abd", exp, sig, now),
		"later expiry":  inbox.FileSignatureValid("secret", "crm", "abc", exp+1, sig, now),
		"expired":       inbox.FileSignatureValid("secret", "crm", "abc", exp, sig, now.Add(inbox.SignedFileTTL+time.Second)),
		"no secret":     inbox.FileSignatureValid("", "crm", "abc", exp, inbox.FileSignature("", "crm", "abc", exp), now),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}
