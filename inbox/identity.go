package inbox

import (
	"strings"

	"github.com/nyaruka/phonenumbers/v2"
)

// MaxIdentityLen bounds an identity value; RFC 5321 caps a mail path at 320.
const MaxIdentityLen = 320

// DefaultRegion is the region assumed for phone numbers written without a
// country code when the configuration does not name one.
const DefaultRegion = "RU"

// NormalizePhone returns raw as E.164 ("8 (912) 345-67-89" → "+79123456789"),
// reading numbers without a country code as numbers of region. A number that
// does not parse as a possible number is an EINVALID error: such text is never
// used to match cards.
func NormalizePhone(raw, region string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", Errorf(EINVALID, "empty phone")
	}
	if len(raw) > 64 {
		return "", Errorf(EINVALID, "phone is too long")
	}
	if region == "" {
		region = DefaultRegion
	}
	num, err := phonenumbers.Parse(raw, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return "", Errorf(EINVALID, "phone %q is not a phone number", raw)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// NormalizeEmail trims and lower-cases an address. It does no
// provider-specific rewriting: dots and plus tags are the sender's own.
func NormalizeEmail(raw string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(raw))
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || strings.ContainsAny(v, " \t\r\n<>") {
		return "", Errorf(EINVALID, "email %q is not an address", raw)
	}
	if len(v) > MaxIdentityLen {
		return "", Errorf(EINVALID, "email is longer than %d characters", MaxIdentityLen)
	}
	return v, nil
}

// NewIdentity normalizes raw as an identity of the given kind. External ids
// are scoped to their channel so two integrations never collide.
func NewIdentity(kind IdentityKind, raw, channelID, region string) (Identity, error) {
	var (
		v   string
		err error
	)
	switch kind {
	case IdentityPhone:
		v, err = NormalizePhone(raw, region)
	case IdentityEmail:
		v, err = NormalizeEmail(raw)
	case IdentityTelegram, IdentityVK:
		v = strings.TrimSpace(raw)
		if v == "" {
			err = Errorf(EINVALID, "empty %s id", kind)
		}
	case IdentityExternal:
		v = strings.TrimSpace(raw)
		if v == "" {
			err = Errorf(EINVALID, "empty external id")
		}
		v = channelID + ":" + v
	default:
		err = Errorf(EINVALID, "unknown identity kind %q", kind)
	}
	if err != nil {
		return Identity{}, err
	}
	if len(v) > MaxIdentityLen {
		return Identity{}, Errorf(EINVALID, "%s is longer than %d characters", kind, MaxIdentityLen)
	}
	return Identity{Kind: kind, Value: v}, nil
}
