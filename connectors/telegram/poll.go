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

// Source is the name of the channel's lease and checkpoint in polling mode.
func (c *Channel) Source() string { return "telegram:" + c.opts.ChannelID }

// Run receives updates in polling mode until ctx ends, then returns nil. It
// runs the shared inbox.PollLoop with the channel as its Poller: only the
// instance holding the lease Source() polls, since Telegram answers a second
// poller 409; the next offset is kept in pollers' checkpoints, so a restart,
// or another instance taking over, resumes where polling stopped; an update
// is confirmed to Telegram (the next getUpdates' offset passes it) only after
// its envelopes were enqueued and the offset saved. In webhook mode Run only
// waits for ctx: Parse does the work.
func (c *Channel) Run(ctx context.Context, sink inbox.Sink, pollers inbox.PollerStore) error {
	if c.opts.Mode != ModePolling {
		<-ctx.Done()
		return nil
	}
	loop, err := inbox.NewPollLoop(inbox.PollLoopOptions{
		Source:     c.Source(),
		Holder:     c.opts.Holder,
		Poller:     c,
		Sink:       sink,
		Store:      pollers,
		Clock:      c.opts.Clock,
		Logger:     c.log,
		LeaseTTL:   c.opts.LeaseTTL,
		RetryDelay: c.opts.RetryDelay,
		// Idle stays 0: getUpdates itself waits for updates.
	})
	if err != nil {
		return fmt.Errorf("telegram: channel %s: %w", c.opts.ChannelID, err)
	}
	return loop.Run(ctx)
}

// Poll makes one long poll from checkpoint, the next update_id to ask for
// ("" at first: Telegram's earliest unconfirmed update). Asking from an
// offset confirms every update below it, which the poll loop does only
// after those were enqueued. Each update is one item whose checkpoint moves
// past it; an update leadhub cannot read is an item without envelopes, so
// it is confirmed too instead of being fetched forever.
func (c *Channel) Poll(ctx context.Context, checkpoint string) ([]inbox.PollItem, error) {
	var offset int64
	if checkpoint != "" {
		n, err := strconv.ParseInt(checkpoint, 10, 64)
		if err != nil || n < 0 {
			// Telegram remembers what was confirmed: starting from its
			// earliest unconfirmed update loses nothing.
			c.log.Warn("telegram: unreadable checkpoint ignored", "checkpoint", checkpoint)
		} else {
			offset = n
		}
	}
	updates, err := c.getUpdates(ctx, offset)
	if err != nil {
		if ae, ok := errors.AsType[*apiError](err); ok && ae.RetryAfter > 0 {
			return nil, &inbox.RetryAfterError{Err: err, After: ae.RetryAfter}
		}
		return nil, err
	}
	items := make([]inbox.PollItem, 0, len(updates))
	for _, raw := range updates {
		id, envs, err := c.decode(raw)
		if err != nil {
			if id <= 0 {
				// Telegram never sends this; without an id there is no
				// offset to move past it, and the next update's id moves
				// past it anyway.
				c.log.Warn("telegram: update without update_id skipped")
				continue
			}
			c.log.Warn("telegram: unreadable update skipped", "update_id", id, "err", err)
			envs = nil
		}
		items = append(items, inbox.PollItem{Envelopes: envs, Checkpoint: strconv.FormatInt(id+1, 10)})
	}
	return items, nil
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
