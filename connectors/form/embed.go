package form

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// embedJS is the script marketers' pages load; configPlaceholder in it is
// replaced by the channel's settings as a JSON object.
//
//go:embed embed.js
var embedJS []byte

const configPlaceholder = "__LEADHUB_CONFIG__"

// labels are the words of one language, for rendered forms and for the
// message text.
type labels struct {
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Email   string `json:"email"`
	Message string `json:"message"`
	Submit  string `json:"submit"`
	Sending string `json:"sending"`
	Success string `json:"success"`
	Error   string `json:"error"`
	Busy    string `json:"busy"`
	Need    string `json:"need"`
	Honey   string `json:"hp"`
	// ThanksPage answers a plain HTML form when no redirect_url is set.
	ThanksPage string `json:"-"`
}

var allLabels = map[string]labels{
	"ru": {
		Name: "Имя", Phone: "Телефон", Email: "Email", Message: "Сообщение",
		Submit: "Отправить", Sending: "Отправляем…", Success: "Спасибо! Заявка отправлена.",
		Error: "Не удалось отправить заявку. Попробуйте ещё раз.",
		Busy:  "Слишком много попыток. Попробуйте через минуту.",
		Need:  "Укажите телефон или email", Honey: "Не заполняйте это поле",
		ThanksPage: "<!doctype html><html lang=\"ru\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">" +
			"<title>Спасибо</title><p>Спасибо! Заявка отправлена.</p></html>\n",
	},
	"en": {
		Name: "Name", Phone: "Phone", Email: "Email", Message: "Message",
		Submit: "Send", Sending: "Sending…", Success: "Thank you! Your request has been sent.",
		Error: "Could not send the request. Please try again.",
		Busy:  "Too many attempts. Please try again in a minute.",
		Need:  "Please enter a phone or an email", Honey: "Leave this field empty",
		ThanksPage: "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">" +
			"<title>Thank you</title><p>Thank you! Your request has been sent.</p></html>\n",
	},
}

// embedField is one input the script renders.
type embedField struct {
	Name         string `json:"n"`
	Type         string `json:"t"`
	Autocomplete string `json:"a,omitempty"`
	Required     bool   `json:"r,omitempty"`
}

// embedConfig is what ServeEmbed bakes into the script.
type embedConfig struct {
	Channel string            `json:"channel"`
	Post    string            `json:"post"`
	Lang    string            `json:"lang"`
	Consent string            `json:"consent,omitempty"`
	Fields  []embedField      `json:"fields"`
	Labels  map[string]labels `json:"labels"`
}

// buildScript bakes the channel's settings into embed.js once. The config
// is encoding/json output, which escapes <, > and & (so "</script>" in a
// consent text cannot end a script element even if someone inlines the
// file) and U+2028/U+2029.
func (c *Channel) buildScript() ([]byte, string, error) {
	cfg := embedConfig{
		Channel: c.opts.ChannelID,
		Lang:    c.opts.Labels,
		Consent: c.opts.ConsentText,
		Fields: []embedField{
			{Name: fieldName, Type: "text", Autocomplete: "name", Required: true},
			{Name: fieldPhone, Type: "tel", Autocomplete: "tel"},
			{Name: fieldEmail, Type: "email", Autocomplete: "email"},
			{Name: fieldMessage, Type: "textarea"},
		},
		Labels: allLabels,
	}
	if c.opts.PublicURL != "" {
		cfg.Post = c.opts.PublicURL + "/hooks/form/" + url.PathEscape(c.opts.ChannelID)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("form: encode embed config: %w", err)
	}
	if bytes.Count(embedJS, []byte(configPlaceholder)) != 1 {
		return nil, "", fmt.Errorf("form: embed.js must contain %s exactly once", configPlaceholder)
	}
	script := bytes.Replace(compactJS(embedJS), []byte(configPlaceholder), b, 1)
	sum := sha256.Sum256(script)
	return script, `"` + hex.EncodeToString(sum[:12]) + `"`, nil
}

// ServeEmbed serves the channel's script at /hooks/form/<channel>/embed.js,
// cacheable for five minutes and revalidated by ETag.
func (c *Channel) ServeEmbed(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", c.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	// Pages that isolate themselves (COEP require-corp) may still load it.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	http.ServeContent(w, r, "embed.js", time.Time{}, bytes.NewReader(c.script))
}

// compactJS drops what only a reader of the source needs, line comments and
// indentation, so that marketers' pages load a smaller script. The source
// keeps no "//" inside strings at the start of a line, and every statement
// ends with its own ";" or brace, so lines stay whole.
func compactJS(src []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(src, []byte("\n")) {
		line = bytes.TrimLeft(line, " \t")
		if len(line) == 0 || bytes.HasPrefix(line, []byte("//")) {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}
