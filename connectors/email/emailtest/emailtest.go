// Package emailtest runs real IMAP and SMTP servers in process for tests:
// go-imap's imapserver over its in-memory backend, and go-smtp's server
// recording what it receives. Both speak the real protocols over loopback
// TCP, in plain text, STARTTLS or implicit TLS with a certificate made for
// the test.
package emailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Account's credentials on both servers.
const (
	User     = "sales@shop.test"
	Password = "app-password-123"
)

// TLS is a certificate for 127.0.0.1 and a client configuration that
// trusts it.
type TLS struct {
	Server *tls.Config
	Client *tls.Config
}

// NewTLS makes a self-signed certificate for 127.0.0.1.
func NewTLS(t testing.TB) TLS {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return TLS{
		Server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		Client: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
	}
}

// IMAPOptions configures an IMAP server.
type IMAPOptions struct {
	// TLS is "tls", "starttls" or "none" (default); Cert is required for
	// the first two.
	TLS  string
	Cert TLS
}

// IMAP is an in-process IMAP server with one account (User, Password) and
// the mailboxes INBOX and Sent.
type IMAP struct {
	Addr string
	user *imapmemserver.User
	srv  *imapserver.Server

	mu     sync.Mutex
	logins []time.Time
	failed int
}

// NewIMAP starts a server on a loopback port until the test ends. Its
// capabilities are IMAP4rev1 and what imapserver adds to it after login
// (IDLE, UNSELECT...): no ESEARCH, no IMAP4rev2, as many real servers
// answer.
func NewIMAP(t testing.TB, o IMAPOptions) *IMAP {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(User, Password)
	for _, mb := range []string{"INBOX", "Sent"} {
		if err := u.Create(mb, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(u)
	s := &IMAP{user: u}
	caps := imap.CapSet{imap.CapIMAP4rev1: {}}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &countingSession{Session: mem.NewSession(), s: s}, nil, nil
		},
		Caps:         caps,
		InsecureAuth: o.TLS == "" || o.TLS == "none",
		Logger:       discardLogger{},
	}
	if o.TLS == "starttls" {
		caps[imap.CapStartTLS] = struct{}{}
		opts.TLSConfig = o.Cert.Server
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.TLS == "tls" {
		ln = tls.NewListener(ln, o.Cert.Server)
	}
	s.srv = imapserver.New(opts)
	s.Addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		s.srv.Close()
		<-done
	})
	return s
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// countingSession records login attempts.
type countingSession struct {
	imapserver.Session
	s *IMAP
}

func (c *countingSession) Login(user, pass string) error {
	err := c.Session.Login(user, pass)
	c.s.mu.Lock()
	c.s.logins = append(c.s.logins, time.Now())
	if err != nil {
		c.s.failed++
	}
	c.s.mu.Unlock()
	return err
}

// Logins returns the times of every login attempt so far.
func (s *IMAP) Logins() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.logins...)
}

// Deliver puts raw into mailbox as new mail, as the server's delivery
// would, and returns its UID.
func (s *IMAP) Deliver(t testing.TB, mailbox string, raw []byte) imap.UID {
	t.Helper()
	d, err := s.user.Append(mailbox, literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: time.Now()})
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	return d.UID
}

// Recreate deletes mailbox and creates it again: its UIDVALIDITY changes
// and the old UIDs mean nothing.
func (s *IMAP) Recreate(t testing.TB, mailbox string) {
	t.Helper()
	if err := s.user.Delete(mailbox); err != nil {
		t.Fatal(err)
	}
	if err := s.user.Create(mailbox, nil); err != nil {
		t.Fatal(err)
	}
}

// Messages returns the raw messages in mailbox, in UID order, read over a
// client connection.
func (s *IMAP) Messages(t testing.TB, mailbox string) [][]byte {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(User, Password).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(seq(sel.NumMessages)...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		out[i] = m.FindBodySection(sec)
	}
	return out
}

func seq(n uint32) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i + 1)
	}
	return out
}

type literal struct {
	io.Reader
	size int64
}

func (l literal) Size() int64 { return l.size }

// Mail is one message the SMTP server accepted.
type Mail struct {
	From string
	To   []string
	Data []byte
}

// SMTP is an in-process SMTP server that needs AUTH PLAIN with User and
// Password and records the mail it accepts.
type SMTP struct {
	Addr string

	mu   sync.Mutex
	mail []Mail
	// fail answers the next DATA with this error, then clears it.
	fail []*smtp.SMTPError
}

// NewSMTP starts a server on a loopback port until the test ends. tlsMode
// is "tls", "starttls" or "none".
func NewSMTP(t testing.TB, tlsMode string, cert TLS) *SMTP {
	t.Helper()
	s := &SMTP{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{s: s}, nil
	}))
	srv.Domain = "127.0.0.1"
	srv.AllowInsecureAuth = tlsMode == "none" || tlsMode == ""
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch tlsMode {
	case "tls":
		ln = tls.NewListener(ln, cert.Server)
	case "starttls":
		srv.TLSConfig = cert.Server
	}
	s.Addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

// FailNext makes the next DATA answer err (e.g. 451 or 550).
func (s *SMTP) FailNext(err *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, err)
}

// Received returns the mail accepted so far.
func (s *SMTP) Received() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

type smtpSession struct {
	s      *SMTP
	authed bool
	from   string
	to     []string
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != User || pass != Password {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if len(ss.s.fail) > 0 {
		err := ss.s.fail[0]
		ss.s.fail = ss.s.fail[1:]
		return err
	}
	ss.s.mail = append(ss.s.mail, Mail{From: ss.from, To: ss.to, Data: b})
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }
