package telegram

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/leadhub/leadhub/inbox"
)

// ErrBlocked is in the chain of a Send error when Telegram answered 403 for
// the customer's chat: they blocked the bot, deleted their account or never
// started it. The error is an *inbox.SendError with Permanent and
// Unreachable set and Identity the client's Telegram identity, so the
// outbound worker fails the reply without retries and marks the identity.
var ErrBlocked = errors.New("user unreachable")

// Bot API limits, counted in UTF-16 code units as Telegram counts them.
const (
	maxTextLen    = 4096
	maxCaptionLen = 1024
)

// downloadTimeout bounds one getFile plus a download of up to 20 MB.
const downloadTimeout = 2 * time.Minute

var (
	_ inbox.Sender   = (*Channel)(nil)
	_ inbox.Resolver = (*Channel)(nil)
)

// Send delivers an operator's reply to the client's private chat (its id is
// the client's Telegram user id) and returns "<chat id>:<message id>" of the
// first message sent. Text goes by sendMessage, as a reply to o.ReplyTo when
// that is a message of the same chat; attachments go by URL (http, https, or
// a tg-file: reference) through sendPhoto for JPEG/PNG/WebP images and
// sendDocument for the rest. One attachment with a short text is one
// captioned message.
//
// Errors: 429 carries Telegram's retry_after; 403 marks the identity
// unreachable and wraps ErrBlocked; other 4xx are permanent; 5xx and network
// failures are retried.
// When a reply takes several messages and a later one fails, a retry sends
// the earlier ones again.
func (c *Channel) Send(ctx context.Context, o inbox.Outbound) (string, error) {
	to, chatID, err := recipient(o.To)
	if err != nil {
		return "", inbox.Permanent(fmt.Errorf("telegram: send: %w", err))
	}
	text := o.Message.Text
	if strings.TrimSpace(text) == "" {
		text = ""
	}
	if text == "" && len(o.Message.Attachments) == 0 {
		return "", inbox.Permanent(errors.New("telegram: send: the reply has neither text nor attachments"))
	}
	if n := utf16Len(text); n > maxTextLen {
		return "", inbox.Permanent(fmt.Errorf("telegram: send: the text has %d characters; Telegram takes at most %d in one message", n, maxTextLen))
	}
	files := make([]outFile, 0, len(o.Message.Attachments))
	for _, a := range o.Message.Attachments {
		f, err := c.outgoing(a)
		if err != nil {
			return "", inbox.Permanent(fmt.Errorf("telegram: send: %w", err))
		}
		files = append(files, f)
	}

	reply := replyParameters(o.ReplyTo, chatID)
	var first string
	sent := func(m *models.Message) {
		if first == "" && m != nil {
			first = externalID(chatID, int64(m.ID))
		}
		reply = nil // only the first message is threaded
	}
	if len(files) == 1 && text != "" && utf16Len(text) <= maxCaptionLen {
		m, err := c.sendFile(ctx, to, chatID, files[0], text, reply)
		if err != nil {
			return "", err
		}
		sent(m)
		return first, nil
	}
	if text != "" {
		sctx, status := withStatus(ctx)
		m, err := c.bot.SendMessage(sctx, &bot.SendMessageParams{ChatID: chatID, Text: text, ReplyParameters: reply})
		if err != nil {
			return "", c.sendError("sendMessage", to, *status, err)
		}
		sent(m)
	}
	for _, f := range files {
		m, err := c.sendFile(ctx, to, chatID, f, "", reply)
		if err != nil {
			return "", err
		}
		sent(m)
	}
	return first, nil
}

// recipient is the client's Telegram identity and its private chat's id,
// which is the user id.
func recipient(to []inbox.Identity) (inbox.Identity, int64, error) {
	for _, id := range to {
		if id.Kind != inbox.IdentityTelegram {
			continue
		}
		n, err := strconv.ParseInt(id.Value, 10, 64)
		if err != nil || n == 0 {
			return id, 0, fmt.Errorf("telegram identity %q is not a user id", id.Value)
		}
		return id, n, nil
	}
	return inbox.Identity{}, 0, errors.New("the client has no Telegram identity")
}

