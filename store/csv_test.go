package store_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
)

func importCSV(t *testing.T, s *store.Store, data string, opts inbox.ImportOptions) inbox.ImportReport {
	t.Helper()
	rep, _, err := s.ImportClients(ctxT(t), strings.NewReader(data), opts)
	if err != nil {
		t.Fatalf("ImportClients: %v", err)
	}
	if rep.Imported+rep.Merged+rep.Rejected != len(rep.Rows) {
		t.Errorf("report counts %d+%d+%d do not add up to %d rows", rep.Imported, rep.Merged, rep.Rejected, len(rep.Rows))
	}
	return rep
}

func clientByPhone(t *testing.T, s *store.Store, p string) inbox.ClientDetail {
	t.Helper()
	got, _, err := s.ListClients(ctxT(t), p, "", 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("ListClients(%q) = %d cards, %v", p, len(got), err)
	}
	return getClient(t, s, got[0].ID)
}

func testImportCSV(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	op := operator(t, s, "import@example.com")
	known := cardOf(t, s, envelope("k1", "mail", "Известный", "x", email("known@example.com")))
	a := cardOf(t, s, envelope("k2", "site", "A", "x", phone("+79150000001")))
	b := cardOf(t, s, envelope("k3", "mail", "B", "x", email("b@example.com")))
	long := strings.Repeat("a", 321) + "@example.com"
	data := "\ufeffФИО;Телефон;Почта;Теги;Заметки;Компания;Откуда\n" + // line 1
		"Иван Петров;8 (912) 345-67-89;IVAN@example.com;vip, опт;звонить утром;ООО Ромашка;выставка\n" + // 2 imported
		"Пётр;+7 912 000 00 01, 8 (495) 123-45-67;;;;;\n" + // 3 imported, two phones
		"Сломанная строка;89120000002\n" + // 4 rejected: fields
		"Без контактов;;;;;;\n" + // 5 rejected: nothing to match
		"Иван П.;9123456789;;клиент;;;\n" + // 6 merged into line 2's card
		"Кривой;call me;;;;;\n" + // 7 rejected: no valid identity
		"Длинный;;" + long + ";;;;\n" + // 8 rejected: identity too long
		"Существующий;;known@example.com;;;;\n" + // 9 merged into a filed card
		"\"Многострочный\";89120000003;;;\"первая строка\nвторая\";;\n" + // 10-11 imported
		"Смешанный;89120000004;known@example.com;;;;\n" + // 12 merged: the free phone joins the known card
		"Двойной;8 915 000-00-01;b@example.com;;;;\n" + // 13 merged into A, suggests B
		"Иван \"Ваня\" Сидоров;89120000005;not-an-email;;;;\n" + // 14 rejected: bad email
		"Вера;89120000006 доб. 12, позвонить;;;;;\n" + // 15 imported, the note-like text kept raw
		";;;;;;\n" + // blank row: skipped
		"\n"
	rep := importCSV(t, s, data, inbox.ImportOptions{OperatorID: op.ID})
	type want struct {
		outcome string
		reason  string
	}
	wants := map[int]want{
		2: {inbox.ImportImported, ""}, 3: {inbox.ImportImported, ""}, 4: {inbox.ImportRejected, "the row has 2 fields, the header 7"},
		5: {inbox.ImportRejected, "no phone, email, telegram or vk id"}, 6: {inbox.ImportMerged, ""},
		7: {inbox.ImportRejected, `no valid phone or email ("call me" is not a phone number)`},
		8: {inbox.ImportRejected, "email is longer than 320 characters"}, 9: {inbox.ImportMerged, ""},
		10: {inbox.ImportImported, ""}, 12: {inbox.ImportMerged, ""}, 13: {inbox.ImportMerged, ""},
		14: {inbox.ImportRejected, `email "not-an-email" is not an address`}, 15: {inbox.ImportImported, ""},
	}
	if len(rep.Rows) != len(wants) {
		t.Errorf("report has %d rows, want %d: %+v", len(rep.Rows), len(wants), rep.Rows)
	}
	for _, r := range rep.Rows {
		w, ok := wants[r.Line]
		if !ok || r.Outcome != w.outcome || r.Reason != w.reason {
			t.Errorf("line %d: %s %q, want %s %q", r.Line, r.Outcome, r.Reason, w.outcome, w.reason)
		}
		if r.Outcome != inbox.ImportRejected && r.ClientID == 0 {
			t.Errorf("line %d: no client id", r.Line)
		}
	}
	if rep.Imported != 4 || rep.Merged != 4 || rep.Rejected != 5 {
		t.Errorf("counts = %d/%d/%d, want 4 imported, 4 merged, 5 rejected", rep.Imported, rep.Merged, rep.Rejected)
	}
	lineClient := make(map[int]int64)
	for _, r := range rep.Rows {
		lineClient[r.Line] = r.ClientID
	}

	ivan := clientByPhone(t, s, "+79123456789")
	if ivan.ID != lineClient[2] || lineClient[6] != ivan.ID || ivan.Name != "Иван Петров" || ivan.Company != "ООО Ромашка" ||
		!slices.Equal(ivan.Tags, []string{"vip", "клиент", "опт"}) || len(ivan.Notes) != 1 || ivan.Notes[0].Text != "звонить утром" ||
		ivan.Notes[0].AuthorID == nil || *ivan.Notes[0].AuthorID != op.ID {
		t.Errorf("Иван's card = %+v", ivan)
	}
	if want := []inbox.Identity{phone("+79123456789"), email("ivan@example.com")}; !slices.Equal(ivan.Identities, want) {
		t.Errorf("Иван's identities = %v, want %v", ivan.Identities, want)
	}
	if petr := clientByPhone(t, s, "+74951234567"); len(petr.Identities) != 2 || petr.ID != lineClient[3] {
		t.Errorf("Пётр's card = %+v", petr)
	}
	if multi := getClient(t, s, lineClient[10]); len(multi.Notes) != 1 || multi.Notes[0].Text != "первая строка\nвторая" {
		t.Errorf("multi-line note = %+v", multi.Notes)
	}
	kd := getClient(t, s, known.ClientID)
	if lineClient[9] != known.ClientID || lineClient[12] != known.ClientID || kd.Name != "Известный" || len(kd.Identities) != 2 {
		t.Errorf("known card = %+v (lines 9, 12 → %d, %d)", kd.Client, lineClient[9], lineClient[12])
	}
	if lineClient[13] != a.ClientID {
		t.Errorf("line 13 went to %d, want A %d", lineClient[13], a.ClientID)
	}
	if got, _, _ := s.ListDuplicates(ctx, b.ClientID, "", 0); len(got) != 1 || got[0].ClientID != a.ClientID {
		t.Errorf("suggestions of B after import = %+v", got)
	}
	if vera := getClient(t, s, lineClient[15]); !slices.Equal(vera.RawPhones, []string{"позвонить"}) || len(vera.Identities) != 1 {
		t.Errorf("Вера = %v raw %q", vera.Identities, vera.RawPhones)
	}
	if got := auditActions(t, s, 0); !slices.Contains(got, "client.import") {
		t.Errorf("no audit entry for the import: %v", got)
	}

	// Importing the same file again imports nothing new.
	again := importCSV(t, s, data, inbox.ImportOptions{OperatorID: op.ID})
	if again.Imported != 0 || again.Merged != 8 || again.Rejected != 5 {
		t.Errorf("second import = %d/%d/%d, want 0 imported", again.Imported, again.Merged, again.Rejected)
	}
}

