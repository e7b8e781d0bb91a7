package inbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ClientFilter picks client cards for a segment: every field that is set
// narrows the list (they are ANDed); an empty filter is the whole live base.
// Merged, erased and spam cards are never in a segment. The same names are
// the query parameters of GET /clients/count and /clients/filter and the
// keys of a saved segment's filter.
//
// Times are kept as the marketer wrote them, so that a saved "30d" stays
// thirty days before each use rather than before the day it was saved.
type ClientFilter struct {
	// Tags: the card has every one of them (all of; case-insensitive).
	Tags []string `json:"tags,omitempty"`
	// Channel: the client has a conversation (any status) in this channel.
	Channel string `json:"channel,omitempty"`
	// First- and last-touch campaign marks, exact values.
	FirstSource   string `json:"first_source,omitempty"`
	FirstCampaign string `json:"first_campaign,omitempty"`
	LastSource    string `json:"last_source,omitempty"`
	LastCampaign  string `json:"last_campaign,omitempty"`
	// ContactedBefore: last contact older than this moment, or never in
	// touch. ContactedAfter: last contact at or after it. Either is a date
	// (2026-01-31, its start in UTC), an RFC 3339 time, or a duration back
	// from now: a number and h, d or w ("30d").
	ContactedBefore string `json:"contacted_before,omitempty"`
	ContactedAfter  string `json:"contacted_after,omitempty"`
	// Open: true, the client has a conversation that is not closed; false,
	// none.
	Open         *bool `json:"open,omitempty"`
	DoNotContact *bool `json:"do_not_contact,omitempty"`
	// Consent: true, the card has a consent on record (any kind); false,
	// none.
	Consent *bool `json:"consent,omitempty"`
	// Created between CreatedFrom and CreatedTo, both inclusive: dates
	// (the whole day of CreatedTo counts) or RFC 3339 times.
	CreatedFrom string `json:"created_from,omitempty"`
	CreatedTo   string `json:"created_to,omitempty"`
}

// filterFields are the filter's names, in the order above.
var filterFields = []string{"tags", "channel", "first_source", "first_campaign", "last_source", "last_campaign",
	"contacted_before", "contacted_after", "open", "do_not_contact", "consent", "created_from", "created_to"}

// MaxFilterValue bounds a filter's text values.
const MaxFilterValue = 200

// ResolvedFilter is a ClientFilter with its times worked out for one moment.
type ResolvedFilter struct {
	ClientFilter
	ContactedBefore, ContactedAfter time.Time // zero: off
	CreatedFrom, CreatedTo          time.Time // CreatedTo exclusive; zero: off
}

// ParseClientFilter reads a filter from query parameters. Parameters in
// extra (cursor, limit, sep) are the endpoint's own and skipped; any other
// unknown parameter is EINVALID naming it. Tags may be repeated or
// comma-separated; the booleans are true or false (empty: off).
func ParseClientFilter(q url.Values, extra ...string) (ClientFilter, error) {
	var f ClientFilter
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if slices.Contains(extra, k) {
			continue
		}
		if !slices.Contains(filterFields, k) {
			return ClientFilter{}, Errorf(EINVALID, "unknown filter field %s", k)
		}
		v := q.Get(k)
		switch k {
		case "tags":
			for _, each := range q[k] {
				for t := range strings.SplitSeq(each, ",") {
					if t = strings.TrimSpace(t); t != "" {
						f.Tags = append(f.Tags, t)
					}
				}
			}
		case "open", "do_not_contact", "consent":
			if v == "" {
				continue
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				return ClientFilter{}, Errorf(EINVALID, "%s must be true or false", k)
			}
			switch k {
			case "open":
				f.Open = &b
			case "do_not_contact":
				f.DoNotContact = &b
			default:
				f.Consent = &b
			}
		default:
			*f.text(k) = strings.TrimSpace(v)
		}
	}
	return f, nil
}

// text returns the string field named k.
func (f *ClientFilter) text(k string) *string {
	switch k {
	case "channel":
		return &f.Channel
	case "first_source":
		return &f.FirstSource
	case "first_campaign":
		return &f.FirstCampaign
	case "last_source":
		return &f.LastSource
	case "last_campaign":
		return &f.LastCampaign
	case "contacted_before":
		return &f.ContactedBefore
	case "contacted_after":
		return &f.ContactedAfter
	case "created_from":
		return &f.CreatedFrom
	default:
		return &f.CreatedTo
	}
}

// UnmarshalJSON reads a filter object; an unknown key is EINVALID naming it.
func (f *ClientFilter) UnmarshalJSON(data []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return Errorf(EINVALID, "the filter must be a JSON object")
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !slices.Contains(filterFields, k) {
			return Errorf(EINVALID, "unknown filter field %s", k)
		}
	}
	type plain ClientFilter // without this method
	var p plain
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return Errorf(EINVALID, "bad filter: %v", err)
	}
	*f = ClientFilter(p)
	return nil
}

