package vk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/SevereCloud/vksdk/v3/api"
	"github.com/SevereCloud/vksdk/v3/object"

	"github.com/leadhub/leadhub/inbox"
)

// ErrNoPermission is in the chain of a Send error when VK refused to deliver
// because the client has not allowed the community to message them (901),
// blacklisted it (900) or their privacy settings forbid it (902). The error
// is an *inbox.SendError with Permanent and Unreachable set and Identity the
// client's VK identity, so the outbound worker fails the reply at once and
// marks the identity on the card.
var ErrNoPermission = errors.New("VK does not let the community message this user")

// maxTextLen is the most characters messages.send takes in one message.
const maxTextLen = 9000

// maxUploadSize bounds a reply's file: VK takes documents up to 200 MB, but
// a reply's file was uploaded to leadhub under its own limit anyway.
const maxUploadSize = 200 << 20

// Delays VK's errors ask for before the next attempt: 6 passes within a
// second, flood control (9) needs minutes.
const (
	tooManyDelay = time.Second
	floodDelay   = 2 * time.Minute
)

var (
	_ inbox.Sender   = (*Channel)(nil)
	_ inbox.Resolver = (*Channel)(nil)
)

// Send delivers an operator's reply to the client's dialog with the
// community (peer_id is their VK user id) by messages.send and returns
// "<peer_id>:id<message id>". Files are uploaded through VK's upload
// servers first: JPEG, PNG and GIF as photos, anything else as documents.
//
// random_id is derived from the leadhub message, so a retry after a lost
// answer is one message for VK, never two; it also carries the channel's
// tag, by which the message_reply echo of it is recognised. A retry uploads
// the files again (VK keeps the unused copies); the message still goes once.
//
// Errors: 6, 9, 10 and 1 are retried with backoff (9 not before minutes);
// 900, 901 and 902 fail the reply and mark the identity unreachable
// (ErrNoPermission); 5 marks the channel down and is retried, so replies go
// out once the token is fixed, until the attempts run out; other VK
// errors fail the reply.
func (c *Channel) Send(ctx context.Context, o inbox.Outbound) (string, error) {
	to, peer, err := recipient(o.To)
	if err != nil {
		return "", inbox.Permanent(fmt.Errorf("vk: send: %w", err))
	}
	text := strings.TrimSpace(o.Message.Text)
	var atts []string
	for _, a := range o.Message.Attachments {
		ref, link, err := c.upload(ctx, peer, a)
		if err != nil {
			return "", c.sendError("upload", to, err)
		}
		if link != "" {
			text = strings.TrimSpace(text + "\n" + link)
		}
		if ref != "" {
			atts = append(atts, ref)
		}
	}
	if text == "" && len(atts) == 0 {
		return "", inbox.Permanent(errors.New("vk: send: the reply has neither text nor attachments"))
	}
	if n := len([]rune(text)); n > maxTextLen {
		return "", inbox.Permanent(fmt.Errorf("vk: send: the text has %d characters; VK takes at most %d in one message", n, maxTextLen))
	}
	params := api.Params{
		"peer_id":   peer,
		"random_id": c.RandomID(o.Message),
		"message":   text,
	}
	if len(atts) > 0 {
		params["attachment"] = strings.Join(atts, ",")
	}
	var messageID int64
	if err := c.call(ctx, "messages.send", params, &messageID); err != nil {
		return "", c.sendError("messages.send", to, err)
	}
	return externalID(peer, 0, messageID), nil
}

// RandomID is the random_id of a leadhub message: its id in the low 32
// bits, so that no two messages of one database collide; 16 bits of a hash
// of its creation time above, so that a fresh database reusing message ids
// does not collide with an earlier one's messages (VK would take a
// repeated random_id as a resend and deliver nothing); the channel's tag in
// the 15 bits above that. It stays below 2^63.
func (c *Channel) RandomID(m inbox.Message) int64 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d:%d", m.ID, m.CreatedAt.UTC().UnixMicro())
	return c.tag<<48 | int64(h.Sum32()&0xffff)<<32 | m.ID&0xffffffff
}

