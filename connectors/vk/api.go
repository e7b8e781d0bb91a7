package vk

import (
	"context"
	"errors"
	"fmt"

	"github.com/SevereCloud/vksdk/v3/api"

	"github.com/leadhub/leadhub/inbox"
)

// call makes one API method call through vksdk with ctx, after waiting for
// the channel's rate limit, and decodes the response into out. Every error
// is redacted; VK's own errors stay reachable as *api.Error. Whether the
// channel works is reported to the health board: error 5 (the token)
// makes it down, other VK and network errors degraded, an answer OK.
func (c *Channel) call(ctx context.Context, method string, params api.Params, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, callTimeout)
		defer cancel()
	}
	if err := c.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("vk: %s: waiting for the rate limit: %w", method, err)
	}
	return c.callNoWait(ctx, method, params, out)
}

// callNoWait is call for a caller that took its rate limit token already.
func (c *Channel) callNoWait(ctx context.Context, method string, params api.Params, out any) error {
	p := api.Params{}
	for k, v := range params {
		p[k] = v
	}
	err := c.vk.RequestUnmarshal(method, out, p.WithContext(ctx))
	if err == nil {
		c.opts.Health.OK(c.opts.ChannelID)
		return nil
	}
	err = c.redact(err)
	var vkErr *api.Error
	switch {
	case errors.As(err, &vkErr) && vkErr.Code == api.ErrAuth:
		c.opts.Health.Fail(c.opts.ChannelID, inbox.HealthDown, "VK rejected the access token (error 5): issue a new community token with the messages right")
	case errors.As(err, &vkErr):
		if retryable(vkErr.Code) {
			c.opts.Health.Fail(c.opts.ChannelID, inbox.HealthDegraded, fmt.Sprintf("VK answered error %d on %s", vkErr.Code, method))
		}
	case ctx.Err() == nil:
		c.opts.Health.Fail(c.opts.ChannelID, inbox.HealthDegraded, "VK API unreachable on "+method)
	}
	return fmt.Errorf("vk: %s: %w", method, err)
}

// retryable are the VK errors that a later attempt may not meet: too many
// requests per second (6), flood control (9), VK's internal error (10) and
// its unknown error (1).
func retryable(code api.ErrorType) bool {
	switch code {
	case api.ErrUnknown, api.ErrTooMany, api.ErrFlood, api.ErrServer:
		return true
	}
	return false
}
