package telephony

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// Mango Office VPBX posts to <the URL set in its cabinet>/events/call,
// /events/summary, /events/recording and /ping, form-encoded with three
// fields: vpbx_api_key, sign and json (the event, as a JSON string). sign is
// hex(sha256(vpbx_api_key + json + salt)) over json exactly as received.
//
// entry_id is the call across its legs and transfers; events/call reports
// each leg (call_id) in seq order; events/summary ends the entry. A
// completed recording (events/recording) names no client: it joins its
// entry's call, which the store knows by then.

const mangoAPIURL = "https://app.mango-office.ru/vpbx"

// mangoSign is Mango's signature of json.
func mangoSign(key, json, salt string) string {
	sum := sha256.Sum256([]byte(key + json + salt))
	return hex.EncodeToString(sum[:])
}

type mangoParty struct {
	Extension  string `json:"extension"`
	Number     string `json:"number"`
	LineNumber string `json:"line_number"`
}

// mangoEvent is the union of the fields of events/call and events/summary
// that leadhub reads.
type mangoEvent struct {
	EntryID   string     `json:"entry_id"`
	CallID    string     `json:"call_id"`
	Timestamp int64      `json:"timestamp"`
	Seq       int64      `json:"seq"`
	CallState string     `json:"call_state"`
	Location  string     `json:"location"`
	From      mangoParty `json:"from"`
	To        mangoParty `json:"to"`
	// events/summary
	CallDirection *int  `json:"call_direction"`
	CreateTime    int64 `json:"create_time"`
	TalkTime      int64 `json:"talk_time"`
	EndTime       int64 `json:"end_time"`
	EntryResult   *int  `json:"entry_result"`
	// events/recording
	RecordingID    string `json:"recording_id"`
	RecordingState string `json:"recording_state"`
}

func (c *Channel) parseMango(r *http.Request, body []byte) ([]inbox.Envelope, []byte, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, nil, inbox.Errorf(inbox.EINVALID, "malformed form body")
	}
	key, sign, raw := form.Get("vpbx_api_key"), form.Get("sign"), form.Get("json")
	if subtle.ConstantTimeCompare([]byte(key), []byte(c.opts.APIKey)) != 1 ||
		subtle.ConstantTimeCompare([]byte(strings.ToLower(sign)), []byte(mangoSign(c.opts.APIKey, raw, c.opts.APISalt))) != 1 {
		return nil, nil, inbox.Errorf(inbox.EUNAUTHORIZED, "missing or wrong signature")
	}
	path := r.URL.Path
	if strings.HasSuffix(path, "/ping") {
		return nil, nil, nil
	}
	var e mangoEvent
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return nil, nil, inbox.Errorf(inbox.EINVALID, "malformed json field")
	}
	kind := ""
	switch {
	case strings.HasSuffix(path, "/events/call"):
		kind = "call"
	case strings.HasSuffix(path, "/events/summary"):
		kind = "summary"
	case strings.HasSuffix(path, "/events/recording"):
		kind = "recording"
	case e.CallState != "": // posted to the bare URL: told apart by content
		kind = "call"
	case e.EntryResult != nil:
		kind = "summary"
	case e.RecordingID != "":
		kind = "recording"
	}
	var (
		call inbox.Call
		ek   string
	)
	switch kind {
	case "call":
		call, ek = c.mangoCall(e)
		if call.Event == "" {
			return c.ignore("mango:call:"+e.CallState, nil)
		}
	case "summary":
		if e.CallDirection != nil && *e.CallDirection == 0 {
			return c.ignore("mango:summary:internal", nil)
		}
		call, ek = c.mangoSummary(e), "summary"
	case "recording":
		if e.RecordingState != "Completed" || e.RecordingID == "" || e.EntryID == "" {
			return c.ignore("mango:recording:"+e.RecordingState, nil)
		}
		// It names no client: the store joins it to its call.
		env := inbox.Envelope{
			Item: inbox.ItemCall, DedupeKey: "call:" + c.opts.ChannelID + ":" + e.EntryID + ":recording:" + e.RecordingID,
			ChannelID: c.opts.ChannelID, ChannelType: inbox.ChannelTelephony, Kind: inbox.KindCall,
			ReceivedAt: c.opts.Now().UTC(),
			Call:       &inbox.Call{ID: e.EntryID, Event: inbox.CallRecording, Recording: e.RecordingID},
		}
		if len(env.Call.ID) > 200 || len(e.RecordingID) > 200 {
			return nil, nil, inbox.Errorf(inbox.EINVALID, "over-long entry or recording id")
		}
		return []inbox.Envelope{env}, nil, nil
	default:
		return c.ignore("mango:"+kind+strings.TrimPrefix(path, "/"), nil)
	}
	env, err := c.envelope(event{call: call, key: ek})
	if err != nil {
		return nil, nil, err
	}
	return []inbox.Envelope{env}, nil, nil
}

