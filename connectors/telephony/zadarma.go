package telephony

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// Zadarma (and Novofon, the same platform) posts call notifications as
// form fields with a Signature header: base64 of the lowercase hex
// HMAC-SHA1, under the API secret, of a few fields concatenated, which
// fields depending on the event (zadarmaSigned). Saving the URL in the
// cabinet first GETs it with ?zd_echo=<random>, answered verbatim.
//
// pbx_call_id is the call across its events. NOTIFY_RECORD carries no
// numbers, so it files nothing: NOTIFY_END already names the recording
// (call_id_with_rec), which is fetched from there.

const zadarmaAPIURL = "https://api.zadarma.com"

// zadarmaSigned lists, per event, the fields whose values are signed, in
// order.
var zadarmaSigned = map[string][]string{
	"NOTIFY_START":     {"caller_id", "called_did", "call_start"},
	"NOTIFY_INTERNAL":  {"caller_id", "called_did", "call_start"},
	"NOTIFY_ANSWER":    {"caller_id", "destination", "call_start"},
	"NOTIFY_END":       {"caller_id", "called_did", "call_start"},
	"NOTIFY_OUT_START": {"internal", "destination", "call_start"},
	"NOTIFY_OUT_END":   {"internal", "destination", "call_start"},
	"NOTIFY_RECORD":    {"pbx_call_id", "call_id_with_rec"},
	"NOTIFY_IVR":       {"caller_id", "called_did", "call_start"},
}

// zadarmaSign is Zadarma's signature of s.
func zadarmaSign(secret, s string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
}

func (c *Channel) parseZadarma(r *http.Request, body []byte) ([]inbox.Envelope, []byte, error) {
	if r.Method == http.MethodGet {
		echo := r.URL.Query().Get("zd_echo")
		if echo == "" {
			return nil, nil, inbox.Errorf(inbox.EINVALID, "a GET must carry zd_echo")
		}
		return nil, []byte(echo), nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, nil, inbox.Errorf(inbox.EINVALID, "malformed form body")
	}
	name := form.Get("event")
	fields, known := zadarmaSigned[name]
	if !known {
		// Unknown events cannot be verified: nothing is filed, and the
		// provider is not told to retry.
		return c.ignore("zadarma:"+name, []byte{})
	}
	var signed strings.Builder
	for _, f := range fields {
		signed.WriteString(form.Get(f))
	}
	want := zadarmaSign(c.opts.Secret, signed.String())
	if !hmac.Equal([]byte(strings.TrimSpace(r.Header.Get("Signature"))), []byte(want)) {
		return nil, nil, inbox.Errorf(inbox.EUNAUTHORIZED, "missing or wrong signature")
	}
	start := zadarmaTime(form.Get("call_start"))
	call := inbox.Call{ID: form.Get("pbx_call_id"), StartedAt: start}
	key := name
	switch name {
	case "NOTIFY_START", "NOTIFY_IVR":
		call.Event, call.Direction = inbox.CallRinging, inbox.DirectionIn
		call.From, call.To = form.Get("caller_id"), form.Get("called_did")
	case "NOTIFY_INTERNAL":
		call.Event, call.Direction = inbox.CallRinging, inbox.DirectionIn
		call.From, call.To, call.Extension = form.Get("caller_id"), form.Get("called_did"), form.Get("internal")
		key += ":" + call.Extension
	case "NOTIFY_ANSWER":
		call.Event, call.Direction = inbox.CallAnswered, inbox.DirectionIn
		call.From, call.Extension = form.Get("caller_id"), form.Get("internal")
		if call.Extension == "" {
			call.Extension = form.Get("destination")
		}
		key += ":" + call.Extension
	case "NOTIFY_END":
		call.Event, call.Direction = inbox.CallEnded, inbox.DirectionIn
		call.From, call.To, call.Extension = form.Get("caller_id"), form.Get("called_did"), form.Get("internal")
		c.zadarmaEnd(form, &call)
	case "NOTIFY_OUT_START":
		call.Event, call.Direction = inbox.CallRinging, inbox.DirectionOut
		call.To, call.Extension = form.Get("destination"), form.Get("internal")
		call.From = call.Extension
	case "NOTIFY_OUT_END":
		call.Event, call.Direction = inbox.CallEnded, inbox.DirectionOut
		call.From, call.To, call.Extension = form.Get("caller_id"), form.Get("destination"), form.Get("internal")
		c.zadarmaEnd(form, &call)
	case "NOTIFY_RECORD":
		return c.ignore("zadarma:"+name, []byte{})
	}
	env, err := c.envelope(event{call: call, key: key})
	if err != nil {
		return nil, nil, err
	}
	// An empty 200: a NOTIFY_START answer's body would be read as routing
	// commands, and leadhub does not route calls.
	return []inbox.Envelope{env}, []byte{}, nil
}

