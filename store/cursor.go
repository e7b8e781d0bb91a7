package store

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// Cursors are opaque to callers: base64 of the position of the last row of
// the previous page. A cursor that does not decode is EINVALID.

// activityCursor is a position in a list ordered by (time DESC, id DESC).
type activityCursor struct {
	at time.Time
	id int64
}

func (c activityCursor) String() string {
	return encodeCursor(strconv.FormatInt(c.at.UnixMicro(), 10) + "." + strconv.FormatInt(c.id, 10))
}

func parseActivityCursor(s string) (activityCursor, error) {
	if s == "" {
		return activityCursor{}, nil
	}
	raw, err := decodeCursor(s)
	if err != nil {
		return activityCursor{}, err
	}
	us, id, ok := strings.Cut(raw, ".")
	if !ok {
		return activityCursor{}, inbox.Errorf(inbox.EINVALID, "bad cursor")
	}
	micros, err1 := strconv.ParseInt(us, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return activityCursor{}, inbox.Errorf(inbox.EINVALID, "bad cursor")
	}
	return activityCursor{at: time.UnixMicro(micros).UTC(), id: n}, nil
}

// idCursor is a position in a list ordered by id.
func idCursor(id int64) string { return encodeCursor(strconv.FormatInt(id, 10)) }

func parseIDCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	raw, err := decodeCursor(s)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, inbox.Errorf(inbox.EINVALID, "bad cursor")
	}
	return id, nil
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", inbox.Errorf(inbox.EINVALID, "bad cursor")
	}
	return string(b), nil
}

// likePattern returns a case-folded LIKE pattern matching q anywhere, with
// LIKE's own wildcards in q escaped (the queries say ESCAPE '\').
func likePattern(q string) string {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return ""
	}
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(clean(q)) + "%"
}
