package telegram

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/leadhub/leadhub/inbox"
)

// AlertNotifier sends supervisors' alerts through this channel's bot to
// chatIDs (a supervisor's private chat, which is their user id, or a
// group's negative id; the bot must have been started there or added to
// the group).
//
// The alert goes as plain text: no parse mode, because the text holds
// customer names and task titles, which must not be read as markup. The
// link to the conversation is already in AlertText.Body, and Telegram
// makes a URL in plain text clickable; there is no "Open" button, since
// Telegram refuses a button whose URL it finds invalid (an http://localhost
// public URL, say) and would then refuse the whole alert. The link preview
// is off: a preview of the hub's login page tells nobody anything.
//
// Every chat is tried; a failure for one does not keep the alert from the
// others. The error joins one error per failed chat, each naming its chat.
// The Supervisor then retries the alert for every notifier and every chat,
// so the chats that got it get it again: a duplicate alert is better than
// a lost one.
func (c *Channel) AlertNotifier(chatIDs []int64) inbox.AlertNotifier {
	return &alertNotifier{c: c, chats: slices.Clone(chatIDs)}
}

type alertNotifier struct {
	c     *Channel
	chats []int64
}

func (n *alertNotifier) NotifyAlert(ctx context.Context, _ inbox.Alert, text inbox.AlertText) error {
	body := text.Body
	if strings.TrimSpace(body) == "" {
		body = text.Subject
	}
	if strings.TrimSpace(body) == "" {
		return errors.New("telegram: alert: the alert has no text")
	}
	// A long task title must not make Telegram refuse the alert for good.
	body = clipUTF16(body, maxTextLen)
	noPreview := true
	var errs []error
	for _, chat := range n.chats {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := n.c.bot.SendMessage(cctx, &bot.SendMessageParams{
			ChatID:             chat,
			Text:               body,
			LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: &noPreview},
		})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("telegram: channel %s: alert to chat %d: %w", n.c.opts.ChannelID, chat, n.c.redact(err)))
		}
	}
	return errors.Join(errs...)
}

// clipUTF16 cuts s to at most n UTF-16 code units, as Telegram counts
// them, ending in "…" when cut.
func clipUTF16(s string, n int) string {
	if utf16Len(s) <= n {
		return s
	}
	units := 0
	for i, r := range s {
		w := 1
		if r > 0xFFFF {
			w = 2
		}
		// Keep one unit for the ellipsis.
		if units+w > n-1 {
			return s[:i] + "…"
		}
		units += w
	}
	return s
}
