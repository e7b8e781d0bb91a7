package email

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/connectors/email/emailtest"
	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store/filestore"
)

// BenchmarkIngest1000 measures reading 1,000 mails from the in-process IMAP
// server into envelopes: UID SEARCH, FETCH BODY.PEEK[] in batches, parsing,
// and storing each raw message and attachment (on disk with filestore, or in
// memory). Queueing and filing are the spine's, measured elsewhere.
//
//	go test -run '^$' -bench Ingest1000 -benchtime 3x ./connectors/email/
func BenchmarkIngest1000(b *testing.B) {
	srv := emailtest.NewIMAP(b, emailtest.IMAPOptions{})
	gmail := readTestdata(b, "gmail-reply.eml")
	outlook := readTestdata(b, "outlook-html-attachment.eml")
	for i := range 1000 {
		var raw []byte
		switch i % 3 {
		case 0:
			raw = textMail(i, fmt.Sprintf("c%d@client.test", i), "")
		case 1:
			raw = append([]byte(fmt.Sprintf("X-Seq: %d\r\n", i)), replaceID(gmail, i)...)
		default:
			raw = append([]byte(fmt.Sprintf("X-Seq: %d\r\n", i)), replaceID(outlook, i)...)
		}
		srv.Deliver(b, "INBOX", raw)
	}
	b.Run("filestore", func(b *testing.B) {
		ingest(b, srv, func() inbox.Files {
			files, err := filestore.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return files
		})
	})
	// Without the disk: the IMAP round trips and parsing alone.
	b.Run("memory", func(b *testing.B) {
		ingest(b, srv, func() inbox.Files { return &memFiles{} })
	})
}

func ingest(b *testing.B, srv *emailtest.IMAP, newFiles func() inbox.Files) {
	for range b.N {
		b.StopTimer()
		c, err := New(Options{ChannelID: "mail", IMAPAddr: srv.Addr, IMAPTLS: TLSNone, Username: emailtest.User,
			Password: emailtest.Password, Backfill: 24 * time.Hour, Files: newFiles(), NoIdle: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, cp := 0, ""
		for {
			items, err := c.Poll(context.Background(), cp)
			if err != nil {
				b.Fatal(err)
			}
			if len(items) == 0 {
				break
			}
			for _, it := range items {
				n += len(it.Envelopes)
				cp = it.Checkpoint
			}
		}
		b.StopTimer()
		c.disconnect()
		if n != 1000 {
			b.Fatalf("%d envelopes, want 1000", n)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/1000msgs")
}

// replaceID gives a fixture a Message-ID of its own.
func replaceID(raw []byte, i int) []byte {
	m := Parse(raw, 1<<20)
	return []byte(strings.ReplaceAll(string(raw), m.MessageID, fmt.Sprintf("bench-%d@client.test", i)))
}
