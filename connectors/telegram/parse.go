package telegram

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
	"github.com/leadhub/leadhub/inbox"
)

// Parse checks the webhook's secret header and decodes one update. It has
// no side effects: the caller enqueues and only then answers 2xx. An update
// leadhub does not handle (a button press, a group message, a poll) gives no
// envelopes and no error, so Telegram gets its 200 and does not retry it.
func (c *Channel) Parse(r *http.Request, body []byte) ([]inbox.Envelope, []byte, error) {
	if !c.secretOK(r.Header.Get(SecretHeader)) {
		return nil, nil, inbox.Errorf(inbox.EFORBIDDEN, "missing or wrong secret token")
	}
	_, envs, err := c.decode(body)
	if err != nil {
		return nil, nil, err
	}
	return envs, nil, nil
}

// secretOK compares in constant time; hashing first hides the length too.
func (c *Channel) secretOK(got string) bool {
	if c.opts.Secret == "" || got == "" {
		return false
	}
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(c.opts.Secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// message holds the parts of a Telegram Message that leadhub reads. Decoding
// into models.Message would decode every other field too, and one of them in
// a shape the library does not know (a new forward origin type, say) would
// fail a customer's message as a whole: a 400 that Telegram retries forever
// while the bot's later updates wait behind it.
type message struct {
	MessageID    int64        `json:"message_id"`
	From         *models.User `json:"from"`
	Chat         models.Chat  `json:"chat"`
	Date         int64        `json:"date"`
	EditDate     int64        `json:"edit_date"`
	MediaGroupID string       `json:"media_group_id"`
	ReplyTo      *struct {
		MessageID int64 `json:"message_id"`
	} `json:"reply_to_message"`
	Text      string             `json:"text"`
	Caption   string             `json:"caption"`
	Photo     []models.PhotoSize `json:"photo"`
	Animation *models.Animation  `json:"animation"`
	Document  *models.Document   `json:"document"`
	Voice     *models.Voice      `json:"voice"`
	Video     *models.Video      `json:"video"`
	VideoNote *models.VideoNote  `json:"video_note"`
	Audio     *models.Audio      `json:"audio"`
	Sticker   *models.Sticker    `json:"sticker"`
	Venue     *models.Venue      `json:"venue"`
	Location  *models.Location   `json:"location"`
	Contact   *models.Contact    `json:"contact"`
}

// decode turns one update into envelopes (at most one). It returns the
// update_id whenever the body has one, even with an error.
func (c *Channel) decode(body []byte) (int64, []inbox.Envelope, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return 0, nil, inbox.Errorf(inbox.EINVALID, "body is not a Telegram update")
	}
	var id int64
	if err := json.Unmarshal(fields["update_id"], &id); err != nil || id <= 0 {
		return 0, nil, inbox.Errorf(inbox.EINVALID, "update has no valid update_id")
	}
	raw, edit := fields["message"], false
	if isAbsent(raw) {
		raw, edit = fields["edited_message"], true
	}
	if isAbsent(raw) {
		c.log.Info("telegram: update type not handled", "update_id", id, "update_type", updateType(fields))
		return id, nil, nil
	}
	var m message
	if err := json.Unmarshal(raw, &m); err != nil {
		return id, nil, inbox.Errorf(inbox.EINVALID, "update %d: message is malformed", id)
	}
	env, ok, why := c.envelope(id, &m, edit)
	if !ok {
		c.log.Info("telegram: update ignored", "update_id", id, "reason", why)
		return id, nil, nil
	}
	return id, []inbox.Envelope{env}, nil
}

func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// updateType names an update's kind ("callback_query", "my_chat_member") for
// the log: its first field besides update_id.
func updateType(fields map[string]json.RawMessage) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "update_id" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "empty"
	}
	sort.Strings(keys)
	t := keys[0]
	if len(t) > 40 {
		t = t[:40]
	}
	return t
}