func testImportCSVDialects(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	// Excel's Russian default: Windows-1251, and here commas.
	win, err := charmap.Windows1251.NewEncoder().String("Имя,Телефон,E-mail\nОльга,+7 912 111-22-33,olga@example.com\n")
	if err != nil {
		t.Fatal(err)
	}
	rep := importCSV(t, s, win, inbox.ImportOptions{})
	if rep.Imported != 1 {
		t.Fatalf("Windows-1251 import = %+v", rep)
	}
	if olga := clientByPhone(t, s, "+79121112233"); olga.Name != "Ольга" || len(olga.Identities) != 2 {
		t.Errorf("Ольга = %+v", olga.Client)
	}
	// Tabs; surname, first name and patronymic in their own columns; a
	// phone in another region.
	rep = importCSV(t, s, "Фамилия\tИмя\tОтчество\tМобильный телефон\nИванов\tИван\tИванович\t(415) 555-2671\n",
		inbox.ImportOptions{Region: "US"})
	if rep.Imported != 1 {
		t.Fatalf("tab import = %+v", rep)
	}
	if c := clientByPhone(t, s, "+14155552671"); c.Name != "Иванов Иван Иванович" {
		t.Errorf("composed name = %q", c.Name)
	}
	// A quote left open swallows the rest of the file into one row, which
	// is then rejected with its line; the rows before it are imported.
	rep = importCSV(t, s, "name,phone\nA,+79160000001\n\"B,+79160000002\nC,+79160000003\n", inbox.ImportOptions{})
	if rep.Imported != 1 || rep.Rejected != 1 || rep.Rows[1].Line != 3 {
		t.Errorf("unterminated quote: %+v", rep)
	}

	for _, bad := range []struct {
		name, data, code string
	}{
		{"no identity column", "name;company\nA;B\n", inbox.EINVALID},
		{"empty file", "", inbox.EINVALID},
	} {
		_, _, err := s.ImportClients(ctx, strings.NewReader(bad.data), inbox.ImportOptions{})
		wantCode(t, bad.name, err, bad.code)
	}
	_, _, err = s.ImportClients(ctx, strings.NewReader("phone\n"+strings.Repeat("89160000000\n", 100)), inbox.ImportOptions{MaxBytes: 100})
	wantCode(t, "too large", err, inbox.ETOOLARGE)
}

