package workhours

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func mustParse(t testing.TB, s Spec) *Schedule {
	t.Helper()
	sc, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%+v): %v", s, err)
	}
	return sc
}

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at reads "2027-03-05 17:50" on the wall clock of loc.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Calendar used below: 2027-02-26 and 2027-03-05 are Fridays, 2027-03-08 a
// Monday (a holiday in Moscow). Europe/Berlin goes to summer time on Sunday
// 2027-03-28 and back on Sunday 2027-10-31; America/New_York on Sunday
// 2027-03-14.

func TestAdd(t *testing.T) {
	msk := zone(t, "Europe/Moscow")
	office := mustParse(t, Spec{TimeZone: "Europe/Moscow", Hours: "mon-fri 09:00-18:00", Holidays: []string{"2027-03-08"}})
	split := mustParse(t, Spec{TimeZone: "Europe/Moscow", Hours: "mon-fri 09:00-13:00, mon-fri 14:00-18:00"})
	overlap := mustParse(t, Spec{TimeZone: "Europe/Moscow", Hours: "mon-fri 09:00-13:00, mon 12:00-15:00"})
	saturday := mustParse(t, Spec{TimeZone: "Europe/Moscow", Hours: "mon-fri 09:00-18:00, sat 10:00-14:00"})
	tests := []struct {
		name     string
		s        *Schedule
		from     string
		d        time.Duration
		want     string
		wantSame bool // want is from itself
	}{
		{"across a weekend", office, "2027-02-26 17:50", 15 * time.Minute, "2027-03-01 09:05", false},
		{"across a weekend and a holiday", office, "2027-03-05 17:50", 15 * time.Minute, "2027-03-09 09:05", false},
		{"from inside a holiday", office, "2027-03-08 10:00", time.Hour, "2027-03-09 10:00", false},
		{"before opening", office, "2027-03-02 07:00", 15 * time.Minute, "2027-03-02 09:15", false},
		{"after closing", office, "2027-03-02 19:00", 15 * time.Minute, "2027-03-03 09:15", false},
		{"exactly at opening", office, "2027-03-02 09:00", 15 * time.Minute, "2027-03-02 09:15", false},
		{"exactly at closing", office, "2027-03-02 18:00", 15 * time.Minute, "2027-03-03 09:15", false},
		{"ends exactly at closing", office, "2027-03-02 17:45", 15 * time.Minute, "2027-03-02 18:00", false},
		{"a whole week", office, "2027-03-01 09:00", 45 * time.Hour, "2027-03-05 18:00", false},
		{"a week and a minute", office, "2027-03-01 09:00", 45*time.Hour + time.Minute, "2027-03-09 09:01", false},
		{"zero on a closed day", office, "2027-03-06 12:00", 0, "", true},
		{"negative", office, "2027-03-02 12:00", -time.Hour, "", true},
		{"over lunch", split, "2027-03-02 12:50", 15 * time.Minute, "2027-03-02 14:05", false},
		{"during lunch", split, "2027-03-02 13:30", 15 * time.Minute, "2027-03-02 14:15", false},
		{"at lunch", split, "2027-03-02 13:00", time.Minute, "2027-03-02 14:01", false},
		{"a split day", split, "2027-03-02 09:00", 8 * time.Hour, "2027-03-02 18:00", false},
		{"past a split day", split, "2027-03-02 09:00", 8*time.Hour + time.Minute, "2027-03-03 09:01", false},
		{"merged overlap", overlap, "2027-03-01 09:00", 6 * time.Hour, "2027-03-01 15:00", false},
		{"unmerged day", overlap, "2027-03-02 09:00", 4*time.Hour + time.Minute, "2027-03-03 09:01", false},
		{"into saturday", saturday, "2027-02-26 17:50", 15 * time.Minute, "2027-02-27 10:05", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := at(t, msk, tt.from)
			want := from
			if !tt.wantSame {
				want = at(t, msk, tt.want)
			}
			got := tt.s.Add(from, tt.d)
			if !got.Equal(want) {
				t.Fatalf("Add(%s, %v) = %s, want %s", tt.from, tt.d, got.In(msk), want)
			}
			if tt.d > 0 {
				if b := tt.s.Between(from, got); b != tt.d {
					t.Errorf("Between(from, Add) = %v, want %v", b, tt.d)
				}
			}
		})
	}
}