// zadarmaEnd reads what an end event reports: talk time, how it ended,
// the recording.
func (c *Channel) zadarmaEnd(form url.Values, call *inbox.Call) {
	if d, err := strconv.Atoi(form.Get("duration")); err == nil && d > 0 {
		call.Duration = d
	}
	switch form.Get("disposition") {
	case "answered":
		call.Disposition = inbox.DispositionAnswered
	case "busy":
		call.Disposition = inbox.DispositionBusy
	case "cancel", "no answer":
		call.Disposition = inbox.DispositionMissed
	default:
		call.Disposition = inbox.DispositionFailed
	}
	if form.Get("is_recorded") == "1" {
		call.Recording = form.Get("call_id_with_rec")
	}
	if !call.StartedAt.IsZero() && call.Duration > 0 && call.Disposition == inbox.DispositionAnswered {
		// call_start is when it started ringing; with no answer time
		// given, the end is start + duration at the earliest.
		call.EndedAt = call.StartedAt.Add(time.Duration(call.Duration) * time.Second)
	}
}

// zadarmaTime reads call_start ("2020-02-01 11:40:59"). Zadarma writes it
// in the account's time zone, which the webhook does not say; it is read as
// UTC, and only shown.
func zadarmaTime(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// zadarmaAPI calls Zadarma's REST API: GET <method>?<params> with
// Authorization "<key>:<signature>", the signature being zadarmaSign of
// method + params + md5(params), params sorted by name and form-encoded.
type zadarmaAPI struct{ c *Channel }

func (z *zadarmaAPI) get(ctx context.Context, method string, params url.Values, out any) error {
	q := zadarmaQuery(params)
	sum := md5.Sum([]byte(q))
	sign := zadarmaSign(z.c.opts.Secret, method+q+hex.EncodeToString(sum[:]))
	base := z.c.opts.APIURL
	if base == "" {
		base = zadarmaAPIURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+method+"?"+q, nil)
	if err != nil {
		return fmt.Errorf("zadarma %s: %w", method, err)
	}
	req.Header.Set("Authorization", z.c.opts.APIKey+":"+sign)
	resp, err := z.c.opts.Client.Do(req)
	if err != nil {
		return inbox.Errorf(inbox.EUNAVAILABLE, "zadarma %s: %v", method, redactURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return inbox.Errorf(inbox.EUNAVAILABLE, "zadarma %s: read: %v", method, err)
	}
	var st struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &st); err != nil || resp.StatusCode/100 != 2 || st.Status != "success" {
		return inbox.Errorf(inbox.EUNAVAILABLE, "zadarma %s: status %d %s %s", method, resp.StatusCode, st.Status, st.Message)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return inbox.Errorf(inbox.EUNAVAILABLE, "zadarma %s: malformed answer", method)
		}
	}
	return nil
}

// zadarmaQuery is params sorted by name, encoded as PHP's http_build_query
// does (spaces as '+'), which is what Zadarma signs.
func zadarmaQuery(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range params[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
		}
	}
	return b.String()
}

// call asks Zadarma to ring the extension and then the number
// (/v1/request/callback/).
func (z *zadarmaAPI) call(ctx context.Context, extension, number string) error {
	return z.get(ctx, "/v1/request/callback/", url.Values{"from": {extension}, "to": {number}}, nil)
}

// recordingLink asks for a link to download the recording of a call
// (/v1/pbx/record/request/).
func (z *zadarmaAPI) recordingLink(ctx context.Context, callIDWithRec string) (string, error) {
	var out struct {
		Link  string   `json:"link"`
		Links []string `json:"links"`
	}
	if err := z.get(ctx, "/v1/pbx/record/request/", url.Values{"call_id": {callIDWithRec}}, &out); err != nil {
		return "", err
	}
	if out.Link == "" && len(out.Links) > 0 {
		out.Link = out.Links[0]
	}
	if out.Link == "" {
		return "", inbox.Errorf(inbox.EUNAVAILABLE, "zadarma: no recording link yet")
	}
	return out.Link, nil
}