func testExportCSV(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	ivan := cardOf(t, s, envelope("e1", "site", "Иван; \"Ваня\"", "x", phone("+79170000001"), email("ivan@example.com"))).ClientID
	evil := cardOf(t, s, envelope("e2", "tg", "=HYPERLINK(\"http://evil\")", "x", tg("31337"), phone("+79170000002"))).ClientID
	gone := cardOf(t, s, envelope("e3", "site", "Дубль", "x", phone("+79170000003"))).ClientID
	tgOnly := cardOf(t, s, envelope("e4", "tg", "Только телеграм", "x", tg("424242"))).ClientID
	tags := []string{"vip", "опт"}
	if _, _, err := s.UpdateClient(ctx, 0, ivan, inbox.ClientPatch{Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MergeClients(ctx, 0, ivan, gone); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.WriteClientsCSV(ctx, &buf, ';'); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "\ufeffid;name;company;phone;email;telegram;vk;tags;do_not_contact;created_at\n") {
		t.Fatalf("export starts %q", out[:min(len(out), 120)])
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff")))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 { // header, Иван (with the merged card's phone), the other two
		t.Fatalf("export has %d records: %q", len(recs), recs)
	}
	if got := recs[3]; got[0] != fmt.Sprint(tgOnly) || got[3] != "" || got[4] != "" || got[5] != "424242" {
		t.Errorf("Telegram-only record = %q", got)
	}
	if got := recs[1]; got[0] != fmt.Sprint(ivan) || got[1] != "Иван; \"Ваня\"" || got[3] != "'+79170000001, +79170000003" ||
		got[4] != "ivan@example.com" || got[7] != "vip, опт" || got[8] != "false" {
		t.Errorf("Иван's record = %q", got)
	}
	if got := recs[2]; got[0] != fmt.Sprint(evil) || got[1] != "'=HYPERLINK(\"http://evil\")" || got[5] != "31337" {
		t.Errorf("formula record = %q", got)
	}

	// The export reads back: every row matches its card, nothing new.
	// A client known only by Telegram is read back by that id.
	rep := importCSV(t, s, out, inbox.ImportOptions{})
	if rep.Imported != 0 || rep.Merged != 3 || rep.Rejected != 0 {
		t.Errorf("re-import of the export = %+v", rep)
	}
	if d := getClient(t, s, evil); d.Name != "=HYPERLINK(\"http://evil\")" {
		t.Errorf("name after the round trip = %q", d.Name)
	}
	var comma bytes.Buffer
	if err := s.WriteClientsCSV(ctx, &comma, ','); err != nil || !strings.Contains(comma.String(), "id,name,company") {
		t.Errorf("comma export: %v %q", err, comma.String())
	}
}

// Importing the same file twice adds its notes once; a bad messenger id is
// rejected with a reason.
func testImportCSVTwice(t *testing.T, s *store.Store) {
	file := "phone;name;notes;vk\n" +
		"+79180000001;Ольга;Звонить после 18:00;\n" +
		"+79180000001;Ольга;Звонить после 18:00;\n" +
		";Вера;Из ВК;12345\n" +
		";Нет;;vk-id\n"
	rep := importCSV(t, s, file, inbox.ImportOptions{})
	if rep.Imported != 2 || rep.Merged != 1 || rep.Rejected != 1 || !strings.Contains(rep.Rows[3].Reason, "vk id") {
		t.Fatalf("first import = %+v", rep)
	}
	importCSV(t, s, file, inbox.ImportOptions{})
	olga := clientByPhone(t, s, "+79180000001")
	if len(olga.Notes) != 1 || olga.Notes[0].Text != "Звонить после 18:00" {
		t.Errorf("notes after importing twice: %+v", olga.Notes)
	}
}