func TestAddDST(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	day := mustParse(t, Spec{TimeZone: "Europe/Berlin", Hours: "daily 09:00-18:00"})
	// A holiday keeps the 24/7 schedule off its elapsed-time shortcut, so
	// the day-by-day path is what is tested.
	allDay := mustParse(t, Spec{TimeZone: "Europe/Berlin", Holidays: []string{"2027-12-25"}})
	night := mustParse(t, Spec{TimeZone: "Europe/Berlin", Hours: "daily 01:00-04:00"})
	skipped := mustParse(t, Spec{TimeZone: "Europe/Berlin", Hours: "daily 02:30-05:00"})
	shuffled := mustParse(t, Spec{TimeZone: "Europe/Berlin", Hours: "daily 00:30-02:10, daily 02:20-02:40, daily 03:00-04:00"})
	tests := []struct {
		name string
		s    *Schedule
		from string
		d    time.Duration
		want string
	}{
		{"spring: office day is 9h of wall time", day, "2027-03-28 09:00", 9 * time.Hour, "2027-03-28 18:00"},
		{"spring: into the day after", day, "2027-03-27 17:50", 15 * time.Minute, "2027-03-28 09:05"},
		{"autumn: office day is 9h of wall time", day, "2027-10-31 09:00", 9 * time.Hour, "2027-10-31 18:00"},
		{"spring: the day is 23h", allDay, "2027-03-28 00:00", 23 * time.Hour, "2027-03-29 00:00"},
		{"spring: 24h run into the next day", allDay, "2027-03-28 00:00", 24 * time.Hour, "2027-03-29 01:00"},
		{"autumn: the day is 25h", allDay, "2027-10-31 00:00", 25 * time.Hour, "2027-11-01 00:00"},
		{"spring: 01:00-04:00 is 2h", night, "2027-03-28 01:00", 2 * time.Hour, "2027-03-28 04:00"},
		{"spring: 01:00-04:00 is no more", night, "2027-03-28 01:00", 2*time.Hour + time.Minute, "2027-03-29 01:01"},
		{"autumn: 01:00-04:00 is 4h", night, "2027-10-31 01:00", 4 * time.Hour, "2027-10-31 04:00"},
		{"spring: a skipped start opens at 03:30", skipped, "2027-03-28 00:00", time.Minute, "2027-03-28 03:31"},
		{"spring: a skipped start leaves 1h30", skipped, "2027-03-28 00:00", 90*time.Minute + time.Minute, "2027-03-29 02:31"},
		{"an ordinary day", skipped, "2027-03-27 00:00", 150 * time.Minute, "2027-03-27 05:00"},
		// 02:10, 02:20 and 02:40 are read as 03:10, 03:20 and 03:40 summer
		// time, after 03:00: the third span starts where the second ended,
		// and the day holds 100+20+20 minutes.
		{"spring: spans the skipped hour reorders", shuffled, "2027-03-28 00:00", 140 * time.Minute, "2027-03-28 04:00"},
		{"spring: ...and not a minute more", shuffled, "2027-03-28 00:00", 141 * time.Minute, "2027-03-29 00:31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := at(t, berlin, tt.from)
			got := tt.s.Add(from, tt.d)
			if want := at(t, berlin, tt.want); !got.Equal(want) {
				t.Fatalf("Add(%s, %v) = %s, want %s", tt.from, tt.d, got.In(berlin), want)
			}
			if b := tt.s.Between(from, got); b != tt.d {
				t.Errorf("Between(from, Add) = %v, want %v", b, tt.d)
			}
		})
	}
}