// replyParameters threads the reply under "<chat>:<message>" when that is a
// message of this chat. A deleted original must not fail the reply.
func replyParameters(replyTo string, chatID int64) *models.ReplyParameters {
	chat, msg, ok := strings.Cut(replyTo, ":")
	if !ok || chat != strconv.FormatInt(chatID, 10) {
		return nil
	}
	id, err := strconv.Atoi(msg)
	if err != nil || id <= 0 {
		return nil
	}
	return &models.ReplyParameters{MessageID: id, AllowSendingWithoutReply: true}
}

// outFile is an attachment as Telegram takes it: by URL or by file_id, or
// a file of ours uploaded with the request.
type outFile struct {
	ref    string
	stored inbox.Attachment // set: upload it from storage
	photo  bool
}

func (c *Channel) outgoing(a inbox.Attachment) (outFile, error) {
	var f outFile
	switch {
	case strings.HasPrefix(a.URL, "https://"), strings.HasPrefix(a.URL, "http://"):
		f.ref = a.URL
	case strings.HasPrefix(a.URL, FileScheme) && len(a.URL) > len(FileScheme):
		f.ref = strings.TrimPrefix(a.URL, FileScheme)
	case strings.HasPrefix(a.URL, "/files/") && c.opts.Source != nil:
		f.stored = a
	default:
		return f, fmt.Errorf("attachment %q has no public http(s) URL Telegram could fetch", a.Name)
	}
	switch strings.ToLower(a.MIME) {
	case "image/jpeg", "image/png", "image/webp":
		f.photo = true
	}
	return f, nil
}

// input is the file as the Bot API request carries it; close it after the
// call.
func (c *Channel) input(ctx context.Context, f outFile) (models.InputFile, func(), error) {
	if f.stored.URL == "" {
		return &models.InputFileString{Data: f.ref}, func() {}, nil
	}
	rc, err := c.opts.Source.OpenAttachment(ctx, f.stored)
	if err != nil {
		// A file gone from storage will not come back: retrying is useless.
		return nil, nil, inbox.Permanent(fmt.Errorf("telegram: send: open %q: %w", f.stored.Name, err))
	}
	// The library calls reflect's IsNil on Data, which panics on a reader
	// that is not a pointer: hand it one whatever storage returned.
	return &models.InputFileUpload{Filename: f.stored.Name, Data: bufio.NewReader(rc)}, func() { rc.Close() }, nil
}

func (c *Channel) sendFile(ctx context.Context, to inbox.Identity, chatID int64, f outFile, caption string, reply *models.ReplyParameters) (*models.Message, error) {
	in, done, err := c.input(ctx, f)
	if err != nil {
		return nil, err
	}
	defer done()
	sctx, status := withStatus(ctx)
	if f.photo {
		m, err := c.bot.SendPhoto(sctx, &bot.SendPhotoParams{ChatID: chatID, Photo: in, Caption: caption, ReplyParameters: reply})
		if err != nil {
			return nil, c.sendError("sendPhoto", to, *status, err)
		}
		return m, nil
	}
	m, err := c.bot.SendDocument(sctx, &bot.SendDocumentParams{ChatID: chatID, Document: in, Caption: caption, ReplyParameters: reply})
	if err != nil {
		return nil, c.sendError("sendDocument", to, *status, err)
	}
	return m, nil
}

