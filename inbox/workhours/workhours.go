// Package workhours does working-time arithmetic for SLA timers: "the first
// answer is due 15 minutes of working time after the message came in".
//
// A Schedule is a working week in one time zone, minus whole-day holidays.
// Wall-clock times are read in the zone on the date they fall on, so across
// a daylight-saving change a 09:00-18:00 day is still 09:00 to 18:00 on the
// office clock (9 hours), while a 00:00-24:00 day is 23 or 25 real hours.
//
// A span whose start or end falls in an hour the clocks skip is read as
// time.Date reads it: 02:30 on a spring-forward night in Europe/Berlin is
// 03:30 summer time. If that puts a span's end at or before its start (or
// before the previous span's end) the overlap is dropped, never counted
// twice. A wall time the clocks show twice (autumn) is one of the two
// instants, as time.Date chooses.
package workhours

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// maxIdleDays bounds how far Add looks for working time after the last day
// that had some: only a holiday list covering more than this many days in a
// row can reach it.
const maxIdleDays = 400

// never is what Add returns when it gives up; see Never.
var never = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// Never is the far-future instant (9999-12-31 23:59:59 UTC) that Add returns
// when it finds no working time within 400 days after the last working day
// (a schedule closed by holidays for more than a year). Callers compare
// with Equal.
func Never() time.Time { return never }

// Schedule is a working week in a time zone, minus holidays. Safe for
// concurrent use (immutable). A nil *Schedule and the zero Schedule are
// open 24/7 in UTC, like Always.
type Schedule struct {
	loc *time.Location
	// week holds each day's spans (index time.Weekday), sorted, merged,
	// in minutes after local midnight; an end of 1440 is 24:00.
	week     [7][]span
	holidays map[date]bool
	// allWeek is set when every day is 00:00-24:00: with no holidays the
	// working time is then the real time, whatever the zone does.
	allWeek bool
}

type span struct{ start, end int }

type date struct {
	y int
	m time.Month
	d int
}

// interval is one span made real on one date: [start, end).
type interval struct{ start, end time.Time }

// Spec is the textual form, as written in the config.
type Spec struct {
	// TimeZone is an IANA name, e.g. "Europe/Moscow"; "" means UTC.
	TimeZone string
	// Hours is e.g. "mon-fri 09:00-18:00, sat 10:00-14:00"; "" means
	// always open (24/7).
	Hours string
	// Holidays are dates "2027-01-01" in the schedule's zone, whole days
	// closed.
	Holidays []string
}

// ParseError says which part of a Spec is wrong.
type ParseError struct {
	Part string // "time_zone", "hours" or "holidays"
	Msg  string // what is wrong, quoting the offending text
}

func (e *ParseError) Error() string { return e.Part + ": " + e.Msg }

var always = func() *Schedule {
	s, err := Parse(Spec{})
	if err != nil {
		panic(err)
	}
	return s
}()

// Always returns a schedule open 24/7 in UTC, with no holidays.
func Always() *Schedule { return always }

var dayNames = map[string]time.Weekday{
	"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday,
	"fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday,
}

// Parse reads a Spec. The hours are a comma-separated list of
// "<days> <HH:MM>-<HH:MM>", where <days> is a day (mon..sun), a forward range
// of days in a Monday-first week (mon-fri, sat-sun; not sun-mon) or "daily".
// An end may be 24:00 and must be after its start: a night shift is two
// entries (mon 22:00-24:00, tue 00:00-06:00). Spans of one day that overlap
// or touch are merged, so "daily 00:00-24:00, sat 10:00-14:00" is simply
// 24/7. The error is a *ParseError for the first wrong part.
func Parse(spec Spec) (*Schedule, error) {
	s := &Schedule{loc: time.UTC}
	if tz := strings.TrimSpace(spec.TimeZone); tz != "" {
		// "Local" would make the schedule depend on the machine it runs on.
		if tz == "Local" {
			return nil, &ParseError{"time_zone", `"Local": want an IANA name such as "Europe/Moscow"`}
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, &ParseError{"time_zone", fmt.Sprintf("unknown time zone %q", tz)}
		}
		s.loc = loc
	}
	if strings.TrimSpace(spec.Hours) == "" {
		for wd := range s.week {
			s.week[wd] = []span{{0, 1440}}
		}
	} else {
		for _, entry := range strings.Split(spec.Hours, ",") {
			days, sp, msg := parseEntry(strings.TrimSpace(entry))
			if msg != "" {
				return nil, &ParseError{"hours", fmt.Sprintf("%q: %s", strings.TrimSpace(entry), msg)}
			}
			for _, wd := range days {
				s.week[wd] = append(s.week[wd], sp)
			}
		}
		for wd := range s.week {
			s.week[wd] = merge(s.week[wd])
		}
	}
	s.allWeek = true
	for _, spans := range s.week {
		if len(spans) != 1 || spans[0] != (span{0, 1440}) {
			s.allWeek = false
		}
	}
	for _, h := range spec.Holidays {
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(h))
		if err != nil {
			return nil, &ParseError{"holidays", fmt.Sprintf("%q: want a date YYYY-MM-DD", h)}
		}
		if s.holidays == nil {
			s.holidays = map[date]bool{}
		}
		y, m, d := t.Date()
		s.holidays[date{y, m, d}] = true
	}
	return s, nil
}