// Resolve checks the filter and works out its times for now: a value that
// does not parse, a text over MaxFilterValue, or a range whose end is before
// its start is EINVALID with the reason.
func (f ClientFilter) Resolve(now time.Time) (ResolvedFilter, error) {
	r := ResolvedFilter{ClientFilter: f}
	for _, k := range filterFields {
		switch k {
		case "tags", "open", "do_not_contact", "consent":
			continue
		}
		if utf8.RuneCountInString(*f.text(k)) > MaxFilterValue {
			return r, Errorf(EINVALID, "%s is longer than %d characters", k, MaxFilterValue)
		}
	}
	if len(f.Tags) > MaxTags {
		return r, Errorf(EINVALID, "more than %d tags", MaxTags)
	}
	for _, t := range f.Tags {
		if utf8.RuneCountInString(t) > MaxTagLen {
			return r, Errorf(EINVALID, "tag %q is longer than %d characters", t, MaxTagLen)
		}
	}
	var err error
	if r.ContactedBefore, err = filterTime("contacted_before", f.ContactedBefore, now, false); err != nil {
		return r, err
	}
	if r.ContactedAfter, err = filterTime("contacted_after", f.ContactedAfter, now, false); err != nil {
		return r, err
	}
	if r.CreatedFrom, err = filterTime("created_from", f.CreatedFrom, now, false); err != nil {
		return r, err
	}
	if r.CreatedTo, err = filterTime("created_to", f.CreatedTo, now, true); err != nil {
		return r, err
	}
	if !r.ContactedBefore.IsZero() && !r.ContactedAfter.IsZero() && !r.ContactedAfter.Before(r.ContactedBefore) {
		return r, Errorf(EINVALID, "contacted_after (%s) is not before contacted_before (%s): the range is empty",
			f.ContactedAfter, f.ContactedBefore)
	}
	if !r.CreatedFrom.IsZero() && !r.CreatedTo.IsZero() && !r.CreatedFrom.Before(r.CreatedTo) {
		return r, Errorf(EINVALID, "created_from (%s) is after created_to (%s)", f.CreatedFrom, f.CreatedTo)
	}
	return r, nil
}

// filterTime reads a date, an RFC 3339 time or a duration back from now
// ("36h", "30d", "2w"). endOfDay makes a date mean the end of that day (an
// inclusive "to").
func filterTime(name, v string, now time.Time, endOfDay bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if n := len(v); n >= 2 {
		unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[v[n-1]]
		if k, err := strconv.Atoi(v[:n-1]); err == nil && unit != 0 && k >= 0 && k <= 100*366 {
			return now.Add(-time.Duration(k) * unit).UTC(), nil
		}
	}
	return time.Time{}, Errorf(EINVALID, "%s: %q is neither a date (2026-01-31), a time (RFC 3339) nor a duration (30d, 12h, 2w)", name, v)
}

// Query is the filter as query parameters (for links to CSV exports).
func (f ClientFilter) Query() url.Values {
	q := url.Values{}
	if len(f.Tags) > 0 {
		q.Set("tags", strings.Join(f.Tags, ","))
	}
	for _, k := range filterFields {
		switch k {
		case "tags":
		case "open", "do_not_contact", "consent":
			b := map[string]*bool{"open": f.Open, "do_not_contact": f.DoNotContact, "consent": f.Consent}[k]
			if b != nil {
				q.Set(k, strconv.FormatBool(*b))
			}
		default:
			if v := *f.text(k); v != "" {
				q.Set(k, v)
			}
		}
	}
	return q
}

// Segment is a saved, named filter. A private one (Team "") is its owner's;
// one shared with a team is seen and exported by the team's members, and
// changed or deleted by its owner or an admin.
type Segment struct {
	ID        int64        `json:"id"`
	Name      string       `json:"name"`
	Filter    ClientFilter `json:"filter"`
	OwnerID   int64        `json:"owner_id"`
	Team      string       `json:"team"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// MaxSegmentName bounds a segment's name.
const MaxSegmentName = 100

// SegmentPatch changes a segment; nil fields stay as they are.
type SegmentPatch struct {
	Name   *string
	Filter *ClientFilter
	Team   *string
}

// CheckSegmentName returns the name trimmed, or EINVALID.
func CheckSegmentName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", Errorf(EINVALID, "a segment needs a name")
	}
	if utf8.RuneCountInString(name) > MaxSegmentName {
		return "", Errorf(EINVALID, "the name is longer than %d characters", MaxSegmentName)
	}
	return name, nil
}

// ClientActivity is a card's campaign marks and last contact
// (client_activity); zero when the client was never in touch.
type ClientActivity struct {
	FirstSource   string     `json:"first_source"`
	FirstCampaign string     `json:"first_campaign"`
	LastSource    string     `json:"last_source"`
	LastCampaign  string     `json:"last_campaign"`
	FirstTouchAt  *time.Time `json:"first_touch_at"`
	LastContactAt *time.Time `json:"last_contact_at"`
}

// SegmentClient is a card in a segment's list, with its activity.
type SegmentClient struct {
	Client
	Activity ClientActivity `json:"activity"`
}

// String is the filter for logs and audit detail.
func (f ClientFilter) String() string {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Sprintf("%+v", map[string]any{"error": err.Error()})
	}
	return string(b)
}
