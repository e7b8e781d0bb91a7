package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// maxPollBody bounds one getUpdates answer: 100 updates of at most a few
// kilobytes each.
const maxPollBody = 32 << 20

// Run receives updates in polling mode until ctx ends, then returns nil. An
// update is confirmed to Telegram (the next getUpdates' offset passes it)
// only after all its envelopes were enqueued; if the sink fails, the same
// update is fetched again after a backoff. In webhook mode Run only waits
// for ctx: Parse does the work.
//
// Only one process may poll a bot: Telegram answers a second poller 409.
func (c *Channel) Run(ctx context.Context, sink inbox.Sink) error {
	if c.opts.Mode != ModePolling {
		<-ctx.Done()
		return nil
	}
	var (
		offset   int64 // 0: from the earliest update not yet confirmed
		failures int
		wait     time.Duration
	)
	for {
		if failures > 0 {
			d := inbox.Backoff(failures, c.opts.RetryDelay, maxRetryDelay)
			if wait > d {
				d = wait
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		updates, err := c.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			wait = 0
			var ae *apiError
			if errors.As(err, &ae) {
				wait = ae.RetryAfter
			}
			c.log.Warn("telegram: getUpdates failed", "err", err, "failures", failures)
			continue
		}
		failed := false
		for _, raw := range updates {
			id, envs, err := c.decode(raw)
			if err != nil {
				if id <= 0 {
					// Telegram never sends this; without an id there is
					// no offset to move past it, and the next update's
					// id moves past it anyway.
					c.log.Warn("telegram: update without update_id skipped")
					continue
				}
				// An update Telegram sent that leadhub cannot read would
				// otherwise be fetched forever.
				c.log.Warn("telegram: unreadable update skipped", "update_id", id, "err", err)
				offset = id + 1
				continue
			}
			if err := enqueueAll(ctx, sink, envs); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				failures++
				wait = 0
				c.log.Warn("telegram: enqueue failed; the update is fetched again", "update_id", id, "err", err, "failures", failures)
				failed = true
				break
			}
			offset = id + 1
		}
		if !failed {
			failures = 0
		}
	}
}

func enqueueAll(ctx context.Context, sink inbox.Sink, envs []inbox.Envelope) error {
	for _, e := range envs {
		if err := sink.Enqueue(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// apiError is a Bot API failure answer to a request made without the
// library.
type apiError struct {
	Method      string
	Code        int
	Description string
	RetryAfter  time.Duration
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.Method, e.Code, e.Description)
}

// getUpdates makes one long poll. The library has no exported getUpdates:
// its polling loop confirms updates before they are handled, so this one
// request is made here, in the same wire format.
func (c *Channel) getUpdates(ctx context.Context, offset int64) ([]json.RawMessage, error) {
	form := url.Values{}
	if offset > 0 {
		form.Set("offset", strconv.FormatInt(offset, 10))
	}
	form.Set("timeout", strconv.Itoa(max(1, int(c.opts.PollTimeout/time.Second))))
	form.Set("limit", "100")
	au, _ := json.Marshal(allowedUpdates())
	form.Set("allowed_updates", string(au))

	// The server holds the request for up to the poll timeout.
	ctx, cancel := context.WithTimeout(ctx, c.opts.PollTimeout+15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+"/bot"+c.opts.Token+"/getUpdates", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("telegram: getUpdates: %w", c.redact(err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("telegram: getUpdates: %w", c.redact(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPollBody))
	if err != nil {
		return nil, fmt.Errorf("telegram: getUpdates: read answer: %w", c.redact(err))
	}
	var ans struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		ErrorCode   int               `json:"error_code"`
		Description string            `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("telegram: getUpdates: unreadable answer (HTTP %d)", resp.StatusCode)
	}
	if !ans.OK {
		code := ans.ErrorCode
		if code == 0 {
			code = resp.StatusCode
		}
		return nil, fmt.Errorf("telegram: %w", &apiError{
			Method:      "getUpdates",
			Code:        code,
			Description: c.scrub(ans.Description),
			RetryAfter:  time.Duration(ans.Parameters.RetryAfter) * time.Second,
		})
	}
	return ans.Result, nil
}
