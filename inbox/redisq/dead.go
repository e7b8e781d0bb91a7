package redisq

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/leadhub/leadhub/inbox"
)

// replayScript moves one dead letter back onto the stream as a new entry.
// A script, because "take it if it is still there" must be one step: two
// operators replaying the same letter must not queue it twice.
//
// KEYS[1] dead stream, KEYS[2] stream, ARGV[1] dead letter id.
// Returns 1 when moved, 0 when there is no such dead letter.
const replayScript = `
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then
	return 0
end
local fields = found[1][2]
for i = 1, #fields, 2 do
	if fields[i] == 'envelope' then
		redis.call('XADD', KEYS[2], '*', 'envelope', fields[i + 1])
		redis.call('XDEL', KEYS[1], ARGV[1])
		return 1
	end
end
return redis.error_reply('dead letter has no envelope field')
`

// ListDead returns up to limit dead letters (100 if limit <= 0), oldest
// first. Their ids are the dead stream's entry ids. A payload that never
// decoded is listed with a zero Envelope so that the operator still sees it.
func (q *Queue) ListDead(ctx context.Context, limit int) ([]inbox.DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	msgs, err := q.rdb.XRangeN(ctx, q.dead, "-", "+", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("redisq: list dead: %w", err)
	}
	out := make([]inbox.DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d := inbox.DeadLetter{ID: m.ID, Error: field(m, "error")}
		d.Attempts, _ = strconv.Atoi(field(m, "attempts"))
		d.FailedAt, _ = idTime(m.ID)
		_ = json.Unmarshal([]byte(field(m, "envelope")), &d.Envelope) // see the doc comment
		out = append(out, d)
	}
	return out, nil
}

// ReplayDead puts a dead letter back on the stream as a new entry (so its
// attempts start again at 1) and removes it from the dead letters, in one
// atomic step. An unknown id is ENOTFOUND.
func (q *Queue) ReplayDead(ctx context.Context, id string) error {
	if _, ok := idTime(id); !ok {
		return inbox.Errorf(inbox.ENOTFOUND, "dead letter %q not found", id)
	}
	moved, err := q.replay.Run(ctx, q.rdb, []string{q.dead, q.opts.Stream}, id).Int()
	if err != nil {
		return fmt.Errorf("redisq: replay dead %s: %w", id, err)
	}
	if moved == 0 {
		return inbox.Errorf(inbox.ENOTFOUND, "dead letter %q not found", id)
	}
	return nil
}
