package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox/inboxtest"
)

// TestFaults runs leadhub as a cluster of real processes — two instances,
// a Redis of its own with AOF, PostgreSQL behind a TCP proxy the test can
// cut — and, while a load generator posts signed webhooks to both (5% of
// them twice), kills an instance with SIGKILL, restarts Redis, kills Redis
// and starts it 5 s later, cuts PostgreSQL off for 15 s, and makes the
// CRM answer 5xx while replies go out. After each, every webhook that got
// a 2xx must be stored exactly once and every reply delivered once; each
// prints "accepted=N stored=N duplicates=0 lost=0".
//
// It takes a few minutes, so it runs when LEADHUB_TEST_FAULTS=1 (.ci/run
// sets it); it needs redis-server on the PATH and LEADHUB_TEST_POSTGRES.
func TestFaults(t *testing.T) {
	if os.Getenv("LEADHUB_TEST_FAULTS") != "1" {
		t.Skip("set LEADHUB_TEST_FAULTS=1 to run the fault tests (.ci/run does)")
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("the fault tests need redis-server: %v", err)
	}
	dir := t.TempDir()
	if keep := os.Getenv("LEADHUB_FAULT_DIR"); keep != "" {
		dir = keep // to read the processes' logs afterwards
	}
	bin := filepath.Join(dir, "leadhub")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	direct := inboxtest.PostgresURL(t)
	proxy := newCutProxy(t, pgAddr(t, direct))
	viaProxy := withHost(t, direct, proxy.addr)
	rds := newRedisProcess(t, redisBin, filepath.Join(dir, "redis"))
	crm := newFlakyCRM()
	defer crm.srv.Close()

	cfgPath := filepath.Join(dir, "leadhub.toml")
	writeFaultConfig(t, cfgPath, dir, viaProxy, rds.url(), crm.srv.URL)
	runBin(t, bin, "", "migrate", "--config", cfgPath)
	runBin(t, bin, "correct horse battery staple\n", "operator", "add", "--email", "admin@example.com", "--role", "admin", "--config", cfgPath)
	token := lastLine(runBin(t, bin, "", "token", "create", "--operator", "admin@example.com", "--config", cfgPath))

	insts := []*instance{startInstance(t, bin, cfgPath, dir, 0), startInstance(t, bin, cfgPath, dir, 1)}
	db, err := sql.Open("pgx", direct)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	check := func(name string, load *loadRun) {
		t.Helper()
		stored, dups := load.settle(t, db)
		lost := len(load.accepted()) - stored
		t.Logf("%s: accepted=%d stored=%d duplicates=%d lost=%d; non-2xx answered for %v",
			name, len(load.accepted()), stored, dups, lost, load.refusedFor())
		fmt.Printf("fault %s: accepted=%d stored=%d duplicates=%d lost=%d\n", name, len(load.accepted()), stored, dups, lost)
		if dups != 0 || lost != 0 || len(load.accepted()) == 0 {
			t.Errorf("%s: accepted=%d stored=%d duplicates=%d lost=%d", name, len(load.accepted()), stored, dups, lost)
		}
	}

	top := t
	t.Run("kill -9 an instance", func(t *testing.T) {
		load := startLoad(insts, "kill", 600)
		load.waitSent(200)
		killed := time.Now()
		insts[0].kill(t)
		load.wait()
		check("kill -9 an instance", load)
		t.Logf("the dead instance's work was filed %v after the kill", time.Since(killed).Round(time.Second))
		insts[0] = startInstance(top, bin, cfgPath, dir, 0) // lives on for the next faults
	})
	t.Run("restart redis", func(t *testing.T) {
		load := startLoad(insts, "redis-restart", 600)
		load.waitSent(200)
		rds.stop(t, syscall.SIGTERM)
		rds.start(t)
		load.wait()
		check("restart redis", load)
	})
	t.Run("kill -9 redis, start after 5s", func(t *testing.T) {
		load := startLoad(insts, "redis-kill", 600)
		load.waitSent(200)
		rds.stop(t, syscall.SIGKILL)
		time.Sleep(5 * time.Second) // the outage itself, not a wait for a result
		rds.start(t)
		load.wait()
		check("kill -9 redis, start after 5s", load)
	})
	t.Run("postgres down 15s", func(t *testing.T) {
		load := startLoad(insts, "pg-down", 900)
		load.waitSent(200)
		proxy.cut()
		time.Sleep(15 * time.Second) // the outage itself
		proxy.restore(t)
		load.wait()
		check("postgres down 15s", load)
	})
	t.Run("crm 5xx during replies", func(t *testing.T) {
		var convs struct {
			Items []struct {
				ID int64 `json:"id"`
			} `json:"items"`
		}
		apiGet(t, insts[1].base, token, "/api/v1/conversations?limit=20", &convs)
		if len(convs.Items) < 10 {
			t.Fatalf("%d conversations to reply in", len(convs.Items))
		}
		crm.failFor(8 * time.Second)
		for i, c := range convs.Items {
			body := fmt.Sprintf(`{"text":"Ответ %d"}`, i)
			req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/conversations/%d/messages", insts[i%2].base, c.ID), strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("reply %d: %d", i, resp.StatusCode)
			}
		}
		deadline := time.Now().Add(3 * time.Minute)
		for crm.deliveredCount() < len(convs.Items) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		got, twice, refused := crm.counts()
		fmt.Printf("fault crm 5xx during replies: accepted=%d stored=%d duplicates=%d lost=%d\n", len(convs.Items), got, twice, len(convs.Items)-got)
		t.Logf("replies: %d sent, %d delivered, %d twice, %d answered 5xx first", len(convs.Items), got, twice, refused)
		if got != len(convs.Items) || twice != 0 || refused == 0 {
			t.Errorf("replies: %d sent, %d delivered, %d twice, %d refused", len(convs.Items), got, twice, refused)
		}
	})
}

