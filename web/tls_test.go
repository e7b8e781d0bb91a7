package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files
// and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "leadhub test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// serveOn runs serve on a fresh loopback listener until the test ends
// and returns the listener's address.
func serveOn(t *testing.T, serve func(ctx context.Context, ln net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func getBody(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	s, err := New(Options{Store: newFakeStore(), Sink: &fakeSink{}, TLSCertFile: certFile, TLSKeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveOn(t, s.Serve)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	resp, err := c.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("HTTPS healthz: %d (TLS %v)", resp.StatusCode, resp.TLS != nil)
	}
	// Plain HTTP to the TLS port gets no page.
	if code, _ := getBody(t, &http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/healthz"); code != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port: %d, want 400", code)
	}
}

func TestTLSFilesChecked(t *testing.T) {
	certFile, _, _ := selfSigned(t)
	for name, opts := range map[string]Options{
		"cert without key": {TLSCertFile: certFile},
		"missing key":      {TLSCertFile: certFile, TLSKeyFile: filepath.Join(t.TempDir(), "nope.pem")},
		"key is the cert":  {TLSCertFile: certFile, TLSKeyFile: certFile},
	} {
		opts.Store, opts.Sink = newFakeStore(), &fakeSink{}
		if _, err := New(opts); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
}

func TestMetricsApart(t *testing.T) {
	plain := &http.Client{Timeout: 5 * time.Second}
	// By default /metrics is on the main address.
	s := newTestServer(t, Options{})
	if w := do(t, s.Handler(), "GET", "/metrics", ""); w.Code != 200 || !strings.Contains(w.Body.String(), "leadhub_") {
		t.Errorf("metrics on the main address: %d", w.Code)
	}
	// Apart: 404 on the main address, served on its own.
	s = newTestServer(t, Options{MetricsApart: true})
	main := serveOn(t, s.Serve)
	metrics := serveOn(t, s.ServeMetrics)
	if code, _ := getBody(t, plain, "http://"+main+"/metrics"); code != http.StatusNotFound {
		t.Errorf("metrics on the main address when apart: %d, want 404", code)
	}
	if code, body := getBody(t, plain, "http://"+metrics+"/metrics"); code != 200 || !strings.Contains(body, "leadhub_") {
		t.Errorf("metrics apart: %d", code)
	}
	if code, _ := getBody(t, plain, "http://"+metrics+"/healthz"); code != http.StatusNotFound {
		t.Errorf("the metrics address serves other routes: %d", code)
	}
	if code, _ := getBody(t, plain, "http://"+main+"/healthz"); code != 200 {
		t.Errorf("healthz on the main address: %d", code)
	}
}
