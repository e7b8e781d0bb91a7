package store

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// FuzzCursor: a list's cursor comes back from the caller, who may send
// anything. Parsing never panics, rejects garbage as EINVALID only, and
// whatever it accepts encodes back to a cursor that parses to the same
// position.
func FuzzCursor(f *testing.F) {
	at := time.Date(2026, 3, 2, 9, 15, 0, 123456000, time.UTC)
	for _, seed := range []string{
		"", activityCursor{at: at, id: 42}.String(), idCursor(1), idCursor(1 << 40),
		"MTc3MjQ0MjkwMDEyMzQ1Ni40Mg", "!!", "x", encodeCursor("1.x"), encodeCursor("-5"),
		encodeCursor("-62135596800000000.1"), encodeCursor("9223372036854775807.9223372036854775807"),
		"MTc3MjQ0MjkwMDEyMzQ1Ni40Mg==", "MTc3MjQ0MjkwMDEyMzQ1Ni40Mg%3D%3D",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := parseActivityCursor(s); err != nil {
			if inbox.ErrorCode(err) != inbox.EINVALID {
				t.Fatalf("activity cursor %q: %v is not EINVALID", s, err)
			}
		} else if s != "" {
			again, err := parseActivityCursor(c.String())
			if err != nil || again != c {
				t.Fatalf("activity cursor %q parsed to %v, which re-encodes to %q and parses to %v (%v)", s, c, c.String(), again, err)
			}
		}
		if id, err := parseIDCursor(s); err != nil {
			if inbox.ErrorCode(err) != inbox.EINVALID {
				t.Fatalf("id cursor %q: %v is not EINVALID", s, err)
			}
		} else if s != "" {
			if id <= 0 {
				t.Fatalf("id cursor %q gave id %d", s, id)
			}
			if again, err := parseIDCursor(idCursor(id)); err != nil || again != id {
				t.Fatalf("id cursor %q: %d does not round-trip (%d, %v)", s, id, again, err)
			}
		}
	})
}

// FuzzImportCSV: an uploaded CSV file is untrusted. Parsing never panics,
// fails only with client errors, and every row it keeps carries a usable
// identity within the limits.
func FuzzImportCSV(f *testing.F) {
	for _, seed := range []string{
		"\ufeffФИО;Телефон;Почта;Теги;Заметки;Компания\nИван Петров;8 (912) 345-67-89;IVAN@example.com;vip, опт;звонить утром;ООО Ромашка\n",
		"name,phone,email\nAnna,+7 912 000 00 01,anna@example.com\n\"Multi\nline\",89120000003,\n",
		"Фамилия;Имя;Отчество;Мобильный\nПетров;Иван;Сергеевич;+79123456789\n",
		"name\tphone\nTab;bed\t89120000004\n",
		"\xd4\xc8\xce;\xd2\xe5\xeb\xe5\xf4\xee\xed\n\xc8\xe2\xe0\xed;89123456789\n", // Windows-1251
		"phone\n=cmd|' /C calc'!A0\n",
		"email\n\"unterminated\n",
		"", "\n\n", "a;b\n1;2\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, rejected, err := parseImport(bytes.NewReader(data), inbox.ImportOptions{Region: inbox.DefaultRegion, MaxBytes: 1 << 20})
		if err != nil {
			switch inbox.ErrorCode(err) {
			case inbox.EINVALID, inbox.ETOOLARGE:
			default:
				t.Fatalf("error %v is not a client error", err)
			}
			return
		}
		for _, r := range rejected {
			if r.Outcome != inbox.ImportRejected || r.Reason == "" || r.Line <= 0 {
				t.Fatalf("rejected row %+v", r)
			}
		}
		for _, r := range rows {
			if len(r.contact.Identities) == 0 {
				t.Fatalf("kept a row without an identity: %+v", r)
			}
			for _, id := range r.contact.Identities {
				if id.Value == "" || len(id.Value) > inbox.MaxIdentityLen || strings.ContainsRune(id.Value, 0) {
					t.Fatalf("kept identity %+v", id)
				}
			}
		}
	})
}