// instance is a running leadhub process.
type instance struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
}

func startInstance(t *testing.T, bin, cfgPath, dir string, n int) *instance {
	t.Helper()
	addr := freeAddr(t)
	logf, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("leadhub-%d.log", n)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "LEADHUB_HTTP_ADDR="+addr, "LEADHUB_DATA_DIR="+filepath.Join(dir, fmt.Sprintf("data-%d", n)))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{cmd: cmd, base: "http://" + addr, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(in.done) }()
	t.Cleanup(func() { in.kill(t) })
	waitFor(t, "instance ready", func() bool {
		resp, err := http.Get(in.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return in
}

func (in *instance) kill(t *testing.T) {
	select {
	case <-in.done:
		return
	default:
	}
	in.cmd.Process.Signal(syscall.SIGKILL)
	<-in.done
}

func (in *instance) alive() bool {
	select {
	case <-in.done:
		return false
	default:
		return true
	}
}

// loadRun posts n signed webhooks across the live instances from a few
// senders, 5% of them twice, trying another instance when one refuses (as
// a provider's retry through a load balancer would).
type loadRun struct {
	prefix  string
	sent    atomic.Int64
	done    chan struct{}
	mu      sync.Mutex
	ok      map[string]bool
	refused []time.Time
}

func startLoad(insts []*instance, prefix string, n int) *loadRun {
	l := &loadRun{prefix: prefix, done: make(chan struct{}), ok: map[string]bool{}}
	ids := make(chan int)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range ids {
				id := fmt.Sprintf("fault-%s-%d", prefix, i)
				body := fmt.Sprintf(`{"id":%q,"from":{"phone":"+7912%07d"},"text":"заявка %d"}`, id, 1000000+i%300, i)
				sends := 1
				if i%20 == 0 {
					sends = 2 // the provider's duplicate delivery
				}
				for range sends {
					if l.post(insts, w+i, body) {
						l.mu.Lock()
						l.ok[id] = true
						l.mu.Unlock()
					}
				}
				l.sent.Add(1)
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	go func() {
		for i := range n {
			ids <- i
		}
		close(ids)
		wg.Wait()
		close(l.done)
	}()
	return l
}

// post tries up to three times, on the next live instance each time, and
// reports whether one answered 2xx.
func (l *loadRun) post(insts []*instance, start int, body string) bool {
	client := &http.Client{Timeout: 5 * time.Second}
	for attempt := range 3 {
		in := insts[(start+attempt)%len(insts)]
		if !in.alive() {
			continue
		}
		req, _ := http.NewRequest(http.MethodPost, in.base+"/hooks/api/crm", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(connectors.SignatureHeader, connectors.Sign(faultSecret, []byte(body)))
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return true
			}
		}
		l.mu.Lock()
		l.refused = append(l.refused, time.Now())
		l.mu.Unlock()
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

func (l *loadRun) waitSent(n int64) {
	for l.sent.Load() < n {
		select {
		case <-l.done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (l *loadRun) wait() { <-l.done }

func (l *loadRun) accepted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.ok))
	for id := range l.ok {
		out = append(out, id)
	}
	return out
}

// refusedFor is how long, from the first refusal to the last, ingestion
// answered non-2xx (0: never).
func (l *loadRun) refusedFor() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.refused) == 0 {
		return 0
	}
	return l.refused[len(l.refused)-1].Sub(l.refused[0]).Round(100 * time.Millisecond)
}

// settle waits until every accepted webhook is stored (at most two
// minutes), then counts the accepted ones stored and the extra copies.
func (l *loadRun) settle(t *testing.T, db *sql.DB) (stored, dups int) {
	t.Helper()
	accepted := l.accepted()
	want := map[string]bool{}
	for _, id := range accepted {
		want["api:crm:"+id] = true
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		rows, err := db.Query(`SELECT dedupe_key, COUNT(*) FROM messages WHERE dedupe_key LIKE $1 GROUP BY dedupe_key`,
			"api:crm:fault-"+l.prefix+"-%")
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("count stored: %v", err)
			}
			time.Sleep(time.Second)
			continue
		}
		stored, dups = 0, 0
		for rows.Next() {
			var key string
			var n int
			rows.Scan(&key, &n)
			if want[key] {
				stored++
			}
			dups += n - 1
		}
		rows.Close()
		if stored == len(accepted) || time.Now().After(deadline) {
			return stored, dups
		}
		time.Sleep(500 * time.Millisecond)
	}
}

