package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// frameHead reads the id and type of a websocket frame
// {"id":N,"type":"T","data":{...}}. The hub writes these two fields first,
// so scanning the start is enough and keeps the bench's CPU (which the hub
// shares) for the hub; any other layout is decoded in full.
func frameHead(b []byte) (id int64, typ string, err error) {
	const idKey, typeKey = `{"id":`, `,"type":"`
	if rest, ok := bytes.CutPrefix(b, []byte(idKey)); ok {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if after, ok := bytes.CutPrefix(rest[n:], []byte(typeKey)); ok && n > 0 {
			if end := bytes.IndexByte(after, '"'); end >= 0 {
				if id, err := strconv.ParseInt(string(rest[:n]), 10, 64); err == nil {
					return id, string(after[:end]), nil
				}
			}
		}
	}
	var f struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	}
	err = json.Unmarshal(b, &f)
	return f.ID, f.Type, err
}

// findMarker finds the first "<run>-<i>" in b, given prefix "<run>-", and
// returns i. The marker is in the message text, wherever the event's
// payload puts it.
func findMarker(b, prefix []byte) (int, bool) {
	at := bytes.Index(b, prefix)
	if at < 0 {
		return 0, false
	}
	digits := b[at+len(prefix):]
	n := 0
	for n < len(digits) && n < 9 && digits[n] >= '0' && digits[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, false
	}
	i, err := strconv.Atoi(string(digits[:n]))
	return i, err == nil
}

// streamCheck is what one socket's event ids say beside the other sockets
// of its group (sockets of one operator, who must all see the same events).
type streamCheck struct {
	// Doubles: ids not greater than the one before: an event repeated or
	// out of order.
	Doubles int `json:"doubles"`
	// Gaps: ids another socket of the group received and this one did
	// not, counting only up to the last id every socket of the group
	// reached (the sockets are closed one after another at the end).
	Gaps int `json:"gaps"`
}

// checkStreams checks ids[s], the event ids socket s received in order;
// group[s] says which sockets must agree.
func checkStreams(ids [][]int64, group []int) []streamCheck {
	out := make([]streamCheck, len(ids))
	for s, seq := range ids {
		for k := 1; k < len(seq); k++ {
			if seq[k] <= seq[k-1] {
				out[s].Doubles++
			}
		}
	}
	members := make(map[int][]int)
	for s, g := range group {
		members[g] = append(members[g], s)
	}
	for _, ss := range members {
		// cutoff: the highest id every socket that received anything has
		// reached. A socket that received nothing misses everything up to it.
		cutoff, any := int64(0), false
		for _, s := range ss {
			if n := len(ids[s]); n > 0 {
				last := slices.Max(ids[s])
				if !any || last < cutoff {
					cutoff = last
				}
				any = true
			}
		}
		union := make(map[int64]struct{})
		for _, s := range ss {
			for _, id := range ids[s] {
				if id <= cutoff {
					union[id] = struct{}{}
				}
			}
		}
		for _, s := range ss {
			own := make(map[int64]struct{}, len(ids[s]))
			for _, id := range ids[s] {
				if id <= cutoff {
					own[id] = struct{}{}
				}
			}
			out[s].Gaps = len(union) - len(own)
		}
	}
	return out
}
