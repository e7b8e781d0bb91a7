package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
)

const (
	zadarmaTestSecret = "test-zadarma-secret"
	mangoTestKey      = "2fn293fg43gfh02h4ub3jd23o312u4bc"
	mangoTestSalt     = "test-mango-salt"
	genericTestSecret = "test-generic-secret"
)

// telephonyHub runs the hub (embedded, or on PostgreSQL and Redis) with
// three telephony channels, one per provider.
func telephonyHub(t testing.TB, postgres, rds bool) (*running, config.Config) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	if postgres {
		cfg.Database.URL = inboxtest.PostgresURL(t)
	}
	if rds {
		cfg.Redis.URL = inboxtest.RedisURL(t)
		cfg.Redis.Stream = inboxtest.Unique("leadhub-test:")
	}
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.HTTP.HookRate, cfg.HTTP.HookChannelRate = 0, 0
	cfg.Log.Level = "error"
	ext := map[string]string{"101": "admin@example.com"}
	cfg.Channels = []config.Channel{
		{ID: "zd", Type: "telephony", Provider: "zadarma", Secret: zadarmaTestSecret, Extensions: ext},
		{ID: "mg", Type: "telephony", Provider: "mango", APIKey: mangoTestKey, APISalt: mangoTestSalt, Extensions: ext},
		{ID: "pbx", Type: "telephony", Provider: "generic", Secret: genericTestSecret, Extensions: ext},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"migrate"}, nil, io.Discard, io.Discard, envFor(t, cfg)); err != nil {
		t.Fatalf("leadhub migrate: %v", err)
	}
	return startHub(t, cfg), cfg
}