const faultSecret = "fault-secret-0123456789"

func writeFaultConfig(t *testing.T, path, dir, dbURL, redisURL, crmURL string) {
	t.Helper()
	cfg := fmt.Sprintf(`data_dir = %q

[http]
hook_rate = 0
hook_channel_rate = 0

[database]
url = %q

[redis]
url = %q
stream = %q

[inbox]
# A dead instance's deliveries are taken over after this.
visibility = "5s"

[files]
storage = "database"

[[channels]]
id = "crm"
type = "api"
secret = %q
callback_url = %q
`, filepath.Join(dir, "data"), dbURL, redisURL, inboxtest.Unique("leadhub-fault:"), faultSecret, crmURL)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func runBin(t *testing.T, bin, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("leadhub %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func pgAddr(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Host
	if !strings.Contains(host, ":") {
		host += ":5432"
	}
	return host
}

func withHost(t *testing.T, raw, host string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
}

// cutProxy forwards TCP to PostgreSQL until cut: then it closes every
// connection and refuses new ones — to leadhub, the database is down —
// until restored on the same address.
type cutProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	p := &cutProxy{addr: freeAddr(t), target: target, conns: map[net.Conn]bool{}}
	p.restore(t)
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *cutProxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// redisProcess is a redis-server of the test's own, with AOF, on loopback.
type redisProcess struct {
	bin, dir, addr string
	cmd            *exec.Cmd
	done           chan struct{}
}

func newRedisProcess(t *testing.T, bin, dir string) *redisProcess {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &redisProcess{bin: bin, dir: dir, addr: freeAddr(t)}
	r.start(t)
	t.Cleanup(func() { r.stop(t, syscall.SIGKILL) })
	return r
}

func (r *redisProcess) url() string { return "redis://" + r.addr + "/0" }

func (r *redisProcess) start(t *testing.T) {
	t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command(r.bin, "--port", port, "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "")
	out, _ := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	r.cmd.Stdout, r.cmd.Stderr = out, out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); out.Close(); close(done) }(r.cmd, r.done)
	waitFor(t, "redis up", func() bool {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		io.WriteString(c, "PING\r\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(line, "+PONG")
	})
}

func (r *redisProcess) stop(t *testing.T, sig syscall.Signal) {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// flakyCRM is the API channel's callback: it answers 500 while failing,
// then records each reply it accepted by the reply's id.
type flakyCRM struct {
	srv     *httptest.Server
	mu      sync.Mutex
	until   time.Time
	got     map[int64]int
	refused int
}

func newFlakyCRM() *flakyCRM {
	c := &flakyCRM{got: map[int64]int{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cb struct {
			ID int64 `json:"id"`
		}
		json.NewDecoder(r.Body).Decode(&cb)
		c.mu.Lock()
		defer c.mu.Unlock()
		if time.Now().Before(c.until) {
			c.refused++
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		c.got[cb.ID]++
		fmt.Fprintf(w, `{"id":"crm-%d"}`, cb.ID)
	}))
	return c
}

func (c *flakyCRM) failFor(d time.Duration) {
	c.mu.Lock()
	c.until = time.Now().Add(d)
	c.mu.Unlock()
}

func (c *flakyCRM) deliveredCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// counts are the replies delivered, those delivered more than once, and
// the attempts refused.
func (c *flakyCRM) counts() (got, twice, refused int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.got {
		if n > 1 {
			twice++
		}
	}
	return len(c.got), twice, c.refused
}