func TestOtherZoneThanInput(t *testing.T) {
	ny, berlin := zone(t, "America/New_York"), zone(t, "Europe/Berlin")
	tests := []struct {
		name           string
		s              *Schedule
		from           time.Time
		want           time.Time
		loc            *time.Location
		fromTZ, wantTZ string
	}{
		{
			// 02:50 in New York is 08:50 in Berlin, ten minutes before opening.
			name: "New York time, Berlin office",
			s:    mustParse(t, Spec{TimeZone: "Europe/Berlin", Hours: "mon-fri 09:00-18:00"}),
			from: at(t, ny, "2027-03-03 02:50"), want: at(t, ny, "2027-03-03 03:15"), loc: ny,
		},
		{
			// Friday 23:50 in Berlin is 17:50 in New York; New York moves
			// its clocks on Sunday, so Monday 09:05 there is 14:05 in Berlin.
			name: "Berlin time, New York office, across New York's DST change",
			s:    mustParse(t, Spec{TimeZone: "America/New_York", Hours: "mon-fri 09:00-18:00"}),
			from: at(t, berlin, "2027-03-12 23:50"), want: at(t, berlin, "2027-03-15 14:05"), loc: berlin,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.Add(tt.from, 15*time.Minute)
			if !got.Equal(tt.want) {
				t.Fatalf("Add = %s, want %s", got, tt.want)
			}
			if got.Location() != tt.loc {
				t.Errorf("Add returned a time in %v, want the input's %v", got.Location(), tt.loc)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	msk := zone(t, "Europe/Moscow")
	office := mustParse(t, Spec{TimeZone: "Europe/Moscow", Hours: "mon-fri 09:00-18:00, mon-fri 19:00-24:00", Holidays: []string{"2027-03-08"}})
	skipped := mustParse(t, Spec{TimeZone: "Europe/Berlin", Hours: "daily 02:30-05:00"})
	berlin := zone(t, "Europe/Berlin")
	tests := []struct {
		s    *Schedule
		t    time.Time
		want bool
	}{
		{office, at(t, msk, "2027-03-02 08:59").Add(59 * time.Second), false},
		{office, at(t, msk, "2027-03-02 09:00"), true},
		{office, at(t, msk, "2027-03-02 17:59").Add(59 * time.Second), true},
		{office, at(t, msk, "2027-03-02 18:00"), false},
		{office, at(t, msk, "2027-03-02 23:59"), true},
		{office, at(t, msk, "2027-03-03 00:00"), false},
		{office, at(t, msk, "2027-03-06 12:00"), false}, // Saturday
		{office, at(t, msk, "2027-03-08 12:00"), false}, // holiday
		{office, at(t, msk, "2027-03-02 09:00").UTC(), true},
		{skipped, at(t, berlin, "2027-03-28 03:00"), false},
		{skipped, at(t, berlin, "2027-03-28 03:30"), true},
		{skipped, at(t, berlin, "2027-03-27 02:30"), true},
	}
	for _, tt := range tests {
		if got := tt.s.Open(tt.t); got != tt.want {
			t.Errorf("Open(%s) = %v, want %v", tt.t, got, tt.want)
		}
	}
}

func TestAlways(t *testing.T) {
	from := time.Date(2027, 3, 28, 1, 30, 0, 0, zone(t, "Europe/Berlin"))
	for name, s := range map[string]*Schedule{
		"Always":      Always(),
		"nil":         nil,
		"zero value":  {},
		"empty spec":  mustParse(t, Spec{}),
		"24/7 Berlin": mustParse(t, Spec{TimeZone: "Europe/Berlin", Hours: "daily 00:00-24:00"}),
		"merged":      mustParse(t, Spec{Hours: "daily 00:00-12:00, daily 12:00-24:00, sat 10:00-14:00"}),
	} {
		t.Run(name, func(t *testing.T) {
			if got := s.Add(from, 30*24*time.Hour); !got.Equal(from.Add(30 * 24 * time.Hour)) {
				t.Errorf("Add = %s", got)
			}
			if got := s.Between(from, from.Add(5*time.Hour)); got != 5*time.Hour {
				t.Errorf("Between = %v", got)
			}
			if !s.Open(from) {
				t.Error("not open")
			}
		})
	}
	if Always().Location() != time.UTC {
		t.Errorf("Always is in %v, want UTC", Always().Location())
	}
}

func TestBetween(t *testing.T) {
	msk := zone(t, "Europe/Moscow")
	office := mustParse(t, Spec{TimeZone: "Europe/Moscow", Hours: "mon-fri 09:00-18:00", Holidays: []string{"2027-03-08"}})
	tests := []struct {
		from, to string
		want     time.Duration
	}{
		{"2027-03-02 10:00", "2027-03-02 09:00", 0},
		{"2027-03-02 10:00", "2027-03-02 10:00", 0},
		{"2027-03-02 10:00", "2027-03-02 11:30", 90 * time.Minute},
		{"2027-03-02 07:00", "2027-03-02 20:00", 9 * time.Hour},
		{"2027-03-05 17:00", "2027-03-09 10:00", 2 * time.Hour},
		{"2027-03-06 00:00", "2027-03-08 23:59", 0},
		{"2027-03-01 00:00", "2027-04-01 00:00", 22 * 9 * time.Hour}, // 23 weekdays in March 2027, one a holiday
	}
	for _, tt := range tests {
		if got := office.Between(at(t, msk, tt.from), at(t, msk, tt.to)); got != tt.want {
			t.Errorf("Between(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

// TestAddBetweenAgree checks on many random inputs that Between undoes Add,
// that the instant just before Add's answer is working time, and that
// Between adds up over a split range.
func TestAddBetweenAgree(t *testing.T) {
	schedules := map[string]*Schedule{
		"berlin office": mustParse(t, Spec{TimeZone: "Europe/Berlin", Hours: "mon-fri 09:00-13:00, mon-fri 14:00-18:00, sat 10:00-14:00",
			Holidays: []string{"2027-01-01", "2027-03-29", "2027-05-01", "2027-10-29", "2027-12-24", "2027-12-25"}}),
		"new york":      mustParse(t, Spec{TimeZone: "America/New_York", Hours: "mon-fri 08:30-17:30"}),
		"berlin nights": mustParse(t, Spec{TimeZone: "Europe/Berlin", Hours: "daily 00:30-02:10, daily 02:20-02:40, daily 03:00-04:00"}),
		"berlin 24/7":   mustParse(t, Spec{TimeZone: "Europe/Berlin", Holidays: []string{"2027-06-01"}}),
		"sydney sunday": mustParse(t, Spec{TimeZone: "Australia/Sydney", Hours: "sun 00:00-24:00"}),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, s := range schedules {
		t.Run(name, func(t *testing.T) {
			for range 2000 {
				from := start.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
				var d time.Duration
				switch rng.IntN(3) {
				case 0:
					d = time.Duration(rng.Int64N(int64(time.Hour))) + 1
				case 1:
					d = time.Duration(rng.Int64N(int64(48 * time.Hour)))
				default:
					d = time.Duration(rng.Int64N(int64(30 * 24 * time.Hour)))
				}
				got := s.Add(from, d)
				if b := s.Between(from, got); b != max(d, 0) {
					t.Fatalf("from %s, d %v: Add = %s, Between(from, Add) = %v", from, d, got, b)
				}
				if d > 0 && !s.Open(got.Add(-1)) {
					t.Fatalf("from %s, d %v: Add = %s, but the instant before it is closed", from, d, got)
				}
				mid := from.Add(time.Duration(rng.Int64N(int64(got.Sub(from)) + 1)))
				if a, b := s.Between(from, mid), s.Between(mid, got); a+b != max(d, 0) {
					t.Fatalf("from %s, mid %s, to %s: %v + %v != %v", from, mid, got, a, b, d)
				}
			}
		})
	}
}

func TestNever(t *testing.T) {
	// Holidays alone can close a schedule for good: more than 400 days
	// of them in a row.
	var hs []string
	for d := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2029; d = d.AddDate(0, 0, 1) {
		hs = append(hs, d.Format(time.DateOnly))
	}
	s := mustParse(t, Spec{Hours: "mon-fri 09:00-18:00", Holidays: hs})
	from := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := s.Add(from, time.Minute); !got.Equal(Never()) {
		t.Fatalf("Add = %s, want Never", got)
	}
	if got := s.Between(from, Never()); got != math.MaxInt64 {
		t.Errorf("Between(from, Never()) = %v, want the largest Duration", got)
	}
	// A year of holidays is still within reach.
	s = mustParse(t, Spec{Hours: "mon-fri 09:00-18:00", Holidays: hs[:365]})
	if got, want := s.Add(from, time.Minute), time.Date(2028, 1, 3, 9, 1, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("Add = %s, want %s", got, want)
	}
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		hours string
		open  map[time.Weekday][]span
	}{
		{"Mon-Fri 09:00-18:00", map[time.Weekday][]span{1: {{540, 1080}}, 5: {{540, 1080}}, 6: nil, 0: nil}},
		{"sat-sun 10:00-24:00", map[time.Weekday][]span{6: {{600, 1440}}, 0: {{600, 1440}}, 5: nil}},
		{"daily 00:00-01:00", map[time.Weekday][]span{0: {{0, 60}}, 3: {{0, 60}}}},
		{" wed 14:00-18:00 ,wed 09:00-13:00 ", map[time.Weekday][]span{3: {{540, 780}, {840, 1080}}}},
		{"mon 09:00-12:00, mon 11:00-13:00, mon 13:00-14:00", map[time.Weekday][]span{1: {{540, 840}}}},
	} {
		s := mustParse(t, Spec{Hours: tt.hours})
		for wd, want := range tt.open {
			got := s.week[wd]
			if len(got) != len(want) || (len(want) > 0 && !equalSpans(got, want)) {
				t.Errorf("%q: %v = %v, want %v", tt.hours, wd, got, want)
			}
		}
	}
}

func equalSpans(a, b []span) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		spec Spec
		part string
		want string
	}{
		{Spec{TimeZone: "Mars/Base"}, "time_zone", `time_zone: unknown time zone "Mars/Base"`},
		{Spec{TimeZone: "Local"}, "time_zone", `time_zone: "Local": want an IANA name`},
		{Spec{Hours: "mon-fri 9-18"}, "hours", `hours: "mon-fri 9-18": want HH:MM-HH:MM`},
		{Spec{Hours: "mon-fri 09:00"}, "hours", `hours: "mon-fri 09:00": want HH:MM-HH:MM`},
		{Spec{Hours: "mon-fri"}, "hours", `hours: "mon-fri": want <days> HH:MM-HH:MM`},
		{Spec{Hours: "mon-fri 09:00-18:00,"}, "hours", `hours: "": want <days>`},
		{Spec{Hours: "mon 22:00-06:00"}, "hours", `hours: "mon 22:00-06:00": end must be after start`},
		{Spec{Hours: "mon 09:00-09:00"}, "hours", "end must be after start"},
		{Spec{Hours: "fri-mon 09:00-18:00"}, "hours", `days "fri-mon" run backwards`},
		{Spec{Hours: "funday 09:00-18:00"}, "hours", `unknown day "funday"`},
		{Spec{Hours: "mon-xyz 09:00-18:00"}, "hours", `unknown days "mon-xyz"`},
		{Spec{Hours: "mon 24:00-24:00"}, "hours", "want HH:MM-HH:MM"},
		{Spec{Hours: "mon 09:00-24:01"}, "hours", "want HH:MM-HH:MM"},
		{Spec{Hours: "mon 09:60-10:00"}, "hours", "want HH:MM-HH:MM"},
		{Spec{Hours: "mon 25:00-26:00"}, "hours", "want HH:MM-HH:MM"},
		{Spec{Holidays: []string{"2027-01-01", "2027-13-01"}}, "holidays", `holidays: "2027-13-01": want a date YYYY-MM-DD`},
		{Spec{Holidays: []string{"01.01.2027"}}, "holidays", `holidays: "01.01.2027"`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.spec)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Part != tt.part || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%+v) = %v, want a %s error saying %q", tt.spec, err, tt.part, tt.want)
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	s := mustParse(b, Spec{TimeZone: "Europe/Berlin", Hours: "mon-fri 09:00-13:00, mon-fri 14:00-18:00",
		Holidays: []string{"2027-01-01", "2027-05-01", "2027-12-25"}})
	from := time.Date(2027, 3, 5, 16, 50, 0, 0, time.UTC)
	for _, d := range []time.Duration{15 * time.Minute, 30 * 24 * time.Hour} {
		b.Run(d.String(), func(b *testing.B) {
			for b.Loop() {
				s.Add(from, d)
			}
		})
	}
}