func zadarmaPost(t testing.TB, base string, form url.Values, fields ...string) int {
	t.Helper()
	var s strings.Builder
	for _, f := range fields {
		s.WriteString(form.Get(f))
	}
	m := hmac.New(sha1.New, []byte(zadarmaTestSecret))
	m.Write([]byte(s.String()))
	req, _ := http.NewRequest(http.MethodPost, base+"/hooks/telephony/zd", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Signature", base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil)))))
	return status(t, req)
}

func status(t testing.TB, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestTelephonyEndToEnd: each provider's webhook, as the provider sends it,
// through the real hub: verification answers, signatures checked, and a
// missed call's events folded into one entry with its callback task.
func TestTelephonyEndToEnd(t *testing.T) {
	r, cfg := telephonyHub(t, false, false)
	token := createToken(t, cfg)

	// Zadarma checks the URL with zd_echo, then posts a call that nobody
	// answers; its end arrives first.
	resp, err := http.Get(r.base + "/hooks/telephony/zd?zd_echo=abc123")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "abc123" {
		t.Fatalf("zd_echo: %d %q", resp.StatusCode, body)
	}
	start := url.Values{"event": {"NOTIFY_START"}, "call_start": {"2026-12-03 14:00:00"}, "pbx_call_id": {"in_e2e"},
		"caller_id": {"+79123456789"}, "called_did": {"74951234567"}}
	end := url.Values{"event": {"NOTIFY_END"}, "call_start": {"2026-12-03 14:00:00"}, "pbx_call_id": {"in_e2e"},
		"caller_id": {"+79123456789"}, "called_did": {"74951234567"}, "internal": {"101"}, "duration": {"0"},
		"disposition": {"no answer"}, "status_code": {"19"}, "is_recorded": {"0"}}
	sig := []string{"caller_id", "called_did", "call_start"}
	if code := zadarmaPost(t, r.base, end, sig...); code != 200 {
		t.Fatalf("NOTIFY_END: %d", code)
	}
	if code := zadarmaPost(t, r.base, start, sig...); code != 200 {
		t.Fatalf("NOTIFY_START: %d", code)
	}
	forged := url.Values{}
	for k, v := range start {
		forged[k] = v
	}
	forged.Set("caller_id", "+79990000000")
	if code := zadarmaPost(t, r.base, forged, "call_start"); code != 401 {
		t.Errorf("wrong Zadarma signature: %d, want 401", code)
	}
	waitFor(t, "both Zadarma events filed", func() bool { return count(t, r.hub, "call_events") == 2 })
	if n := count(t, r.hub, "messages"); n != 1 {
		t.Errorf("%d messages, want the call's one entry", n)
	}
	var tasks struct {
		Items []inbox.Task `json:"items"`
	}
	if code := apiGet(t, r.base, token, "/api/v1/tasks?state=open&mine=1", &tasks); code != 200 || len(tasks.Items) != 1 ||
		tasks.Items[0].Kind != inbox.TaskCallback {
		t.Fatalf("admin's open tasks: %d %+v, want the callback of the missed call (extension 101 is theirs)", code, tasks.Items)
	}

	// Mango: the fixture as posted to <base>/events/call, and with its sign
	// broken.
	raw, err := os.ReadFile("../../connectors/telephony/testdata/mango-events-call.txt")
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	mbody, _ := io.ReadAll(req.Body)
	post := func(path string, b []byte) int {
		req, _ := http.NewRequest(http.MethodPost, r.base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return status(t, req)
	}
	if code := post("/hooks/telephony/mg/events/call", mbody); code != 200 {
		t.Fatalf("mango events/call: %d", code)
	}
	if code := post("/hooks/telephony/mg/events/call", bytes.Replace(mbody, []byte("sign=ad"), []byte("sign=ae"), 1)); code != 401 {
		t.Errorf("wrong Mango sign: %d, want 401", code)
	}

	// Generic: an answered call from the same client closes the task.
	gen := func(b string, secret string) int {
		req, _ := http.NewRequest(http.MethodPost, r.base+"/hooks/telephony/pbx", strings.NewReader(b))
		req.Header.Set(connectors.SignatureHeader, connectors.Sign(secret, []byte(b)))
		return status(t, req)
	}
	answered := `{"call_id":"g-1","event":"answered","from":"8 912 345-67-89","extension":"101"}`
	if code := gen(answered, "wrong"); code != 401 {
		t.Errorf("wrong generic signature: %d, want 401", code)
	}
	if code := gen(answered, genericTestSecret); code != 200 {
		t.Fatalf("generic answered: %d", code)
	}
	waitFor(t, "the callback task closed", func() bool {
		apiGet(t, r.base, token, "/api/v1/tasks?state=done", &tasks)
		return len(tasks.Items) == 1 && tasks.Items[0].DoneNote == "closed by an answered call"
	})
}

// BenchmarkTelephonyWebhook measures the events per second the telephony
// path sustains: signed generic call events (ringing, answered, ended per
// call) posted over HTTP by 8 clients, through the webhook handler, the
// durable queue and filing, until every event is folded into its call; on
// the embedded default and on PostgreSQL + Redis (with the test services).
// Run it with
//
//	go test -run XXX -bench BenchmarkTelephonyWebhook -benchtime 3000x ./cmd/leadhub
func BenchmarkTelephonyWebhook(b *testing.B) {
	b.Run("sqlite+sqlq", func(b *testing.B) { benchTelephony(b, false, false) })
	b.Run("postgres+redis", func(b *testing.B) { benchTelephony(b, true, true) })
}

func benchTelephony(b *testing.B, postgres, rds bool) {
	r, _ := telephonyHub(b, postgres, rds)
	events := []string{"ringing", "answered", "ended"}
	base := count(b, r.hub, "call_events")
	work := make(chan int)
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	b.ResetTimer()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				call, ev := i/3, events[i%3]
				body := fmt.Sprintf(`{"call_id":"bench-%d","event":%q,"from":"+7912%07d","extension":"101","disposition":"answered"}`,
					call, ev, call%5000)
				req, _ := http.NewRequest(http.MethodPost, r.base+"/hooks/telephony/pbx", strings.NewReader(body))
				req.Header.Set(connectors.SignatureHeader, connectors.Sign(genericTestSecret, []byte(body)))
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					continue // keep draining work so the sender loop ends
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	for i := range b.N {
		work <- i
	}
	close(work)
	wg.Wait()
	waitFor(b, "every event filed", func() bool { return count(b, r.hub, "call_events") == base+b.N })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
