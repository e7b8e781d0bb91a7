package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVKChannel(t *testing.T) {
	const good = `[[channels]]
id = "vk-shop"
type = "vk"
group_id = 183287114
secret = "env:VK_SECRET"
confirmation = "693d0ba9"
token = "env:VK_TOKEN"
`
	load := func(t *testing.T, file string, env map[string]string) (Config, error) {
		path := filepath.Join(t.TempDir(), "c.toml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(path, envOf(env))
	}
	c, err := load(t, good, map[string]string{"VK_SECRET": "s3cret", "VK_TOKEN": "vk1.a.tok"})
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Channels[0]
	if ch.GroupID != 183287114 || ch.Secret != "s3cret" || ch.Token != "vk1.a.tok" || ch.Confirmation != "693d0ba9" {
		t.Fatalf("channel %+v", ch)
	}
	tests := map[string]struct{ file, want string }{
		"no group":        {strings.Replace(good, "group_id = 183287114\n", "", 1), "group_id"},
		"negative group":  {strings.Replace(good, "183287114", "-183287114", 1), "group_id"},
		"no confirmation": {strings.Replace(good, "confirmation = \"693d0ba9\"\n", "", 1), "needs confirmation"},
		"no secret":       {strings.Replace(good, "secret = \"env:VK_SECRET\"\n", "", 1), "needs secret"},
		"no token":        {strings.Replace(good, "token = \"env:VK_TOKEN\"\n", "", 1), "needs token"},
		"bad api url":     {good + "api_url = \"ftp://x\"\n", "api_url"},
		"polling":         {good + "mode = \"polling\"\n", "mode is a telegram key"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, tt.file, map[string]string{"VK_SECRET": "s3cret", "VK_TOKEN": "vk1.a.tok"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
