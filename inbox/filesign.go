package inbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// SignedFileTTL is how long a signed link to a stored file works.
const SignedFileTTL = 7 * 24 * time.Hour

// FileSignature signs the right to download stored file id through
// channel until expires (Unix seconds), with the channel's secret: an
// integration that gets a reply's file in its callback downloads it
// without an operator's token.
func FileSignature(secret, channel, id string, expires int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(channel + "\n" + id + "\n" + strconv.FormatInt(expires, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// FileSignatureValid checks sig for channel, id and expires at now.
func FileSignatureValid(secret, channel, id string, expires int64, sig string, now time.Time) bool {
	if secret == "" || now.Unix() > expires {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(FileSignature(secret, channel, id, expires)))
}
