package email

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// BenchmarkParseMail is what the poller does with one fetched message,
// apart from IMAP (BenchmarkIngest1000 measures that): the MIME parse,
// charsets, the HTML sanitized, the quote folded away, the sender's address
// normalized and the envelope built, with the raw message and its
// attachments handed to Files. Files here reads and drops the bytes, so the
// figure is the parsing alone; BenchmarkIngest1000/filestore has the disk.
//
//	go test -run '^$' -bench ParseMail ./connectors/email/
func BenchmarkParseMail(b *testing.B) {
	for _, tc := range []struct {
		file  string
		files int // attachments kept, the raw .eml aside
	}{
		{"gmail-reply.eml", 0},             // multipart/alternative, base64, a quoted reply
		{"outlook-html-attachment.eml", 2}, // HTML only, an inline image and a PDF
	} {
		b.Run(tc.file, func(b *testing.B) {
			c, _ := testChannel(b, "127.0.0.1:1", "", func(o *Options) {
				o.Files, o.FileSource = discardFiles{}, nil
			})
			raw := readTestdata(b, tc.file)
			ctx := context.Background()
			received := time.Date(2024, 12, 3, 8, 1, 3, 0, time.UTC)
			b.ReportAllocs()
			for b.Loop() {
				envs, err := c.envelopes(ctx, raw, 7, 3, received)
				if err != nil || len(envs) != 1 || len(envs[0].Attachments) != tc.files || envs[0].Meta[MetaRaw] == "" {
					b.Fatal(envs, err)
				}
			}
		})
	}
}

// discardFiles is an inbox.Files that reads what it is given and keeps
// nothing, so a benchmark's memory does not grow with its iterations.
type discardFiles struct{}

func (discardFiles) Save(_ context.Context, name, mime string, max int64, r io.Reader) (inbox.Attachment, error) {
	n, err := io.Copy(io.Discard, io.LimitReader(r, max+1))
	if err != nil {
		return inbox.Attachment{}, err
	}
	if n > max {
		return inbox.Attachment{}, inbox.Errorf(inbox.ETOOLARGE, "file is larger than %d bytes", max)
	}
	return inbox.Attachment{URL: "/files/" + strconv.FormatInt(n, 10) + "/" + name, Name: name, MIME: mime, Size: n}, nil
}
