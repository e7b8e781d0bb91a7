package inbox

import (
	"context"
	"io"
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