// sendError qualifies a failed send for the outbound worker. status is the
// HTTP status Telegram answered with, 0 when none came.
func (c *Channel) sendError(method string, to inbox.Identity, status int, err error) error {
	var tooMany *bot.TooManyRequestsError
	switch {
	case errors.As(err, &tooMany):
		return &inbox.SendError{
			Err:        fmt.Errorf("telegram: %s to chat %s: %w", method, to.Value, c.redact(err)),
			RetryAfter: time.Duration(tooMany.RetryAfter) * time.Second,
		}
	case status == http.StatusTooManyRequests:
		return fmt.Errorf("telegram: %s to chat %s: %w", method, to.Value, c.redact(err))
	case errors.Is(err, bot.ErrorForbidden) || status == http.StatusForbidden:
		// Every 403 for a private chat means the same: nobody to write to.
		return &inbox.SendError{
			Err:         fmt.Errorf("telegram: %s to chat %s: %w: %w", method, to.Value, ErrBlocked, c.redact(err)),
			Permanent:   true,
			Unreachable: true,
			Identity:    to,
		}
	case status >= 400 && status < 500,
		errors.Is(err, bot.ErrorBadRequest), errors.Is(err, bot.ErrorUnauthorized),
		errors.Is(err, bot.ErrorNotFound), errors.Is(err, bot.ErrorConflict), bot.IsMigrateError(err):
		return inbox.Permanent(fmt.Errorf("telegram: %s to chat %s: %w", method, to.Value, c.redact(err)))
	default:
		return fmt.Errorf("telegram: %s to chat %s: %w", method, to.Value, c.redact(err))
	}
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// Download stores the file behind a tg-file: attachment through
// Options.Files and returns the stored attachment. On failure it returns a
// unchanged with the error: ETOOLARGE for files over the Bot API's 20 MB
// download limit (known from the update's file_size or from Telegram), and
// ENOTFOUND for a file Telegram no longer gives; keep the reference then.
// Other errors (network, 5xx) are worth a retry.
func (c *Channel) Download(ctx context.Context, a inbox.Attachment) (inbox.Attachment, error) {
	fileID, ok := strings.CutPrefix(a.URL, FileScheme)
	if !ok || fileID == "" {
		return a, inbox.Errorf(inbox.EINVALID, "attachment is not a %s reference", FileScheme)
	}
	if a.Size > MaxDownloadSize {
		return a, tooLarge(a.Size)
	}
	if c.opts.Files == nil {
		return a, errors.New("telegram: download: no attachment storage configured")
	}
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	sctx, status := withStatus(ctx)
	f, err := c.bot.GetFile(sctx, &bot.GetFileParams{FileID: fileID})
	if err != nil {
		switch {
		case strings.Contains(strings.ToLower(err.Error()), "file is too big"):
			return a, tooLarge(0)
		case *status >= 400 && *status < 500 && *status != http.StatusTooManyRequests,
			errors.Is(err, bot.ErrorBadRequest), errors.Is(err, bot.ErrorNotFound):
			return a, fmt.Errorf("telegram: getFile: %w: %w", inbox.Errorf(inbox.ENOTFOUND, "Telegram does not give this file"), c.redact(err))
		}
		return a, fmt.Errorf("telegram: getFile: %w", c.redact(err))
	}
	if f.FileSize > MaxDownloadSize {
		return a, tooLarge(f.FileSize)
	}
	if f.FilePath == "" {
		return a, fmt.Errorf("telegram: getFile: %w", inbox.Errorf(inbox.ENOTFOUND, "Telegram gave no file path"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.bot.FileDownloadLink(f), nil)
	if err != nil {
		return a, fmt.Errorf("telegram: download: %w", c.redact(err))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return a, fmt.Errorf("telegram: download: %w", c.redact(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The link lives an hour; the next attempt asks getFile again.
		return a, fmt.Errorf("telegram: download: Telegram answered %s", resp.Status)
	}
	name := a.Name
	if name == "" {
		name = path.Base(f.FilePath)
	}
	saved, err := c.opts.Files.Save(ctx, name, a.MIME, MaxDownloadSize, resp.Body)
	if err != nil {
		return a, fmt.Errorf("telegram: download: %w", c.redact(err))
	}
	return saved, nil
}

// Resolve implements inbox.Resolver: the worker calls it before filing, so
// the webhook is answered without waiting for downloads. Each tg-file:
// attachment is downloaded through Options.Files and replaced by the stored
// file. One that cannot be (over 20 MB, gone, Telegram unreachable) stays a
// reference, and Meta["file_note"] says why; the message is filed anyway.
func (c *Channel) Resolve(ctx context.Context, e *inbox.Envelope) {
	inbox.ResolveAttachments(e, FileScheme,
		func(a inbox.Attachment) (inbox.Attachment, error) { return c.Download(ctx, a) },
		func(a inbox.Attachment, err error) (inbox.Attachment, string) {
			if inbox.ErrorCode(err) == inbox.ETOOLARGE {
				return a, inbox.ErrorMessage(err) + ": open the chat in Telegram to see it"
			}
			c.log.Warn("telegram: attachment kept as a reference", "dedupe_key", e.DedupeKey, "err", err)
			return a, "the file could not be downloaded from Telegram; open the chat in Telegram to see it"
		})
}

func tooLarge(size int64) error {
	if size > 0 {
		return inbox.Errorf(inbox.ETOOLARGE, "the file is %s; bots can download at most 20 MB, so it stays in Telegram", megabytes(size))
	}
	return inbox.Errorf(inbox.ETOOLARGE, "the file is larger than 20 MB, the most bots can download, so it stays in Telegram")
}
