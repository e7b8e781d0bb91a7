package vk

import (
	"encoding/json"
	"fmt"
	"mime"
	"strconv"
	"strings"

	"github.com/SevereCloud/vksdk/v3/object"

	"github.com/leadhub/leadhub/inbox"
)

// message holds the parts of a VK message that leadhub reads. Decoding into
// vksdk's object.MessagesMessage would decode keyboards, templates and every
// attachment kind too, and one of them in a shape the library does not know
// would fail the customer's message as a whole: a 400 that VK resends until
// it gives up on the server. Attachments are therefore kept raw and decoded
// one by one (into vksdk's types), so an odd one costs a placeholder only.
type message struct {
	ID                    int64             `json:"id"`
	Date                  int64             `json:"date"`
	UpdateTime            int64             `json:"update_time"`
	PeerID                int64             `json:"peer_id"`
	FromID                int64             `json:"from_id"`
	Out                   int               `json:"out"`
	Text                  string            `json:"text"`
	ConversationMessageID int64             `json:"conversation_message_id"`
	RandomID              int64             `json:"random_id"`
	AdminAuthorID         int64             `json:"admin_author_id"`
	Payload               string            `json:"payload"`
	Ref                   string            `json:"ref"`
	RefSource             string            `json:"ref_source"`
	Attachments           []json.RawMessage `json:"attachments"`
	FwdMessages           []message         `json:"fwd_messages"`
	ReplyMessage          *message          `json:"reply_message"`
}

func decodeMessage(raw json.RawMessage) (*message, error) {
	var m message
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, inbox.Errorf(inbox.EINVALID, "message is malformed")
	}
	return &m, nil
}

// maxQuoted bounds how many forwarded messages are written out, nested ones
// included; VK allows a hundred at each level.
const maxQuoted = 20

// content returns the text an operator reads and the media: the message's
// text, then a line per attachment that stays a reference (a sticker, a
// link, a wall post) or, when there is no text, per attachment at all; then
// the message it answers and the forwarded ones, quoted.
func content(m *message, meta map[string]string) (string, []inbox.Attachment) {
	var lines []string
	if t := strings.TrimSpace(m.Text); t != "" {
		lines = append(lines, m.Text)
	}
	atts, placeholders, refs := attachments(m.Attachments)
	if len(lines) == 0 {
		lines = append(lines, placeholders...)
	} else {
		lines = append(lines, refs...)
	}
	if r := m.ReplyMessage; r != nil {
		peer := r.PeerID
		if peer == 0 {
			peer = m.PeerID // a quoted message of the same dialog may omit it
		}
		meta["reply_to"] = externalID(peer, r.ConversationMessageID, r.ID)
		if q := quote(r, 1, new(int)); q != "" {
			lines = append(lines, "[in reply to]\n"+q)
		}
	}
	n := 0
	for i := range m.FwdMessages {
		if q := quote(&m.FwdMessages[i], 1, &n); q != "" {
			lines = append(lines, "[forwarded]\n"+q)
		}
	}
	return strings.Join(lines, "\n"), atts
}

// quote writes a replied-to or forwarded message as "> " lines: its author,
// text, attachments (as placeholders: their files are not fetched) and the
// messages it forwarded in turn.
func quote(m *message, depth int, n *int) string {
	if *n >= maxQuoted || depth > 3 {
		return ""
	}
	*n++
	var b strings.Builder
	prefix := strings.Repeat("> ", depth)
	author := "community"
	if m.FromID > 0 {
		author = ProfileURL(m.FromID)
	}
	b.WriteString(prefix + author + ":")
	body := []string{}
	if t := strings.TrimSpace(m.Text); t != "" {
		body = append(body, strings.Split(t, "\n")...)
	}
	_, placeholders, _ := attachments(m.Attachments)
	body = append(body, placeholders...)
	for _, l := range body {
		b.WriteString("\n" + prefix + l)
	}
	for i := range m.FwdMessages {
		if q := quote(&m.FwdMessages[i], depth+1, n); q != "" {
			b.WriteString("\n" + q)
		}
	}
	return b.String()
}

// attachment is one VK attachment: its type names the field with its body.
type attachment struct {
	Type         string              `json:"type"`
	Photo        *object.PhotosPhoto `json:"photo"`
	Doc          *object.DocsDoc     `json:"doc"`
	AudioMessage *object.DocsDoc     `json:"audio_message"`
	Graffiti     *object.DocsDoc     `json:"graffiti"`
	Sticker      *object.BaseSticker `json:"sticker"`
	Link         *struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	} `json:"link"`
	Wall *struct {
		ID      int64  `json:"id"`
		OwnerID int64  `json:"owner_id"`
		FromID  int64  `json:"from_id"`
		Text    string `json:"text"`
	} `json:"wall"`
	Video *struct {
		ID      int64  `json:"id"`
		OwnerID int64  `json:"owner_id"`
		Title   string `json:"title"`
	} `json:"video"`
	Audio *struct {
		Artist   string `json:"artist"`
		Title    string `json:"title"`
		Duration int    `json:"duration"`
	} `json:"audio"`
}

// attachments maps a message's attachments. It returns the files to store
// (as FileScheme references), a placeholder line for every attachment, and
// the lines of those that stay references (a link, a wall post), which the
// text needs even when the message has text of its own.
func attachments(raws []json.RawMessage) (files []inbox.Attachment, placeholders, refs []string) {
	for _, raw := range raws {
		var a attachment
		if err := json.Unmarshal(raw, &a); err != nil {
			// One attachment in a shape nobody expected must not lose the
			// message; its type, if it has one, still says what it was.
			var t struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(raw, &t)
			placeholders = append(placeholders, "["+or(short(t.Type), "attachment")+"]")
			continue
		}
		file, line, ref := a.mapped()
		if file != nil {
			files = append(files, *file)
		}
		placeholders = append(placeholders, line)
		if ref {
			refs = append(refs, line)
		}
	}
	return files, placeholders, refs
}

// mapped returns the file to download (nil for none), the line that stands
// for the attachment in the text, and whether that line is the only trace
// of it (a reference that no stored file shows).
func (a *attachment) mapped() (*inbox.Attachment, string, bool) {
	switch {
	case a.Type == "photo" && a.Photo != nil:
		best := a.Photo.MaxSize()
		if best.URL == "" && len(a.Photo.Sizes) > 0 {
			best = a.Photo.Sizes[len(a.Photo.Sizes)-1]
		}
		if !downloadable(best.URL) {
			return nil, "[photo]", false
		}
		return file(best.URL, "photo.jpg", "image/jpeg", 0), "[photo]", false
	case a.Type == "doc" && a.Doc != nil:
		d := a.Doc
		name := docName(d)
		line := "[document: " + name + "]"
		if !downloadable(d.URL) {
			return nil, line, true
		}
		return file(d.URL, name, mimeOf(d.Ext), int64(d.Size)), line, false
	case a.Type == "audio_message" && a.AudioMessage != nil:
		v := a.AudioMessage
		line := "[voice message " + duration(v.Duration) + "]"
		if t := strings.TrimSpace(v.Transcript); t != "" {
			line += " " + t
		}
		switch {
		case downloadable(v.LinkMp3):
			return file(v.LinkMp3, "voice.mp3", "audio/mpeg", 0), line, false
		case downloadable(v.LinkOgg):
			return file(v.LinkOgg, "voice.ogg", "audio/ogg", 0), line, false
		}
		return nil, line, true
	case a.Type == "graffiti" && a.Graffiti != nil && downloadable(a.Graffiti.URL):
		return file(a.Graffiti.URL, "graffiti.png", "image/png", 0), "[graffiti]", false
	case a.Type == "sticker" && a.Sticker != nil:
		// A sticker is a picture VK keeps; its link is enough.
		if img := a.Sticker.MaxSize(); img.URL != "" {
			return nil, "[sticker " + img.URL + "]", true
		}
		return nil, "[sticker]", true
	case a.Type == "link" && a.Link != nil:
		title := strings.TrimSpace(a.Link.Title)
		if title != "" {
			title += " "
		}
		return nil, "[link: " + title + a.Link.URL + "]", true
	case a.Type == "wall" && a.Wall != nil:
		w := a.Wall
		owner := w.OwnerID
		if owner == 0 {
			owner = w.FromID
		}
		line := fmt.Sprintf("[wall post: https://vk.com/wall%d_%d]", owner, w.ID)
		if t := strings.TrimSpace(w.Text); t != "" {
			line += " " + firstLine(t, 200)
		}
		return nil, line, true
	case a.Type == "video" && a.Video != nil:
		return nil, fmt.Sprintf("[video: %s https://vk.com/video%d_%d]", a.Video.Title, a.Video.OwnerID, a.Video.ID), true
	case a.Type == "audio" && a.Audio != nil:
		return nil, "[audio: " + strings.Trim(a.Audio.Artist+" – "+a.Audio.Title, " –") + " " + duration(a.Audio.Duration) + "]", true
	}
	return nil, "[" + or(short(a.Type), "attachment") + "]", true
}

// downloadable accepts the https links VK gives for media. Anything else in
// a body (another scheme, a local address spelled as http) is not fetched.
func downloadable(u string) bool {
	return strings.HasPrefix(u, "https://") && len(u) > len("https://") && len(u) < 2000
}

func file(link, name, mimeType string, size int64) *inbox.Attachment {
	return &inbox.Attachment{URL: FileScheme + link, Name: name, MIME: mimeType, Size: size}
}

// trimScheme turns a FileScheme reference back into its link.
func trimScheme(u string) string { return strings.TrimPrefix(u, FileScheme) }

func docName(d *object.DocsDoc) string {
	name := strings.TrimSpace(d.Title)
	if name == "" {
		name = "document"
	}
	if d.Ext != "" && !strings.HasSuffix(strings.ToLower(name), "."+strings.ToLower(d.Ext)) {
		name += "." + d.Ext
	}
	return name
}

func mimeOf(ext string) string {
	if ext == "" {
		return "application/octet-stream"
	}
	if t := mime.TypeByExtension("." + strings.ToLower(ext)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func firstLine(s string, max int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
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
	return strconv.Itoa(m) + ":" + fmt.Sprintf("%02d", s)
}