// parseEntry reads "mon-fri 09:00-18:00"; a non-empty msg says what is wrong.
func parseEntry(entry string) (days []time.Weekday, sp span, msg string) {
	f := strings.Fields(strings.ToLower(entry))
	if len(f) != 2 {
		return nil, span{}, "want <days> HH:MM-HH:MM, e.g. mon-fri 09:00-18:00"
	}
	switch first, last, isRange := strings.Cut(f[0], "-"); {
	case f[0] == "daily":
		days = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	case !isRange:
		wd, ok := dayNames[first]
		if !ok {
			return nil, span{}, fmt.Sprintf("unknown day %q: want mon..sun, a range mon-fri or daily", first)
		}
		days = []time.Weekday{wd}
	default:
		a, okA := dayNames[first]
		b, okB := dayNames[last]
		if !okA || !okB {
			return nil, span{}, fmt.Sprintf("unknown days %q: want mon..sun, a range mon-fri or daily", f[0])
		}
		// Monday-first: Sunday is the last day of the week.
		ia, ib := (int(a)+6)%7, (int(b)+6)%7
		if ia > ib {
			return nil, span{}, fmt.Sprintf("days %q run backwards: a range goes forward from mon to sun", f[0])
		}
		for i := ia; i <= ib; i++ {
			days = append(days, time.Weekday((i+1)%7))
		}
	}
	from, to, ok := strings.Cut(f[1], "-")
	if !ok {
		return nil, span{}, "want HH:MM-HH:MM"
	}
	start, okS := clock(from)
	end, okE := clock(to)
	if !okS || !okE || start == 1440 {
		return nil, span{}, "want HH:MM-HH:MM"
	}
	if end <= start {
		return nil, span{}, "end must be after start (for a night shift write two entries, e.g. mon 22:00-24:00, tue 00:00-06:00)"
	}
	return days, span{start, end}, ""
}

// clock reads "HH:MM" (00:00 to 24:00) as minutes after midnight.
func clock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// merge sorts spans and joins those that overlap or touch.
func merge(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var out []span
	for _, sp := range spans {
		if n := len(out); n > 0 && sp.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

func (s *Schedule) orAlways() *Schedule {
	if s == nil || s.loc == nil {
		return always
	}
	return s
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.orAlways().loc }

// realTime is true when working time is simply elapsed time.
func (s *Schedule) realTime() bool { return s.allWeek && len(s.holidays) == 0 }

// civil is the local date of t in the schedule's zone, as midnight UTC:
// days are counted with AddDate on it, which no zone's clock changes touch.
func (s *Schedule) civil(t time.Time) time.Time {
	y, m, d := t.In(s.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// day appends to buf the working intervals of the local date c (a civil
// date, see civil), sorted and disjoint.
func (s *Schedule) day(c time.Time, buf []interval) []interval {
	y, m, d := c.Date()
	if s.holidays[date{y, m, d}] {
		return buf
	}
	wd := c.Weekday()
	var prevEnd time.Time
	for _, sp := range s.week[wd] {
		// Minutes past midnight normalise like hours and minutes would,
		// and 1440 is the next midnight.
		start := time.Date(y, m, d, 0, sp.start, 0, 0, s.loc)
		end := time.Date(y, m, d, 0, sp.end, 0, 0, s.loc)
		// A skipped hour can move a start back before the previous
		// span's end; never count that time twice.
		if start.Before(prevEnd) {
			start = prevEnd
		}
		if !end.After(start) {
			continue
		}
		buf = append(buf, interval{start, end})
		prevEnd = end
	}
	return buf
}

// Add returns the instant at which d of working time has passed, counting
// from `from`. d<=0 returns from. If from is outside working hours, counting
// starts at the next opening. When d runs out exactly at a closing time,
// that closing time is the answer (not the next opening). The result is in
// from's location. If no working time is found within 400 days after the
// last working day, Add returns Never().
//
// The cost is linear in the calendar days covered: 30 days of working time
// on a 5-day week is about 150 days.
func (s *Schedule) Add(from time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return from
	}
	s = s.orAlways()
	if s.realTime() {
		return from.Add(d)
	}
	var buf [8]interval
	idle := 0
	for c := s.civil(from); ; c = c.AddDate(0, 0, 1) {
		ivs := s.day(c, buf[:0])
		if len(ivs) == 0 {
			if idle++; idle > maxIdleDays {
				return never
			}
			continue
		}
		idle = 0
		for _, iv := range ivs {
			start := iv.start
			if start.Before(from) {
				start = from
			}
			if !iv.end.After(start) {
				continue
			}
			if avail := iv.end.Sub(start); d > avail {
				d -= avail
				continue
			}
			return start.Add(d).In(from.Location())
		}
	}
}

// Between returns the working time in [from, to) (0 if to <= from). The
// cost is linear in the calendar days between them. Instants further apart
// than a Duration holds (about 292 years, e.g. to is Never()) give the
// largest Duration, as time.Time.Sub does, without counting.
func (s *Schedule) Between(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	s = s.orAlways()
	if elapsed := to.Sub(from); s.realTime() || elapsed == math.MaxInt64 {
		return elapsed
	}
	last := s.civil(to)
	var buf [8]interval
	var total time.Duration
	for c := s.civil(from); !c.After(last); c = c.AddDate(0, 0, 1) {
		for _, iv := range s.day(c, buf[:0]) {
			start, end := iv.start, iv.end
			if start.Before(from) {
				start = from
			}
			if end.After(to) {
				end = to
			}
			if end.After(start) {
				total += end.Sub(start)
			}
		}
	}
	return total
}

// Open reports whether t is within working hours.
func (s *Schedule) Open(t time.Time) bool {
	s = s.orAlways()
	if s.realTime() {
		return true
	}
	var buf [8]interval
	for _, iv := range s.day(s.civil(t), buf[:0]) {
		if !t.Before(iv.start) && t.Before(iv.end) {
			return true
		}
	}
	return false
}
