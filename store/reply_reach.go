package store

import (
	"context"
	"fmt"

	"github.com/leadhub/leadhub/inbox"
)

// replyReaches refuses a reply that its channel can be sure not to deliver:
// in a VK conversation, a client whose every VK identity is unreachable
// (they denied the community messages with message_deny, or VK refused a
// send with 900, 901 or 902). VK would refuse the send anyway; saying so
// before the reply is queued lets the operator pick another channel. The
// mark is lifted when the client allows messages again or writes.
func (s *Store) replyReaches(ctx context.Context, q queryer, conv inbox.Conversation) error {
	if conv.ChannelType != inbox.ChannelVK {
		return nil
	}
	var rows []identityRow
	if err := q.SelectContext(ctx, &rows, s.q.IdentitiesOfClient, conv.ClientID); err != nil {
		return fmt.Errorf("read identities: %w", err)
	}
	reason := ""
	for _, r := range rows {
		if r.Kind != string(inbox.IdentityVK) {
			continue
		}
		if r.Unreachable == "" {
			return nil
		}
		reason = r.Unreachable
	}
	if reason == "" {
		return nil
	}
	return inbox.Reasonf(inbox.ECONFLICT, "vk_denied", map[string]string{"reason": reason}, "VK does not let the community message this client (%s); they can allow messages again in VK, or answer through another channel", reason)
}
