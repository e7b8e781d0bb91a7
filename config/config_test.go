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
		{"bad trusted proxy", "[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"nginx\"]\n", nil, `http.trusted_proxies: "nginx"`},
		{"bad trusted cidr", "[http]\ntrusted_proxies = [\"10.0.0.0/33\"]\n", nil, "http.trusted_proxies"},
		{"tls cert without key", "[http]\ntls_cert = \"c.pem\"\n", nil, "http.tls_cert and http.tls_key"},
		{"tls key without cert", "[http]\ntls_key = \"k.pem\"\n", nil, "http.tls_cert and http.tls_key"},
		{"metrics on the main address", "[http]\naddr = \":8080\"\nmetrics_addr = \":8080\"\n", nil, "http.metrics_addr"},
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

func TestSLADefaults(t *testing.T) {
	c, err := Load("", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.SLA.TaskOverdueAlert.Duration != time.Hour {
		t.Errorf("sla.task_overdue_alert = %v, want 1h", c.SLA.TaskOverdueAlert)
	}
	if sla := c.SLA; sla.TimeZone != "" || sla.WorkingHours != "" || len(sla.Holidays) != 0 || sla.FirstResponse.Duration != 0 ||
		sla.NextResponse.Duration != 0 || sla.WarnBefore.Duration != 0 || sla.OfflineRequeue.Duration != 0 {
		t.Errorf("sla = %+v, want zeros besides task_overdue_alert", c.SLA)
	}
	if a := c.Alerts; a.TelegramChannel != "" || a.EmailChannel != "" || len(a.TelegramChatIDs)+len(a.EmailTo) != 0 {
		t.Errorf("alerts = %+v, want none", a)
	}
	s, err := c.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2027, 1, 2, 3, 4, 0, 0, time.UTC) // a Saturday night
	if s.Location() != time.UTC || !s.Open(from) || !s.Add(from, time.Hour).Equal(from.Add(time.Hour)) {
		t.Errorf("default schedule is not 24/7 UTC")
	}
	if got := c.Targets(Channel{}); got != (Targets{}) {
		t.Errorf("Targets = %+v, want no SLA", got)
	}
	if got := c.SLA.WarnFor(10 * time.Minute); got != 2*time.Minute {
		t.Errorf("WarnFor(10m) = %v, want 20%%: 2m", got)
	}
}

const slaFile = `
[sla]
time_zone = "Europe/Moscow"
working_hours = "mon-fri 09:00-18:00, sat 10:00-14:00"
holidays = ["2027-01-01", "2027-01-07"]
first_response = "15m"
next_response = "1h"
warn_before = "5m"
task_overdue_alert = "-1s"
offline_requeue = "10m"

[alerts]
telegram_channel = "tg"
telegram_chat_ids = [123456789, -1001234567890]
email_channel = "mail"
email_to = ["boss@example.com", "Olga <olga@example.com>"]

[[channels]]
id = "tg"
type = "telegram"
sla_first_response = "0s"
assignment = "round_robin"
max_open = 5

[[channels]]
id = "mail"
type = "email"
imap_host = "imap.example.com"
smtp_host = "smtp.example.com"
username = "u"
password = "p"
sla_next_response = "4h"
offline_requeue = "0s"
assignment = "manual"

[[channels]]
id = "crm"
type = "api"
secret = "s"
`

func TestSLAFullConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte(slaFile), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.SLA.FirstResponse.Duration != 15*time.Minute || c.SLA.NextResponse.Duration != time.Hour ||
		c.SLA.WarnBefore.Duration != 5*time.Minute || c.SLA.TaskOverdueAlert.Duration != -time.Second ||
		c.SLA.OfflineRequeue.Duration != 10*time.Minute || len(c.SLA.Holidays) != 2 {
		t.Errorf("sla = %+v", c.SLA)
	}
	if a := c.Alerts; a.TelegramChannel != "tg" || len(a.TelegramChatIDs) != 2 || a.TelegramChatIDs[1] != -1001234567890 ||
		a.EmailChannel != "mail" || len(a.EmailTo) != 2 {
		t.Errorf("alerts = %+v", a)
	}
	tg, mailCh, crm := c.Channels[0], c.Channels[1], c.Channels[2]
	if tg.Assignment != "round_robin" || tg.MaxOpen != 5 || mailCh.Assignment != "manual" || crm.Assignment != "" {
		t.Errorf("assignment keys not read: %+v %+v %+v", tg, mailCh, crm)
	}
	for _, tc := range []struct {
		ch   Channel
		want Targets
	}{
		{tg, Targets{FirstResponse: 0, NextResponse: time.Hour, OfflineRequeue: 10 * time.Minute}},
		{mailCh, Targets{FirstResponse: 15 * time.Minute, NextResponse: 4 * time.Hour, OfflineRequeue: 0}},
		{crm, Targets{FirstResponse: 15 * time.Minute, NextResponse: time.Hour, OfflineRequeue: 10 * time.Minute}},
	} {
		if got := c.Targets(tc.ch); got != tc.want {
			t.Errorf("Targets(%s) = %+v, want %+v", tc.ch.ID, got, tc.want)
		}
	}
	if got := c.SLA.WarnFor(time.Hour); got != 5*time.Minute {
		t.Errorf("WarnFor = %v, want warn_before", got)
	}
	s, err := c.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	// Thursday 2026-12-31 17:50 + 15m: Friday the 1st is a holiday, so
	// Saturday's 10:05.
	from := time.Date(2026, 12, 31, 17, 50, 0, 0, msk)
	if got, want := s.Add(from, 15*time.Minute), time.Date(2027, 1, 2, 10, 5, 0, 0, msk); !got.Equal(want) {
		t.Errorf("Add = %s, want %s", got, want)
	}
}