// isOwnRandomID reports whether a message_reply's random_id is one this
// channel sent.
func (c *Channel) isOwnRandomID(id int64) bool {
	return id > 0 && id>>48 == c.tag
}

// recipient is the client's VK identity and their user id, the peer_id of
// their dialog with the community.
func recipient(to []inbox.Identity) (inbox.Identity, int64, error) {
	for _, id := range to {
		if id.Kind != inbox.IdentityVK {
			continue
		}
		n, err := strconv.ParseInt(id.Value, 10, 64)
		if err != nil || n <= 0 || n >= chatPeerBase {
			return id, 0, fmt.Errorf("VK identity %q is not a user id", id.Value)
		}
		return id, n, nil
	}
	return inbox.Identity{}, 0, errors.New("the client has no VK identity")
}

// sendError qualifies a failed send for the outbound worker.
func (c *Channel) sendError(step string, to inbox.Identity, err error) error {
	var (
		vkErr *api.Error
		se    *inbox.SendError
	)
	switch {
	case errors.As(err, &se):
		return err
	case errors.As(err, &vkErr):
		switch vkErr.Code {
		case api.ErrMessagesDenySend, api.ErrMessagesPrivacy, api.ErrMessagesUserBlocked:
			return &inbox.SendError{
				Err:         fmt.Errorf("vk: %s to %s: %w (error %d): %w", step, to.Value, ErrNoPermission, vkErr.Code, err),
				Permanent:   true,
				Unreachable: true,
				Identity:    to,
			}
		case api.ErrTooMany:
			return &inbox.SendError{Err: fmt.Errorf("vk: %s to %s: %w", step, to.Value, err), RetryAfter: tooManyDelay}
		case api.ErrFlood:
			return &inbox.SendError{Err: fmt.Errorf("vk: %s to %s: %w", step, to.Value, err), RetryAfter: floodDelay}
		case api.ErrUnknown, api.ErrServer, api.ErrAuth:
			return fmt.Errorf("vk: %s to %s: %w", step, to.Value, err)
		}
		return inbox.Permanent(fmt.Errorf("vk: %s to %s: %w", step, to.Value, err))
	}
	// Network failures and timeouts: worth another attempt.
	return fmt.Errorf("vk: %s to %s: %w", step, to.Value, err)
}

// upload turns a reply's attachment into what messages.send takes: a
// "photo<owner>_<id>_<key>" or "doc<owner>_<id>" string for a stored file;
// for a file that is not in storage (an outside link), the link, which goes
// into the text.
func (c *Channel) upload(ctx context.Context, peer int64, a inbox.Attachment) (ref, link string, err error) {
	if c.opts.Files == nil {
		return "", "", inbox.Permanent(errors.New("vk: no attachment storage configured, so a reply cannot carry files"))
	}
	body, err := c.opts.Files.OpenAttachment(ctx, a)
	if err != nil {
		if inbox.ErrorCode(err) == inbox.ENOTFOUND && (strings.HasPrefix(a.URL, "https://") || strings.HasPrefix(a.URL, "http://")) {
			return "", a.URL, nil
		}
		if inbox.ErrorCode(err) == inbox.ENOTFOUND {
			return "", "", inbox.Permanent(fmt.Errorf("vk: attachment %q: %w", a.Name, err))
		}
		return "", "", fmt.Errorf("vk: attachment %q: %w", a.Name, err)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxUploadSize+1))
	if err != nil {
		return "", "", fmt.Errorf("vk: read attachment %q: %w", a.Name, err)
	}
	if len(data) > maxUploadSize {
		return "", "", inbox.Permanent(fmt.Errorf("vk: attachment %q is larger than VK takes", a.Name))
	}
	name := or(a.Name, "file")
	if isPhoto(a.MIME) {
		ref, err := c.uploadPhoto(ctx, peer, name, data)
		return ref, "", err
	}
	ref, err = c.uploadDoc(ctx, peer, name, data)
	return ref, "", err
}