// envelope maps a private chat's message. ok is false, with the reason, for
// messages that are not a customer writing to the bot.
func (c *Channel) envelope(updateID int64, m *message, edit bool) (env inbox.Envelope, ok bool, why string) {
	if m.Chat.Type != models.ChatTypePrivate {
		return env, false, "not a private chat"
	}
	if m.From == nil || m.From.ID <= 0 || m.From.IsBot || m.MessageID <= 0 {
		return env, false, "no sender"
	}
	meta := map[string]string{}
	text, atts := content(m, meta)
	if text == "" && len(atts) == 0 {
		return env, false, "no content leadhub shows"
	}
	if !edit && (text == "/start" || strings.HasPrefix(text, "/start ")) {
		// A deep link t.me/<bot>?start=<payload> arrives as "/start
		// <payload>": the payload is where the lead came from.
		if p := strings.TrimSpace(strings.TrimPrefix(text, "/start")); p != "" {
			meta["start_payload"] = p
		}
		text = "/start"
	}

	item := inbox.ItemMessage
	if edit {
		item = inbox.ItemEdit
	}
	var fact *inbox.Fact
	userID := strconv.FormatInt(m.From.ID, 10)
	ids := []inbox.Identity{{Kind: inbox.IdentityTelegram, Value: userID}}
	if ct := m.Contact; ct != nil && ct.PhoneNumber != "" {
		// Only the customer's own number joins their card, and sharing it
		// is a fact about the card, not something they said: a forwarded
		// contact is someone else's, and stays a message.
		if ct.UserID == m.From.ID {
			if !edit {
				item, fact = inbox.ItemFact, &inbox.Fact{Name: inbox.FactContactShared, Value: ct.PhoneNumber}
			}
			if phone, err := inbox.NewIdentity(inbox.IdentityPhone, ct.PhoneNumber, c.opts.ChannelID, c.opts.Region); err == nil {
				ids = append(ids, phone)
			} else {
				meta["unparsed_phone"] = ct.PhoneNumber
			}
		}
	}
	fields := map[string]string{}
	if m.From.Username != "" {
		meta["telegram_username"] = m.From.Username
		fields["telegram_username"] = "@" + m.From.Username
	}
	if p := meta["start_payload"]; p != "" {
		fields["source"] = "telegram:" + p
	}
	if len(fields) == 0 {
		fields = nil
	}
	if m.ReplyTo != nil && m.ReplyTo.MessageID > 0 {
		meta["reply_to"] = externalID(m.Chat.ID, m.ReplyTo.MessageID)
	}
	if m.MediaGroupID != "" {
		meta["media_group_id"] = m.MediaGroupID
	}
	if len(meta) == 0 {
		meta = nil
	}
	at := m.Date
	if edit && m.EditDate > 0 {
		at = m.EditDate
	}
	return inbox.Envelope{
		Item:        item,
		DedupeKey:   "tg:" + c.opts.ChannelID + ":" + strconv.FormatInt(updateID, 10),
		ChannelID:   c.opts.ChannelID,
		ChannelType: inbox.ChannelTelegram,
		Kind:        inbox.KindText,
		From:        inbox.Contact{Name: strings.TrimSpace(m.From.FirstName + " " + m.From.LastName), Identities: ids, Fields: fields},
		Text:        text,
		Attachments: atts,
		Meta:        meta,
		ExternalID:  externalID(m.Chat.ID, m.MessageID),
		Fact:        fact,
		ReceivedAt:  c.receivedAt(at),
	}, true, ""
}

// externalID is a message's id for replies and edits: message ids are unique
// per chat only.
func externalID(chatID, messageID int64) string {
	return strconv.FormatInt(chatID, 10) + ":" + strconv.FormatInt(messageID, 10)
}

// receivedAt is the message's own time when it is plausible. A date a year
// past 9999 would not even encode as JSON on its way through the queue.
func (c *Channel) receivedAt(unix int64) time.Time {
	now := c.opts.Now().UTC()
	if unix <= 0 {
		return now
	}
	t := time.Unix(unix, 0).UTC()
	if t.Year() < 2013 || t.After(now.Add(24*time.Hour)) {
		return now
	}
	return t
}

