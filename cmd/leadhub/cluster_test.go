package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// TestClusterOneInbox: two instances on one PostgreSQL and one Redis take
// webhooks in turn; an operator's websocket on each instance receives
// every message once, in event order (the fan-out over Redis, gaps filled
// from the events table), and the workers of both instances share the
// consumer group: each message is filed once.
func TestClusterOneInbox(t *testing.T) {
	cfg := testConfig(t, true, true, "")
	token := createToken(t, cfg)
	hubs := []*running{startHub(t, cfg), startHub(t, cfg)}
	socks := []*wsReader{readWS(t, dialWS(t, hubs[0].base, token, 0)), readWS(t, dialWS(t, hubs[1].base, token, 0))}

	const n = 200
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				body := fmt.Sprintf(`{"id":"cluster-%d","from":{"phone":"+7912%07d"},"text":"заявка %d"}`, i, 2000000+i%40, i)
				resp := signedPost(t, hubs[i%2].base+"/hooks/api/crm", body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("post %d: %d", i, resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	for k, s := range socks {
		waitFor(t, fmt.Sprintf("every message on instance %d's socket", k), func() bool { return s.messages() >= n })
		ids, texts := s.snapshot()
		if len(texts) != n {
			t.Errorf("instance %d's socket saw %d messages, want %d", k, len(texts), n)
		}
		for text, times := range texts {
			if times != 1 {
				t.Errorf("instance %d's socket saw %q %d times", k, text, times)
			}
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Fatalf("instance %d's socket: event %d after %d", k, ids[i], ids[i-1])
			}
		}
	}
	if got := count(t, hubs[0].hub, "messages"); got != n {
		t.Errorf("%d messages filed, want %d", got, n)
	}
}

// wsReader reads a socket's events in the background.
type wsReader struct {
	mu    sync.Mutex
	ids   []int64
	texts map[string]int
}

func readWS(t *testing.T, c interface{ ReadJSON(any) error }) *wsReader {
	r := &wsReader{texts: map[string]int{}}
	go func() {
		for {
			var ev wsEvent
			if err := c.ReadJSON(&ev); err != nil {
				return // closed at the test's end
			}
			r.mu.Lock()
			r.ids = append(r.ids, ev.ID)
			if ev.Type == inbox.EventMessageCreated {
				var p inbox.MessagePayload
				if json.Unmarshal(ev.Data, &p) == nil {
					r.texts[p.Message.Text]++
				}
			}
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *wsReader) messages() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, times := range r.texts {
		n += times
	}
	return n
}

func (r *wsReader) snapshot() ([]int64, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	texts := make(map[string]int, len(r.texts))
	for k, v := range r.texts {
		texts[k] = v
	}
	return append([]int64(nil), r.ids...), texts
}
