package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) Env { return func(k string) string { return m[k] } }

func TestDefaultIsEmbeddedAndValid(t *testing.T) {
	c, err := Load("", envOf(nil))
	if err != nil {
		t.Fatalf("Load with no file: %v", err)
	}
	if c.HTTP.Addr != ":8080" || c.DataDir != "./data" || c.Database.URL != "" || c.Redis.URL != "" {
		t.Fatalf("default is not the embedded one: %+v", c)
	}
}

func TestExampleFileLoads(t *testing.T) {
	c, err := Load("leadhub.example.toml", envOf(map[string]string{"LEADHUB_CRM_SECRET": "s3cret"}))
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if len(c.Channels) != 1 || c.Channels[0].Secret != "s3cret" {
		t.Fatalf("env: secret not resolved: %+v", c.Channels)
	}
	if c.Inbox.Visibility.Duration != 30*time.Second {
		t.Fatalf("visibility = %v, want 30s", c.Inbox.Visibility)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte("[database]\nurl = \"postgres://a@b/c\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, envOf(map[string]string{
		"LEADHUB_DATABASE_URL": "postgres://x@y/z",
		"LEADHUB_REDIS_URL":    "redis://127.0.0.1:6379/3",
		"LEADHUB_HTTP_ADDR":    "127.0.0.1:9999",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.URL != "postgres://x@y/z" || c.Redis.URL != "redis://127.0.0.1:6379/3" || c.HTTP.Addr != "127.0.0.1:9999" {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"unknown key", "bogus = 1\n", nil, "unknown keys: bogus"},
		{"bad channel type", "[[channels]]\nid = \"x\"\ntype = \"fax\"\n", nil, `type "fax"`},
		{"api without secret", "[[channels]]\nid = \"x\"\ntype = \"api\"\n", nil, "needs a secret"},
		{"duplicate id", "[[channels]]\nid = \"x\"\ntype = \"api\"\nsecret = \"a\"\n[[channels]]\nid = \"x\"\ntype = \"api\"\nsecret = \"b\"\n", nil, "used twice"},
		{"bad id", "[[channels]]\nid = \"X Y\"\ntype = \"api\"\nsecret = \"a\"\n", nil, "id must be"},
		{"missing env secret", "[[channels]]\nid = \"x\"\ntype = \"api\"\nsecret = \"env:NOPE\"\n", nil, "$NOPE"},
		{"bad database url", "[database]\nurl = \"mysql://x\"\n", nil, "database.url"},
		{"bad redis url", "[redis]\nurl = \"http://x\"\n", nil, "redis.url"},
		{"bad workers", "[inbox]\nworkers = 0\n", nil, "inbox.workers"},
		{"bad public url", "[http]\npublic_url = \"hub.example.com\"\n", nil, "public_url"},
		{"bad duration", "[inbox]\nvisibility = \"soon\"\n", nil, "visibility"},
		{"bad team", "[[channels]]\nid = \"x\"\ntype = \"api\"\nsecret = \"a\"\nteam = \"Sales Team\"\n", nil, "team must be"},
		{"tiny read header timeout", "[http]\nread_header_timeout = \"1ms\"\n", nil, "http.read_header_timeout"},
		{"negative channel rate", "[http]\nhook_channel_rate = -1\n", nil, "hook_channel_rate"},
		{"no login failures", "[security]\nlogin_max_failures = 0\n", nil, "login_max_failures"},
		{"short lockout", "[security]\nlogin_lockout = \"0s\"\n", nil, "security.login_lockout"},
		{"negative max open conns", "[database]\nmax_open_conns = -1\n", nil, "database.max_open_conns"},
		{"huge max open conns", "[database]\nmax_open_conns = 5000\n", nil, "database.max_open_conns"},
		{"tiny conn lifetime", "[database]\nconn_max_lifetime = \"10ms\"\n", nil, "database.conn_max_lifetime"},
		{"negative idle time", "[database]\nconn_max_idle_time = \"-5m\"\n", nil, "database.conn_max_idle_time"},
		{"bad idle time", "[database]\nconn_max_idle_time = \"a while\"\n", nil, "conn_max_idle_time"},
		{"email without imap", "[[channels]]\nid = \"m\"\ntype = \"email\"\n", nil, "needs imap_host, username and password"},
		{"email bad tls", "[[channels]]\nid = \"m\"\ntype = \"email\"\nimap_host = \"h\"\nusername = \"u\"\npassword = \"p\"\nsmtp_tls = \"ssl\"\n", nil, "smtp_tls must be"},
		{"email negative backfill", "[[channels]]\nid = \"m\"\ntype = \"email\"\nimap_host = \"h\"\nusername = \"u\"\npassword = \"p\"\nbackfill = \"-1h\"\n", nil, "backfill"},
		{"email huge attachments", "[[channels]]\nid = \"m\"\ntype = \"email\"\nimap_host = \"h\"\nusername = \"u\"\npassword = \"p\"\nmax_file_size = 999999999\n", nil, "max_file_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.toml")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, envOf(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestDatabasePool(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	file := "[database]\nmax_open_conns = 24\nconn_max_lifetime = \"1h\"\nconn_max_idle_time = \"90s\"\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.MaxOpenConns != 24 || c.Database.ConnMaxLifetime.Duration != time.Hour ||
		c.Database.ConnMaxIdleTime.Duration != 90*time.Second {
		t.Fatalf("pool keys not read: %+v", c.Database)
	}
	// Absent keys stay 0: the store picks the dialect's default.
	d, err := Load("", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if d.Database.MaxOpenConns != 0 || d.Database.ConnMaxLifetime.Duration != 0 || d.Database.ConnMaxIdleTime.Duration != 0 {
		t.Fatalf("default pool keys = %+v, want zeros", d.Database)
	}
}

func TestTelephonyChannel(t *testing.T) {
	for _, tc := range []struct {
		name, toml, err string
	}{
		{"zadarma", `provider = "zadarma"` + "\nsecret = \"s\"\napi_key = \"k\"\ncallback_within = \"30m\"\n[channels.extensions]\n\"101\" = \"olga@example.com\"", ""},
		{"mango", `provider = "mango"` + "\napi_key = \"k\"\napi_salt = \"s\"", ""},
		{"generic", `provider = "generic"` + "\nsecret = \"s\"\ncall_url = \"https://pbx.example.com/dial\"", ""},
		{"unknown provider", `provider = "twilio"`, "not one of generic, zadarma, mango"},
		{"mango without salt", `provider = "mango"` + "\napi_key = \"k\"", "api_key and api_salt"},
		{"zadarma without secret", `provider = "zadarma"`, "needs a secret"},
		{"call_url on zadarma", `provider = "zadarma"` + "\nsecret = \"s\"\ncall_url = \"https://x.example.com\"", "generic provider"},
		{"bad call_url", `provider = "generic"` + "\nsecret = \"s\"\ncall_url = \"ftp://x\"", "http(s)"},
		{"negative callback_within", `provider = "generic"` + "\nsecret = \"s\"\ncallback_within = \"-1m\"", "callback_within"},
		{"extension without email", `provider = "generic"` + "\nsecret = \"s\"\n[channels.extensions]\n\"101\" = \"olga\"", "extensions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.toml")
			body := "[[channels]]\nid = \"pbx\"\ntype = \"telephony\"\n" + tc.toml + "\n"
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path, envOf(nil))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Load: err = %v, want one saying %q", err, tc.err)
			}
			if tc.name == "zadarma" && (c.Channels[0].CallbackWithin.Duration != 30*time.Minute || c.Channels[0].Extensions["101"] != "olga@example.com") {
				t.Errorf("channel = %+v", c.Channels[0])
			}
		})
	}
}
