package inbox

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// The login lockout counts failures per key: one for what was typed into
// the email field, one for the client's address. Both doors that touch
// the counters (sign-in in the web layer, unlocking from the API or the
// command line) make keys here, so they always agree.

// NormalizeLoginEmail is how a typed email is compared: sign-in, the
// lockout and unlocking all use it.
func NormalizeLoginEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// loginAccountDomain separates these hashes from any other SHA-256 of the
// same text, so a table of hashes made for something else does not apply.
const loginAccountDomain = "leadhub/login-failures/account/v1\x00"

// LoginAccountKey is the lockout key of what was typed into the email
// field: a hash, never the text, because people type passwords into the
// email field and the counter would then keep a password in clear.
//
// It is a plain SHA-256 with a domain prefix, not an HMAC: leadhub has no
// per-install secret to key it with, and one kept in the same database
// would protect nothing against whoever reads that database. What a plain
// hash leaves is a guess-and-check of a weak password typed by mistake;
// the rows that carry it are short-lived counters (gone after the window
// and the lockout), and nothing else keeps the typed text (the audit
// entry of a failed login names a known operator's id, never the text).
func LoginAccountKey(email string) string {
	sum := sha256.Sum256([]byte(loginAccountDomain + NormalizeLoginEmail(email)))
	return "account:" + hex.EncodeToString(sum[:])
}

// LoginAddressKey is the lockout key of a client address, as the web
// layer decided it (see web's clientAddress). Addresses are not secret
// and admins unlock them by value, so they stay readable.
func LoginAddressKey(addr string) string { return "ip:" + addr }
