package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leadhub/leadhub/inbox"
)

// TestUIBrowserVKPermission: a VK client who denied the community messages
// shows it on the card, and the reply box says so without offering an
// override (VK refuses the send whatever is ticked). A VK client who did
// not is answered as usual.
func TestUIBrowserVKPermission(t *testing.T) {
	f, srv := startUIFake(t)
	f.addConv(5, 5, "Олег Кузнецов", "vk-shop", inbox.ChannelVK, inbox.StatusOpen, nil, 1)
	f.addConv(6, 6, "Анна Белова", "vk-shop", inbox.ChannelVK, inbox.StatusOpen, nil, 1)
	f.addMsg(inbox.Message{ConversationID: 5, Direction: inbox.DirectionIn, Text: "Больше не пишите", CreatedAt: uiBase.Add(10 * time.Minute)})
	f.addMsg(inbox.Message{ConversationID: 6, Direction: inbox.DirectionIn, Text: "Здравствуйте", CreatedAt: uiBase.Add(11 * time.Minute)})
	f.mu.Lock()
	oleg := inbox.Identity{Kind: inbox.IdentityVK, Value: "210700286"}
	f.clients[5].Identities = []inbox.Identity{oleg}
	f.clients[5].Unreachable = []inbox.UnreachableIdentity{{Identity: oleg, Reason: "the client denied messages from the community in VK", Since: uiBase}}
	f.clients[6].Identities = []inbox.Identity{{Kind: inbox.IdentityVK, Value: "1"}}
	f.mu.Unlock()

	p := newUIPage(t, srv.URL)
	p.login()
	p.openConversation(5)
	p.waitJS("the card's permission mark", `document.querySelector('[data-testid="card-unreachable"]')`)
	if got := p.text(`[data-testid="card-unreachable"]`); !strings.Contains(got, "denied messages from the community") {
		t.Errorf("card mark %q", got)
	}
	p.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid="dnc-warning"]`)), chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="dnc-override"]`)))
	if got := p.text(`[data-testid="dnc-warning"]`); !strings.Contains(got, "VK does not let the community message this client") {
		t.Errorf("reply box warning %q", got)
	}

	p.openConversation(6)
	p.do(chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="dnc-warning"]`)))
	var marks int
	p.eval(`document.querySelectorAll('[data-testid="card-unreachable"]').length`, &marks)
	if marks != 0 {
		t.Errorf("%d permission marks on a reachable client's card", marks)
	}
	p.noCSPViolations()
}