func isPhoto(mimeType string) bool {
	switch strings.ToLower(mimeType) {
	case "image/jpeg", "image/png", "image/gif":
		return true
	}
	return false
}

// uploadPhoto: photos.getMessagesUploadServer, the file POSTed as "photo",
// photos.saveMessagesPhoto.
func (c *Channel) uploadPhoto(ctx context.Context, peer int64, name string, data []byte) (string, error) {
	var server api.PhotosGetMessagesUploadServerResponse
	if err := c.call(ctx, "photos.getMessagesUploadServer", api.Params{"peer_id": peer}, &server); err != nil {
		return "", err
	}
	var up object.PhotosMessageUploadResponse
	if err := c.post(ctx, server.UploadURL, "photo", name, data, &up); err != nil {
		return "", err
	}
	if up.Photo == "" || up.Photo == "[]" {
		return "", inbox.Permanent(fmt.Errorf("vk: VK did not take %q as a photo", name))
	}
	var saved api.PhotosSaveMessagesPhotoResponse
	if err := c.call(ctx, "photos.saveMessagesPhoto", api.Params{"server": up.Server, "photo": up.Photo, "hash": up.Hash}, &saved); err != nil {
		return "", err
	}
	if len(saved) == 0 {
		return "", fmt.Errorf("vk: photos.saveMessagesPhoto returned no photo")
	}
	p := saved[0]
	ref := fmt.Sprintf("photo%d_%d", p.OwnerID, p.ID)
	if p.AccessKey != "" {
		ref += "_" + p.AccessKey
	}
	return ref, nil
}

// uploadDoc: docs.getMessagesUploadServer, the file POSTed as "file",
// docs.save.
func (c *Channel) uploadDoc(ctx context.Context, peer int64, name string, data []byte) (string, error) {
	var server api.DocsGetMessagesUploadServerResponse
	if err := c.call(ctx, "docs.getMessagesUploadServer", api.Params{"peer_id": peer, "type": "doc"}, &server); err != nil {
		return "", err
	}
	var up object.DocsDocUploadResponse
	if err := c.post(ctx, server.UploadURL, "file", name, data, &up); err != nil {
		return "", err
	}
	if up.File == "" {
		return "", inbox.Permanent(fmt.Errorf("vk: VK did not take %q as a document", name))
	}
	var saved api.DocsSaveResponse
	if err := c.call(ctx, "docs.save", api.Params{"file": up.File, "title": name}, &saved); err != nil {
		return "", err
	}
	if saved.Doc.ID == 0 {
		return "", fmt.Errorf("vk: docs.save returned no document")
	}
	ref := fmt.Sprintf("doc%d_%d", saved.Doc.OwnerID, saved.Doc.ID)
	if saved.Doc.AccessKey != "" {
		ref += "_" + saved.Doc.AccessKey
	}
	return ref, nil
}

// post uploads one file to an upload server as multipart/form-data and
// decodes its JSON answer. vksdk's upload helpers take no context, so this
// one is leadhub's.
func (c *Channel) post(ctx context.Context, uploadURL, field, name string, data []byte, out any) error {
	if !strings.HasPrefix(uploadURL, "https://") && !strings.HasPrefix(uploadURL, "http://") {
		return fmt.Errorf("vk: VK gave no upload address")
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile(field, name)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return fmt.Errorf("vk: upload: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uploadURL, &body)
	if err != nil {
		return fmt.Errorf("vk: upload: %w", c.redact(err))
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("vk: upload: %w", c.redact(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("vk: upload: %w", c.redact(err))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("vk: upload: the upload server answered %s", resp.Status)
	}
	// Upload servers report errors in the body too: {"error": "..."}.
	var failed struct {
		Error any `json:"error"`
	}
	if json.Unmarshal(raw, &failed) == nil && failed.Error != nil {
		return inbox.Permanent(fmt.Errorf("vk: upload of %q refused by VK", name))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("vk: upload: the upload server's answer is not JSON")
	}
	return nil
}
