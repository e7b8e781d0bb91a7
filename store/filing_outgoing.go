package store

import "github.com/leadhub/leadhub/inbox"

// outgoingMessage is the piece for inbox.ItemOutgoing: a message the
// business sent from the provider's own interface. It is stored outbound and
// sent already, and nothing puts it in the outbox: leadhub must never send
// it again. Its dedupe key makes a redelivery a no-op like any other.
func outgoingMessage(env *inbox.Envelope) inbox.Message {
	m := envelopeMessage(env, inbox.DirectionOut)
	m.Delivery = inbox.DeliverySent
	return m
}