// content returns the text an operator reads (the text, the caption, or a
// placeholder such as "[voice message 0:07]") and the media as tg-file:
// references.
func content(m *message, meta map[string]string) (string, []inbox.Attachment) {
	var (
		placeholder string
		att         *inbox.Attachment
	)
	switch {
	case len(m.Photo) > 0:
		// Sizes come smallest first; pick by area in case they do not.
		p := m.Photo[0]
		for _, s := range m.Photo[1:] {
			if s.Width*s.Height >= p.Width*p.Height {
				p = s
			}
		}
		placeholder = "[photo]"
		att = file(p.FileID, "photo.jpg", "image/jpeg", int64(p.FileSize))
	case m.Animation != nil:
		a := m.Animation
		placeholder = "[GIF]"
		att = file(a.FileID, or(a.FileName, "animation.mp4"), or(a.MimeType, "video/mp4"), a.FileSize)
	case m.Document != nil:
		d := m.Document
		placeholder = "[document]"
		if d.FileName != "" {
			placeholder = "[document: " + d.FileName + "]"
		}
		att = file(d.FileID, or(d.FileName, "document"), d.MimeType, d.FileSize)
	case m.Voice != nil:
		v := m.Voice
		placeholder = "[voice message " + duration(v.Duration) + "]"
		att = file(v.FileID, "voice.ogg", or(v.MimeType, "audio/ogg"), v.FileSize)
	case m.Video != nil:
		v := m.Video
		placeholder = "[video " + duration(v.Duration) + "]"
		att = file(v.FileID, or(v.FileName, "video.mp4"), or(v.MimeType, "video/mp4"), v.FileSize)
	case m.VideoNote != nil:
		v := m.VideoNote
		placeholder = "[video message " + duration(v.Duration) + "]"
		att = file(v.FileID, "video_message.mp4", "video/mp4", int64(v.FileSize))
	case m.Audio != nil:
		a := m.Audio
		title := strings.TrimSpace(strings.Trim(a.Performer+" – "+a.Title, " –"))
		if title == "" {
			title = a.FileName
		}
		placeholder = "[audio " + duration(a.Duration) + "]"
		if title != "" {
			placeholder = "[audio: " + title + " " + duration(a.Duration) + "]"
		}
		att = file(a.FileID, or(a.FileName, "audio.mp3"), a.MimeType, a.FileSize)
	case m.Sticker != nil:
		// A sticker is an emoji in a picture; the emoji says enough.
		placeholder = "[sticker]"
		if e := strings.TrimSpace(m.Sticker.Emoji); e != "" {
			placeholder = "[sticker " + e + "]"
		}
	case m.Venue != nil:
		v := m.Venue
		lat, lon := coord(v.Location.Latitude), coord(v.Location.Longitude)
		meta["latitude"], meta["longitude"] = lat, lon
		meta["venue_title"], meta["venue_address"] = v.Title, v.Address
		placeholder = "📍 " + strings.Trim(v.Title+", "+v.Address, ", ") + " (" + lat + ", " + lon + ")"
	case m.Location != nil:
		lat, lon := coord(m.Location.Latitude), coord(m.Location.Longitude)
		meta["latitude"], meta["longitude"] = lat, lon
		placeholder = "📍 " + lat + ", " + lon
	case m.Contact != nil:
		ct := m.Contact
		name := strings.TrimSpace(ct.FirstName + " " + ct.LastName)
		meta["contact_phone"] = ct.PhoneNumber
		if name != "" {
			meta["contact_name"] = name
		}
		if ct.UserID != 0 {
			meta["contact_user_id"] = strconv.FormatInt(ct.UserID, 10)
		}
		placeholder = "[contact: " + strings.Trim(name+", "+ct.PhoneNumber, ", ") + "]"
	}

	var atts []inbox.Attachment
	if att != nil && att.URL != FileScheme {
		atts = []inbox.Attachment{*att}
		if att.Size > MaxDownloadSize {
			note := fmt.Sprintf("the file is %s; bots can download at most 20 MB, so it stays in Telegram: open the chat in Telegram to see it", megabytes(att.Size))
			meta["file_note"] = note
			placeholder = strings.TrimSuffix(placeholder, "]") + ", " + megabytes(att.Size) + ": too large to download, see it in Telegram]"
		}
	}
	switch {
	case m.Text != "":
		return m.Text, atts
	case m.Caption != "":
		return m.Caption, atts
	}
	return placeholder, atts
}

func file(fileID, name, mime string, size int64) *inbox.Attachment {
	return &inbox.Attachment{URL: FileScheme + fileID, Name: name, MIME: mime, Size: size}
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// duration writes seconds as 0:07 or 1:02:03.
func duration(sec int) string {
	if sec < 0 {
		sec = 0
	}
	h, m, s := sec/3600, sec/60%60, sec%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }
