package inbox

import (
	"context"
	"io"
	"path"
	"strings"
	"unicode/utf8"
)

// MaxFileSize bounds one stored attachment unless a channel sets less.
const MaxFileSize = 20 << 20

// Files keeps attachment bodies: files customers upload with a form and
// media downloaded from providers. Save stores r (at most max bytes; more is
// ETOOLARGE) and returns the attachment with the URL the operator page
// fetches it from. Saving the same bytes twice returns the same URL, so a
// provider retry stores nothing new.
type Files interface {
	Save(ctx context.Context, name, mime string, max int64, r io.Reader) (Attachment, error)
}

// FileSource opens the body of a stored attachment, for a sender that must
// upload it to the provider (a reply's file sent by mail or to VK). a is
// the attachment as it is stored on the message; an attachment that is not
// in storage (an outside URL) is ENOTFOUND.
type FileSource interface {
	OpenAttachment(ctx context.Context, a Attachment) (io.ReadCloser, error)
}

// ResolveAttachments downloads, before filing, the attachments of e whose
// URL starts with scheme (a provider's file reference): fetch stores one
// and returns the stored attachment. One that cannot be fetched is what
// failed returns, with a note for the operator kept in Meta["file_note"]
// (the first note wins); the message is filed anyway. e's slices and maps
// are replaced, not changed in place: a retried queue delivery may share
// them.
func ResolveAttachments(e *Envelope, scheme string, fetch func(Attachment) (Attachment, error),
	failed func(Attachment, error) (Attachment, string)) {
	var atts []Attachment
	for i, a := range e.Attachments {
		if len(a.URL) < len(scheme) || a.URL[:len(scheme)] != scheme {
			continue
		}
		if atts == nil {
			atts = append([]Attachment(nil), e.Attachments...)
		}
		got, err := fetch(a)
		if err == nil {
			atts[i] = got
			continue
		}
		kept, note := failed(a, err)
		atts[i] = kept
		if _, ok := e.Meta["file_note"]; !ok {
			meta := make(map[string]string, len(e.Meta)+1)
			for k, v := range e.Meta {
				meta[k] = v
			}
			meta["file_note"] = note
			e.Meta = meta
		}
	}
	if atts != nil {
		e.Attachments = atts
	}
}

// FileURLPrefix is where the web layer serves stored files: the prefix,
// the file's id (the SHA-256 of its bytes), "/", its name. Every file
// store hands out such URLs, so a message points at its files the same way
// whichever store keeps them.
const FileURLPrefix = "/files/"

// CleanFileName keeps a file name readable but harmless in a URL path and
// a Content-Disposition header; every file store names files this way.
func CleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20, r == 0x7f, strings.ContainsRune(`/\"?#%<>:*|`, r):
			return '_'
		}
		return r
	}, name)
	if name == "." || name == ".." || strings.Trim(name, "_ ") == "" {
		name = "file"
	}
	if len(name) > 120 {
		ext := path.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		cut := 120 - len(ext)
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut-- // never split a character
		}
		name = name[:cut] + ext
	}
	return name
}
