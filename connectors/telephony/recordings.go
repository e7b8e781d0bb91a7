package telephony

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

var _ inbox.RecordingFetcher = (*Channel)(nil)

// FetchRecording opens a call's recording at the provider
// (inbox.RecordingFetcher): the generic provider's recording_url as is;
// Zadarma's through /v1/pbx/record/request/, which gives a download link;
// Mango's through queries/recording/post. A provider that answers with an
// error is EUNAVAILABLE (tried again later); a call with nothing to fetch
// EINVALID (never).
func (c *Channel) FetchRecording(ctx context.Context, j inbox.RecordingJob) (io.ReadCloser, string, string, error) {
	resp, err := c.openRecording(ctx, j.Call)
	c.report(err)
	if err != nil {
		return nil, "", "", err
	}
	typ, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if !strings.HasPrefix(typ, "audio/") {
		typ = "audio/mpeg"
	}
	ext := ".mp3"
	if exts, _ := mime.ExtensionsByType(typ); len(exts) > 0 && typ != "audio/mpeg" {
		ext = exts[0]
	}
	return resp.Body, "call-" + safeName(j.Call.ID) + ext, typ, nil
}

func (c *Channel) openRecording(ctx context.Context, call inbox.Call) (*http.Response, error) {
	var (
		resp *http.Response
		err  error
	)
	switch {
	case call.RecordingURL != "":
		resp, err = c.get(ctx, call.RecordingURL)
	case call.Recording != "" && c.opts.Provider == ProviderZadarma:
		if c.opts.APIKey == "" {
			return nil, inbox.Errorf(inbox.EINVALID, "zadarma needs api_key to fetch recordings")
		}
		link, lerr := (&zadarmaAPI{c: c}).recordingLink(ctx, call.Recording)
		if lerr != nil {
			return nil, lerr
		}
		resp, err = c.get(ctx, link)
	case call.Recording != "" && c.opts.Provider == ProviderMango:
		resp, err = (&mangoAPI{c: c}).post(ctx, "queries/recording/post",
			map[string]string{"recording_id": call.Recording, "action": "download"})
	default:
		return nil, inbox.Errorf(inbox.EINVALID, "the call names no recording")
	}
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		return nil, inbox.Errorf(inbox.EUNAVAILABLE, "the recording is not available yet (status %d)", resp.StatusCode)
	}
	return resp, nil
}

func (c *Channel) get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, inbox.Errorf(inbox.EINVALID, "recording link is not a URL")
	}
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		return nil, inbox.Errorf(inbox.EUNAVAILABLE, "recording: %v", redactURL(err))
	}
	return resp, nil
}

// safeName keeps a provider id usable in a file name.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
