package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/web"
)

// channelTeams maps each channel that belongs to a team to that team.
func channelTeams(cfg config.Config) map[string]string {
	m := map[string]string{}
	for _, ch := range cfg.Channels {
		if ch.Team != "" {
			m[ch.ID] = ch.Team
		}
	}
	return m
}

// channelInfos is what admins see of the channels: never their secrets.
// canSend says which of them can send replies.
func channelInfos(cfg config.Config, canSend func(id string) bool) []web.ChannelInfo {
	out := make([]web.ChannelInfo, len(cfg.Channels))
	for i, ch := range cfg.Channels {
		out[i] = web.ChannelInfo{ID: ch.ID, Type: inbox.ChannelType(ch.Type), Team: ch.Team, Status: "enabled",
			CanSend: canSend(ch.ID)}
	}
	return out
}

func authOptions(cfg config.Config) web.AuthOptions {
	s := cfg.Security
	return web.AuthOptions{
		SessionIdle:   s.SessionIdle.Duration,
		SessionMaxAge: s.SessionMaxAge.Duration,
		MaxFailures:   s.LoginMaxFailures,
		MaxIPFailures: s.LoginIPMaxFailures,
		Lockout:       s.LoginLockout.Duration,
		LoginRate:     s.LoginRate,
	}
}

func timeouts(cfg config.Config) web.Timeouts {
	h := cfg.HTTP
	return web.Timeouts{
		ReadHeader: h.ReadHeaderTimeout.Duration,
		Read:       h.ReadTimeout.Duration,
		Write:      h.WriteTimeout.Duration,
		Idle:       h.IdleTimeout.Duration,
	}
}

// syncChannels puts a change of the channels in the configuration on the
// audit record and warns about channels whose team does not exist (nobody
// but supervisors and admins would see their conversations).
func syncChannels(ctx context.Context, st *store.Store, cfg config.Config, log *slog.Logger) error {
	chans := make([]inbox.ChannelConfig, len(cfg.Channels))
	for i, ch := range cfg.Channels {
		chans[i] = inbox.ChannelConfig{ID: ch.ID, Type: inbox.ChannelType(ch.Type), Team: ch.Team, Fingerprint: fingerprint(ch)}
	}
	entries, err := st.SyncChannels(ctx, chans)
	if err != nil {
		return err
	}
	for _, e := range entries {
		log.Info("channel configuration changed", "action", e.Action, "detail", string(e.Detail))
	}
	teams, err := st.ListTeams(ctx)
	if err != nil {
		return err
	}
	for _, ch := range cfg.Channels {
		if ch.Team != "" && !slices.ContainsFunc(teams, func(t inbox.Team) bool { return t.Name == ch.Team }) {
			log.Warn("channel's team does not exist; only supervisors and admins see its conversations until it is created (leadhub team add)",
				"channel", ch.ID, "team", ch.Team)
		}
	}
	return nil
}

// fingerprint identifies a channel's settings without its secrets, which
// must not reach the database even hashed (a short one could be guessed
// back from its hash).
func fingerprint(ch config.Channel) string {
	ch.Secret, ch.Password, ch.Token, ch.APIKey, ch.APISalt, ch.Confirmation = "", "", "", "", "", ""
	b, _ := json.Marshal(ch)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
