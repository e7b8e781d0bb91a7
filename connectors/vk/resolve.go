package vk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/SevereCloud/vksdk/v3/api"

	"github.com/leadhub/leadhub/inbox"
)

// downloadTimeout bounds one medium's download.
const downloadTimeout = 2 * time.Minute

// Resolve implements inbox.Resolver; the worker calls it before filing, so
// the callback is answered without waiting for VK. It does two things, both
// best effort:
//
//   - each vk-file: attachment is downloaded through Options.Files and
//     replaced by the stored file; one that cannot be stays its plain link,
//     with Meta["file_note"] saying why;
//   - a customer's message without a name gets the sender's name from
//     users.get, cached per process. The call waits for no rate limit
//     (when the limit is spent, the name is left for the sender's next
//     message) and at most Options.NameTimeout, so filing is never held
//     up for long and never fails for a name.
func (c *Channel) Resolve(ctx context.Context, e *inbox.Envelope) {
	c.resolveFiles(ctx, e)
	if e.From.Name == "" && e.Carries() == inbox.ItemMessage && len(e.From.Identities) > 0 && e.From.Identities[0].Kind == inbox.IdentityVK {
		if id, err := strconv.ParseInt(e.From.Identities[0].Value, 10, 64); err == nil && id > 0 {
			e.From.Name = c.name(ctx, id)
		}
	}
}

func (c *Channel) resolveFiles(ctx context.Context, e *inbox.Envelope) {
	inbox.ResolveAttachments(e, FileScheme,
		func(a inbox.Attachment) (inbox.Attachment, error) { return c.download(ctx, a) },
		func(a inbox.Attachment, err error) (inbox.Attachment, string) {
			c.log.Warn("vk: attachment kept as a link", "dedupe_key", e.DedupeKey, "err", err)
			a.URL = trimScheme(a.URL)
			return a, "the file could not be downloaded from VK; the link to it may expire"
		})
}

// download stores the medium behind a vk-file: link.
func (c *Channel) download(ctx context.Context, a inbox.Attachment) (inbox.Attachment, error) {
	link := trimScheme(a.URL)
	if !downloadable(link) {
		return a, inbox.Errorf(inbox.EINVALID, "not a VK media link")
	}
	if c.opts.Files == nil {
		return a, errors.New("vk: download: no attachment storage configured")
	}
	if a.Size > MaxDownloadSize {
		return a, inbox.Errorf(inbox.ETOOLARGE, "the file is larger than leadhub stores")
	}
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return a, fmt.Errorf("vk: download: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return a, fmt.Errorf("vk: download: %w", c.redact(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("vk: download: VK answered %s", resp.Status)
	}
	saved, err := c.opts.Files.Save(ctx, a.Name, a.MIME, MaxDownloadSize, resp.Body)
	if err != nil {
		return a, fmt.Errorf("vk: download: %w", err)
	}
	return saved, nil
}

// name returns the user's "First Last" from the cache or users.get; "" when
// VK cannot say now.
func (c *Channel) name(ctx context.Context, userID int64) string {
	c.mu.Lock()
	n, ok := c.names[userID]
	c.mu.Unlock()
	if ok {
		return n
	}
	if !c.limiter.Allow() {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.NameTimeout)
	defer cancel()
	var users api.UsersGetResponse
	if err := c.callNoWait(ctx, "users.get", api.Params{"user_ids": userID}, &users); err != nil {
		c.log.Info("vk: users.get failed; the name is filled from a later message", "err", err)
		return ""
	}
	for _, u := range users {
		if int64(u.ID) != userID {
			continue
		}
		n = strings.TrimSpace(u.FirstName + " " + u.LastName)
		c.mu.Lock()
		if len(c.names) >= maxNames {
			clear(c.names)
		}
		c.names[userID] = n
		c.mu.Unlock()
		return n
	}
	return ""
}