// TestSLAInvalid feeds one bad key at a time into the valid full config;
// each error must name its key. Bad durations fail in TOML decoding, whose
// message names the key too, e.g. `toml: line 2 (last key
// "sla.first_response"): time: invalid duration "soon"`.
func TestSLAInvalid(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"unknown zone", `time_zone = "Europe/Moscow"`, `time_zone = "Mars/Base"`, `sla.time_zone: unknown time zone "Mars/Base"`},
		{"bad hours", `working_hours = "mon-fri 09:00-18:00, sat 10:00-14:00"`, `working_hours = "mon-fri 9-18"`, `sla.working_hours: "mon-fri 9-18": want HH:MM-HH:MM`},
		{"overnight hours", `working_hours = "mon-fri 09:00-18:00, sat 10:00-14:00"`, `working_hours = "mon 22:00-06:00"`, `sla.working_hours: "mon 22:00-06:00": end must be after start`},
		{"bad holiday", `"2027-01-07"]`, `"07.01.2027"]`, `sla.holidays: "07.01.2027"`},
		{"negative first response", `first_response = "15m"`, `first_response = "-15m"`, "sla.first_response must not be negative"},
		{"negative next response", `next_response = "1h"`, `next_response = "-1h"`, "sla.next_response must not be negative"},
		{"negative warn before", `warn_before = "5m"`, `warn_before = "-5m"`, "sla.warn_before must not be negative"},
		{"negative offline requeue", `offline_requeue = "10m"`, `offline_requeue = "-10m"`, "sla.offline_requeue must not be negative"},
		{"bad duration", `first_response = "15m"`, `first_response = "soon"`, `"sla.first_response"): time: invalid duration "soon"`},
		{"bad channel duration", `sla_next_response = "4h"`, `sla_next_response = "soon"`, `"channels.sla_next_response"): time: invalid duration "soon"`},
		{"negative channel first response", `sla_first_response = "0s"`, `sla_first_response = "-1m"`, `channels[0] ("tg"): sla_first_response must not be negative`},
		{"negative channel next response", `sla_next_response = "4h"`, `sla_next_response = "-4h"`, `channels[1] ("mail"): sla_next_response must not be negative`},
		{"negative channel requeue", `offline_requeue = "0s"`, `offline_requeue = "-1s"`, `channels[1] ("mail"): offline_requeue must not be negative`},
		{"bad assignment", `assignment = "round_robin"`, `assignment = "random"`, `channels[0] ("tg"): assignment "random" is not manual or round_robin`},
		{"negative max open", `max_open = 5`, `max_open = -1`, `channels[0] ("tg"): max_open must not be negative`},
		{"alerts via unknown channel", `telegram_channel = "tg"`, `telegram_channel = "nope"`, `alerts.telegram_channel "nope" is not a configured channel`},
		{"alerts via a non-telegram channel", `telegram_channel = "tg"`, `telegram_channel = "crm"`, `alerts.telegram_channel "crm" is of type api, not telegram`},
		{"telegram without chats", `telegram_chat_ids = [123456789, -1001234567890]`, `telegram_chat_ids = []`, "alerts.telegram_chat_ids must list at least one chat"},
		{"chats without telegram", `telegram_channel = "tg"`, ``, "alerts.telegram_chat_ids is set but alerts.telegram_channel is empty"},
		{"chat id 0", `telegram_chat_ids = [123456789, -1001234567890]`, `telegram_chat_ids = [0]`, "alerts.telegram_chat_ids: 0 is not a chat id"},
		{"email via unknown channel", `email_channel = "mail"`, `email_channel = "nope"`, `alerts.email_channel "nope" is not a configured channel`},
		{"email via a non-email channel", `email_channel = "mail"`, `email_channel = "tg"`, `alerts.email_channel "tg" is of type telegram, not email`},
		{"email channel without smtp", `smtp_host = "smtp.example.com"`, ``, `alerts.email_channel "mail" has no smtp_host`},
		{"email without recipients", `email_to = ["boss@example.com", "Olga <olga@example.com>"]`, `email_to = []`, "alerts.email_to must list at least one address"},
		{"recipients without email", `email_channel = "mail"`, ``, "alerts.email_to is set but alerts.email_channel is empty"},
		{"bad recipient", `"boss@example.com"`, `"boss at example.com"`, `alerts.email_to: "boss at example.com" is not an email address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Count(slaFile, tt.old) != 1 {
				t.Fatalf("%q is not once in the file", tt.old)
			}
			path := filepath.Join(t.TempDir(), "c.toml")
			if err := os.WriteFile(path, []byte(strings.Replace(slaFile, tt.old, tt.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, envOf(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// TestExampleSLAUncommented checks that the example's commented [sla]
// section and channel SLA keys load once their # signs are removed.
func TestExampleSLAUncommented(t *testing.T) {
	b, err := os.ReadFile("leadhub.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	inSLA := false
	for i, l := range lines {
		if l == "# [sla]" {
			inSLA = true
		}
		if l == "" {
			inSLA = false
		}
		for _, key := range []string{"sla_first_response", "sla_next_response", "assignment", "max_open", "offline_requeue"} {
			if strings.HasPrefix(l, "# "+key+" = ") {
				lines[i] = strings.TrimPrefix(l, "# ")
			}
		}
		if inSLA {
			lines[i] = strings.TrimPrefix(l, "# ")
		}
	}
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, envOf(map[string]string{"LEADHUB_CRM_SECRET": "s3cret"}))
	if err != nil {
		t.Fatalf("example with [sla] uncommented: %v", err)
	}
	if c.SLA.WorkingHours == "" || c.SLA.FirstResponse.Duration != 15*time.Minute {
		t.Fatalf("[sla] not uncommented: %+v", c.SLA)
	}
	if got := c.Targets(c.Channels[0]); got.FirstResponse != 5*time.Minute || got.OfflineRequeue != 15*time.Minute {
		t.Fatalf("crm's overrides not uncommented: %+v", got)
	}
}

// TestWebhooks: [[webhooks]] tables load with env: secrets, and each
// problem names its key.
func TestWebhooks(t *testing.T) {
	write := func(body string) string {
		path := filepath.Join(t.TempDir(), "c.toml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	c, err := Load(write(`[[webhooks]]
url = "https://erp.example.com/leadhub"
events = ["message.created", "client.*"]
secret = "env:ERP_SECRET"
`), envOf(map[string]string{"ERP_SECRET": "0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Webhooks) != 1 || c.Webhooks[0].Secret != "0123456789abcdef" || len(c.Webhooks[0].Events) != 2 {
		t.Fatalf("webhooks = %+v", c.Webhooks)
	}
	for body, want := range map[string]string{
		"[[webhooks]]\nurl = \"ftp://erp.example.com\"\nevents = [\"*\"]\nsecret = \"0123456789abcdef\"\n": "webhooks[0].url",
		"[[webhooks]]\nurl = \"https://erp.example.com\"\nsecret = \"0123456789abcdef\"\n":                 "webhooks[0].events",
		"[[webhooks]]\nurl = \"https://erp.example.com\"\nevents = [\"*\"]\nsecret = \"short\"\n":          "webhooks[0].secret",
		"[[webhooks]]\nurl = \"https://erp.example.com\"\nevents = [\"*\"]\nsecret = \"env:NOPE\"\n":       "webhooks[0].secret refers to $NOPE",
	} {
		if _, err := Load(write(body), envOf(nil)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", body, err, want)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	h := HTTP{TrustedProxies: []string{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1", "172.16.5.9/12"}}
	got, err := h.TrustedProxyPrefixes()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "::1/128", "172.16.0.0/12"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("entry %d = %s, want %s", i, got[i], want[i])
		}
	}
	if d := Default(); len(d.HTTP.TrustedProxies) != 0 {
		t.Errorf("default trusts %v; it must trust no proxy", d.HTTP.TrustedProxies)
	}
}
