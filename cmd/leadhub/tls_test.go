package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writeSelfSigned writes a certificate for 127.0.0.1 and its key into dir
// and returns a pool trusting it.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLSAndMetricsApart: `leadhub serve` with http.tls_cert/tls_key
// speaks HTTPS, and with http.metrics_addr serves /metrics there only.
func TestServeTLSAndMetricsApart(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := writeSelfSigned(t, dir)
	path := filepath.Join(dir, "leadhub.toml")
	toml := fmt.Sprintf("data_dir = %q\n[http]\naddr = \"127.0.0.1:0\"\nmetrics_addr = \"127.0.0.1:0\"\ntls_cert = %q\ntls_key = %q\n",
		filepath.Join(dir, "data"), certFile, keyFile)
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", path}, nil, out, logs, func(string) string { return "" })
	}()
	waitFor(t, "the hub's welcome", func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve: %v\n%s", err, logs)
		default:
		}
		return strings.Contains(out.String(), "leadhub is running at")
	})
	base := regexp.MustCompile(`running at (https://\S+)`).FindStringSubmatch(out.String())
	metrics := regexp.MustCompile(`metrics_addr=(\S+)`).FindStringSubmatch(logs.String())
	if base == nil || metrics == nil {
		t.Fatalf("no https base in %q or metrics address in %q", out, logs)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(c *http.Client, url string) (int, string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(c, base[1]+"/healthz"); code != 200 {
		t.Errorf("HTTPS healthz: %d", code)
	}
	if code, _ := get(c, base[1]+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the main address: %d, want 404", code)
	}
	if code, body := get(http.DefaultClient, "http://"+metrics[1]+"/metrics"); code != 200 || !strings.Contains(body, "leadhub_db_queries_total") {
		t.Errorf("/metrics apart: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}
