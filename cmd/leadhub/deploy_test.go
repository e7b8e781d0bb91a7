package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/web"
)

// TestDeployFiles checks the deployment files under config/deploy against
// the hub they deploy: the cluster's configuration loads and keeps files
// in the database, nginx passes websockets on and keeps them longer than
// the hub's ping period, Redis runs with AOF, and the image is a static
// build. Where Docker Compose is installed, it validates the compose file.
func TestDeployFiles(t *testing.T) {
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile("../../config/deploy/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	env := map[string]string{
		"LEADHUB_DATABASE_URL": "postgres://leadhub:leadhub@postgres:5432/leadhub?sslmode=disable",
		"LEADHUB_REDIS_URL":    "redis://redis:6379/0",
		"LEADHUB_CRM_SECRET":   "change-me-0123456789",
	}
	cfg, err := config.Load("../../config/deploy/leadhub.toml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("the cluster's configuration: %v", err)
	}
	if len(cfg.HTTP.TrustedProxies) == 0 {
		t.Error("the cluster behind nginx trusts no proxy: every client would have nginx's address")
	}
	if cfg.Files.Storage != "database" || cfg.Redis.URL == "" || !strings.HasPrefix(cfg.Database.URL, "postgres://") {
		t.Errorf("the cluster keeps files in %q, queues in %q, data in %q", cfg.Files.Storage, cfg.Redis.URL, cfg.Database.URL)
	}

	nginx := read("nginx.conf")
	for _, want := range []string{"proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;",
		"proxy_http_version 1.1;", "proxy_set_header X-Forwarded-For", "server leadhub-1:8080;", "server leadhub-2:8080;"} {
		if !strings.Contains(nginx, want) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}
	m := regexp.MustCompile(`proxy_read_timeout (\d+)s;`).FindStringSubmatch(nginx)
	if m == nil {
		t.Fatal("nginx.conf sets no proxy_read_timeout in seconds")
	}
	if secs, _ := strconv.Atoi(m[1]); time.Duration(secs)*time.Second <= web.WSPingPeriod {
		t.Errorf("proxy_read_timeout %ss is not above the websocket ping period %v", m[1], web.WSPingPeriod)
	}

	compose := read("docker-compose.yml")
	for _, want := range []string{`"--appendonly", "yes"`, "leadhub-1:", "leadhub-2:", "./nginx.conf:/etc/nginx/conf.d/default.conf",
		"./leadhub.toml:/etc/leadhub/leadhub.toml"} {
		if !strings.Contains(compose, want) {
			t.Errorf("docker-compose.yml lacks %q", want)
		}
	}
	if df := read("Dockerfile"); !strings.Contains(df, "CGO_ENABLED=0") || !strings.Contains(df, "distroless/static") {
		t.Error("the Dockerfile does not build a static image")
	}
	if unit := read("leadhub.service"); !strings.Contains(unit, "ExecStart=/usr/local/bin/leadhub serve --config /etc/leadhub/leadhub.toml") {
		t.Error("the systemd unit does not start the hub with its config")
	}

	t.Run("docker compose config", func(t *testing.T) {
		if err := exec.Command("docker", "compose", "version").Run(); err != nil {
			t.Skipf("docker compose is not installed here (%v): the compose file was checked by its text only", err)
		}
		out, err := exec.Command("docker", "compose", "-f", "../../config/deploy/docker-compose.yml", "config", "-q").CombinedOutput()
		if err != nil {
			t.Errorf("docker compose config: %v\n%s", err, out)
		}
	})
}
