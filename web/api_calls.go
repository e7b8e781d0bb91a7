package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

// Caller is a telephony channel that places calls for operators: it rings
// the operator's extension and then connects the client's number. The
// resulting call's events come back through the channel's webhook.
type Caller interface {
	Call(ctx context.Context, extension, number string) error
	// ExtensionOf returns the extension of the operator with the email.
	ExtensionOf(email string) (string, bool)
}

// callBody is POST /api/v1/clients/{id}/call: the number to call (one of
// the card's phones; default its first) and, when several telephony
// channels could place it, which one.
type callBody struct {
	Phone   string `json:"phone"`
	Channel string `json:"channel"`
}

// callAnswer says what was asked of the provider.
type callAnswer struct {
	Channel   string `json:"channel"`
	Extension string `json:"extension"`
	Phone     string `json:"phone"`
}

// callClient answers POST /api/v1/clients/{id}/call: the provider rings the
// operator's extension, then the client. Only a phone on the card can be
// called, from a channel where the operator has an extension.
func (a *apiHandler) callClient(w http.ResponseWriter, r *http.Request) {
	var b callBody
	id, ok := idAndBody(w, r, &b)
	if !ok {
		return
	}
	if _, err := a.access.client(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	c, err := a.store.GetClient(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var phones []string
	for _, idn := range c.Identities {
		if idn.Kind == inbox.IdentityPhone {
			phones = append(phones, idn.Value)
		}
	}
	number := strings.TrimSpace(b.Phone)
	switch {
	case len(phones) == 0:
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "the card has no phone"))
		return
	case number == "":
		number = phones[0]
	case !slices.Contains(phones, number):
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "%s is not a phone of this card", number))
		return
	}
	op, _ := operatorFrom(r.Context())
	ids := make([]string, 0, len(a.callers))
	for ch := range a.callers {
		if b.Channel == "" || b.Channel == ch {
			ids = append(ids, ch)
		}
	}
	slices.Sort(ids)
	for _, ch := range ids {
		ext, ok := a.callers[ch].ExtensionOf(op.Email)
		if !ok {
			continue
		}
		if err := a.callers[ch].Call(r.Context(), ext, number); err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, r, http.StatusAccepted, callAnswer{Channel: ch, Extension: ext, Phone: number})
		return
	}
	writeError(w, r, inbox.Errorf(inbox.EINVALID, "you have no extension in a telephony channel that places calls"))
}