// mangoCall reads one leg's state. A leg placed from an extension is an
// outbound call; a leg's Disconnected is not the end of the entry (a
// transfer disconnects one leg and the call goes on), the summary is.
func (c *Channel) mangoCall(e mangoEvent) (inbox.Call, string) {
	call := inbox.Call{ID: e.EntryID, Direction: inbox.DirectionIn, From: e.From.Number, To: e.To.LineNumber}
	if call.To == "" {
		call.To = e.To.Number
	}
	call.Extension = e.To.Extension
	if e.From.Extension != "" {
		call.Direction, call.From, call.To = inbox.DirectionOut, e.From.Extension, e.To.Number
		call.Extension = e.From.Extension
	}
	at := unix(e.Timestamp)
	switch e.CallState {
	case "Appeared":
		call.Event, call.StartedAt = inbox.CallRinging, at
	case "Connected":
		call.Event, call.AnsweredAt = inbox.CallAnswered, at
	case "Disconnected", "OnHold":
		call.Event = strings.ToLower(e.CallState)
	}
	return call, "call:" + e.CallID + ":" + strconv.FormatInt(e.Seq, 10)
}

// mangoSummary reads the end of an entry: entry_result 1 answered, 0 not.
func (c *Channel) mangoSummary(e mangoEvent) inbox.Call {
	call := inbox.Call{ID: e.EntryID, Event: inbox.CallEnded, Direction: inbox.DirectionIn,
		From: e.From.Number, To: e.To.Number, Extension: e.To.Extension,
		StartedAt: unix(e.CreateTime), AnsweredAt: unix(e.TalkTime), EndedAt: unix(e.EndTime)}
	if e.CallDirection != nil && *e.CallDirection == 2 {
		call.Direction, call.Extension = inbox.DirectionOut, e.From.Extension
		if call.From == "" {
			call.From = e.From.Extension
		}
	}
	call.Disposition = inbox.DispositionMissed
	if e.EntryResult != nil && *e.EntryResult == 1 {
		call.Disposition = inbox.DispositionAnswered
	}
	return call
}

func unix(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// mangoAPI calls Mango's VPBX API: POST <base>/<command> with the same three
// form fields it signs its webhooks with.
type mangoAPI struct{ c *Channel }

func (m *mangoAPI) post(ctx context.Context, command string, payload any) (*http.Response, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	form := url.Values{
		"vpbx_api_key": {m.c.opts.APIKey},
		"sign":         {mangoSign(m.c.opts.APIKey, string(b), m.c.opts.APISalt)},
		"json":         {string(b)},
	}
	base := m.c.opts.APIURL
	if base == "" {
		base = mangoAPIURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/"+command, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("mango %s: %w", command, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := m.c.opts.Client.Do(req)
	if err != nil {
		return nil, inbox.Errorf(inbox.EUNAVAILABLE, "mango %s: %v", command, redactURL(err))
	}
	return resp, nil
}

// call asks Mango to ring the extension and then the number
// (commands/callback); result 1000 is success.
func (m *mangoAPI) call(ctx context.Context, extension, number string) error {
	payload := map[string]any{
		"command_id": "leadhub-" + strconv.FormatInt(m.c.opts.Now().UnixNano(), 36),
		"from":       map[string]string{"extension": extension},
		"to_number":  strings.TrimPrefix(number, "+"),
	}
	resp, err := m.post(ctx, "commands/callback", payload)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Result int `json:"result"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 || json.Unmarshal(b, &out) != nil || out.Result != 1000 {
		return inbox.Errorf(inbox.EUNAVAILABLE, "mango commands/callback: status %d result %d", resp.StatusCode, out.Result)
	}
	return nil
}
