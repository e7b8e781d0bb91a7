package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"golang.org/x/text/encoding/charmap"

	"github.com/leadhub/leadhub/inbox"
)

// importChunk is how many rows go into one transaction.
const importChunk = 500

// analyzeAfter is how many imported cards make an import refresh the
// planner's statistics.
const analyzeAfter = 1000

// ImportClients reads client cards from a CSV file and files them with the
// rules inbound messages follow (the same code): a row's first phone, else
// its first email, decides the card; free identities are attached; a row
// whose identities belong to two cards goes to the first one's card and
// makes a duplicate suggestion; phone text that does not parse is kept on
// the card as a raw phone. Names and companies fill only empty ones; tags are
// added; notes become notes.
//
// The file may be UTF-8 (with or without a byte order mark) or Windows-1251
// (what Russian Excel writes), separated by ";", "," or tabs, as the header
// line shows. The header names the columns, in English or Russian: name (or
// first/last/middle name), phone, email, company, tags, notes (see
// importColumns); unknown columns are ignored, several phone or email columns
// are all read, and a cell may hold several values separated by commas.
//
// It returns the events it wrote for the caller to publish. Each data row is
// reported by its line number: imported (a new card),
// merged (into an existing card, or one an earlier row created) or rejected
// with the reason: a wrong number of fields, malformed quoting, no valid
// phone or email, an email that is not an address, a value over its limit
// (an identity over 320 characters). A rejected row changes nothing; the
// others are imported. Rows are written 500 to a transaction. The import is
// audited (counts only). A file without a usable header is EINVALID; one over
// MaxBytes ETOOLARGE.
func (s *Store) ImportClients(ctx context.Context, r io.Reader, opts inbox.ImportOptions) (inbox.ImportReport, []inbox.Event, error) {
	if opts.Region == "" {
		opts.Region = s.region
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 50 << 20
	}
	rep := inbox.ImportReport{Rows: []inbox.ImportRow{}}
	rows, rejected, err := parseImport(r, opts)
	if err != nil {
		return rep, nil, fmt.Errorf("store: import clients: %w", err)
	}
	var evs []inbox.Event
	out := make(map[int]inbox.ImportRow, len(rows)+len(rejected))
	for _, row := range rejected {
		out[row.Line] = row
	}
	total := len(rows) + len(rejected)
	progress := func() {
		if opts.Progress != nil {
			opts.Progress(len(out), total)
		}
	}
	progress()
	for len(rows) > 0 {
		n := min(len(rows), importChunk)
		done, chunkEvs, err := s.importChunk(ctx, rows[:n], opts.OperatorID)
		if err != nil {
			return rep, evs, fmt.Errorf("store: import clients: line %d: %w", rows[0].line, err)
		}
		evs = append(evs, chunkEvs...)
		for _, row := range done {
			out[row.Line] = row
		}
		rows = rows[n:]
		progress()
	}
	lines := make([]int, 0, len(out))
	for l := range out {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	for _, l := range lines {
		row := out[l]
		rep.Rows = append(rep.Rows, row)
		switch row.Outcome {
		case inbox.ImportImported:
			rep.Imported++
		case inbox.ImportMerged:
			rep.Merged++
		default:
			rep.Rejected++
		}
	}
	if rep.Imported >= analyzeAfter && s.q.AnalyzeCards != "" {
		// A big import changes the tables' sizes by orders of magnitude;
		// until autovacuum notices (up to a minute later) PostgreSQL plans
		// filing's look-ups for the old, small tables and scans a million
		// cards per batch. Measured: 144 instead of 500 messages/s.
		if _, err := s.db.ExecContext(ctx, s.q.AnalyzeCards); err != nil {
			s.log.Warn("analyze after import", "err", err)
		}
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		detail := map[string]any{"imported": rep.Imported, "merged": rep.Merged, "rejected": rep.Rejected}
		return s.audit(ctx, tx, opts.OperatorID, "client.import", "client", 0, detail, s.now())
	})
	if err != nil {
		return rep, evs, fmt.Errorf("store: import clients: %w", err)
	}
	return rep, evs, nil
}

// importRow is one valid data row.
type importRow struct {
	line    int
	contact inbox.Contact
	company string
	tags    []string
	note    string
}

// importChunk files rows in one transaction, again if a card they touch was
// merged meanwhile, and returns the rows' outcomes and the events written.
func (s *Store) importChunk(ctx context.Context, rows []importRow, operatorID int64) ([]inbox.ImportRow, []inbox.Event, error) {
	var (
		out []inbox.ImportRow
		evs []inbox.Event
		err error
	)
	for attempt := 0; attempt < 3; attempt++ {
		err = s.inTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			out, evs, err = s.importTx(ctx, tx, rows, operatorID)
			return err
		})
		if !errors.Is(err, errCardMoved) {
			break
		}
	}
	return out, evs, err
}

// importTx matches rows to cards with the filing code and adds what else
// the rows carry. Existing cards that changed get client.updated and new
// duplicate suggestions their event; new cards get none (an import may
// create thousands: the list shows them).
func (s *Store) importTx(ctx context.Context, tx *sqlx.Tx, rows []importRow, operatorID int64) ([]inbox.ImportRow, []inbox.Event, error) {
	envs := make([]inbox.Envelope, len(rows))
	for i, r := range rows {
		envs[i] = inbox.Envelope{From: r.contact}
	}
	f := newFiling(s, tx, envs)
	for i := range envs {
		f.todo = append(f.todo, i)
	}
	if err := f.lockPersons(ctx); err != nil {
		return nil, nil, err
	}
	if err := f.matchCards(ctx); err != nil {
		return nil, nil, err
	}
	type tagInsert struct {
		ClientID int64  `json:"client_id"`
		Tag      string `json:"tag"`
		TagLower string `json:"tag_lower"`
	}
	type companyFill struct {
		ID      int64  `json:"id"`
		Company string `json:"company"`
		Lower   string `json:"company_lower"`
	}
	var (
		tags      []tagInsert
		notes     []noteInsert
		companies []companyFill
		filled    = make(map[int64]bool)
		out       = make([]inbox.ImportRow, len(rows))
	)
	for i, r := range rows {
		id := f.clientOf[i]
		outcome := inbox.ImportMerged
		if f.newCard[i] {
			outcome = inbox.ImportImported
		}
		out[i] = inbox.ImportRow{Line: r.line, Outcome: outcome, ClientID: id}
		for _, t := range r.tags {
			tags = append(tags, tagInsert{ClientID: id, Tag: t, TagLower: strings.ToLower(t)})
		}
		if r.note != "" && !slices.ContainsFunc(notes, func(n noteInsert) bool { return n.ClientID == id && n.Text == r.note }) {
			notes = append(notes, noteInsert{ClientID: id, AuthorID: optionalID(operatorID), Text: r.note, At: dbTime(f.now)})
		}
		if r.company != "" && !filled[id] {
			filled[id] = true
			companies = append(companies, companyFill{ID: id, Company: r.company, Lower: strings.ToLower(r.company)})
		}
		if len(r.tags) > 0 || r.note != "" || r.company != "" {
			f.markChanged(id)
		}
	}
	if len(tags) > 0 {
		arg, err := jsonArg(tags)
		if err != nil {
			return nil, nil, err
		}
		if _, err := tx.ExecContext(ctx, s.q.InsertTags, arg); err != nil {
			return nil, nil, fmt.Errorf("insert tags: %w", err)
		}
	}
	if len(notes) > 0 {
		arg, err := jsonArg(notes)
		if err != nil {
			return nil, nil, err
		}
		if _, err := tx.ExecContext(ctx, s.q.InsertNewNotes, arg); err != nil {
			if isForeignKeyViolation(err) {
				return nil, nil, inbox.Errorf(inbox.EINVALID, "unknown author")
			}
			return nil, nil, fmt.Errorf("insert notes: %w", err)
		}
	}
	if len(companies) > 0 {
		arg, err := jsonArg(companies)
		if err != nil {
			return nil, nil, err
		}
		if _, err := tx.ExecContext(ctx, s.q.FillCompanies, arg); err != nil {
			return nil, nil, fmt.Errorf("fill companies: %w", err)
		}
	}
	pending, err := f.cardEvents(ctx)
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.writeEvents(ctx, tx, f.now, pending)
	return out, evs, err
}

// importColumns maps a normalized header (see headerKey) to a field.
var importColumns = map[string]string{
	"name": "name", "fullname": "name", "имя": "name", "фио": "name", "клиент": "name", "контакт": "name",
	"контактноелицо": "name", "имяклиента": "name", "firstname": "first", "lastname": "last", "фамилия": "last",
	"middlename": "middle", "отчество": "middle",
	"phone": "phone", "phones": "phone", "phonenumber": "phone", "mobile": "phone", "tel": "phone",
	"телефон": "phone", "телефоны": "phone", "тел": "phone", "мобильный": "phone", "мобильныйтелефон": "phone",
	"сотовый": "phone", "номер": "phone", "номертелефона": "phone", "рабочийтелефон": "phone",
	"email": "email", "emails": "email", "mail": "email", "emailaddress": "email", "почта": "email",
	"электроннаяпочта": "email", "элпочта": "email", "емейл": "email", "имейл": "email",
	"company": "company", "organization": "company", "компания": "company", "организация": "company",
	"tags": "tags", "tag": "tags", "теги": "tags", "тег": "tags", "метки": "tags", "метка": "tags",
	"telegram": "telegram", "telegramid": "telegram", "телеграм": "telegram", "телеграмм": "telegram",
	"vk": "vk", "vkid": "vk", "вконтакте": "vk", "вк": "vk",
	"notes": "notes", "note": "notes", "comment": "notes", "comments": "notes", "заметки": "notes",
	"заметка": "notes", "примечание": "notes", "примечания": "notes", "комментарий": "notes", "комментарии": "notes",
}

// headerKey folds a header cell for importColumns: lower case, without
// spaces, punctuation and a trailing number ("Телефон 2", "E-mail:").
func headerKey(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimRightFunc(h, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsSpace(r) })
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, h)
}

// parseImport reads the whole file and returns its valid rows and the
// rejected ones.
func parseImport(r io.Reader, opts inbox.ImportOptions) ([]importRow, []inbox.ImportRow, error) {
	data, err := io.ReadAll(io.LimitReader(r, opts.MaxBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read file: %w", err)
	}
	if int64(len(data)) > opts.MaxBytes {
		return nil, nil, inbox.Errorf(inbox.ETOOLARGE, "the file is larger than %d bytes", opts.MaxBytes)
	}
	text, err := decodeCharset(data)
	if err != nil {
		return nil, nil, err
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = sniffSeparator(text)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true // names like Иван "Ваня" Петров, unquoted, are common
	header, err := cr.Read()
	if err != nil {
		return nil, nil, inbox.Errorf(inbox.EINVALID, "the file has no header line")
	}
	cols := make([]string, len(header))
	var haveID bool
	for i, h := range header {
		cols[i] = importColumns[headerKey(h)]
		haveID = haveID || slices.Contains([]string{"phone", "email", "telegram", "vk"}, cols[i])
	}
	if slices.Contains(cols, "last") {
		// Beside a surname column, "Имя" is the first name only.
		for i, h := range header {
			if k := headerKey(h); cols[i] == "name" && (k == "имя" || k == "name") {
				cols[i] = "first"
			}
		}
	}
	if !haveID {
		return nil, nil, inbox.Errorf(inbox.EINVALID, "the header names no phone, email, telegram or vk column (header: %s)",
			strings.Join(header, string(cr.Comma)))
	}
	var (
		rows     []importRow
		rejected []inbox.ImportRow
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("read CSV: %w", err)
			}
			rejected = append(rejected, inbox.ImportRow{Line: pe.StartLine, Outcome: inbox.ImportRejected,
				Reason: "malformed CSV: " + pe.Err.Error()})
			continue
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(rec) != len(cols) {
			rejected = append(rejected, inbox.ImportRow{Line: line, Outcome: inbox.ImportRejected,
				Reason: fmt.Sprintf("the row has %d fields, the header %d", len(rec), len(cols))})
			continue
		}
		row, err := importRecord(rec, cols, opts.Region)
		if err != nil {
			rejected = append(rejected, inbox.ImportRow{Line: line, Outcome: inbox.ImportRejected, Reason: inbox.ErrorMessage(err)})
			continue
		}
		row.line = line
		rows = append(rows, row)
	}
	return rows, rejected, nil
}

// decodeCharset returns data as text: UTF-8 as it is (without a byte order
// mark), anything that is not valid UTF-8 read as Windows-1251, the code
// page Russian Excel saves CSV in. Cyrillic in Windows-1251 is practically
// never valid UTF-8, so the check is reliable.
func decodeCharset(data []byte) (string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if utf8.Valid(data) {
		return string(data), nil
	}
	out, err := charmap.Windows1251.NewDecoder().Bytes(data)
	if err != nil {
		return "", inbox.Errorf(inbox.EINVALID, "the file is neither UTF-8 nor Windows-1251")
	}
	return string(out), nil
}

// sniffSeparator picks the separator the header line uses most: ";" (Excel
// in Russian locales), "," or a tab.
func sniffSeparator(text string) rune {
	header, _, _ := strings.Cut(text, "\n")
	best, most := ',', 0
	for _, sep := range []rune{';', ',', '\t'} {
		if n := strings.Count(header, string(sep)); n > most {
			best, most = sep, n
		}
	}
	return best
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// splitValues splits a cell holding several values.
func splitValues(cell, seps string) []string {
	var out []string
	for _, v := range strings.FieldsFunc(cell, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// unformula undoes the "'" that WriteClientsCSV puts before a cell that a
// spreadsheet would run as a formula.
func unformula(cell string) string {
	if len(cell) > 1 && cell[0] == '\'' && strings.ContainsRune("=+-@", rune(cell[1])) {
		return cell[1:]
	}
	return cell
}

// importRecord turns one record into a row; a bad value is EINVALID with a
// reason for the report.
func importRecord(rec, cols []string, region string) (importRow, error) {
	var (
		row                  importRow
		first, middle, last  string
		phones, emails, tags []string
		notes                []string
		// Telegram and VK user ids, as leadhub's own export writes them.
		messengers = map[inbox.IdentityKind][]string{}
	)
	for i, raw := range rec {
		v := clean(strings.TrimSpace(unformula(raw)))
		if v == "" {
			continue
		}
		switch cols[i] {
		case "name":
			row.contact.Name = v
		case "first":
			first = v
		case "middle":
			middle = v
		case "last":
			last = v
		case "phone":
			phones = append(phones, splitValues(v, ",;/\n")...)
		case "email":
			emails = append(emails, splitValues(v, ",; \n")...)
		case "company":
			row.company = v
		case "tags":
			tags = append(tags, splitValues(v, ",;|\n")...)
		case "notes":
			notes = append(notes, v)
		case "telegram":
			messengers[inbox.IdentityTelegram] = append(messengers[inbox.IdentityTelegram], splitValues(v, ",; \n")...)
		case "vk":
			messengers[inbox.IdentityVK] = append(messengers[inbox.IdentityVK], splitValues(v, ",; \n")...)
		}
	}
	if row.contact.Name == "" {
		row.contact.Name = strings.Join(strings.Fields(last+" "+first+" "+middle), " ")
	}
	if n := utf8.RuneCountInString(row.contact.Name); n > inbox.MaxNameLen {
		return importRow{}, inbox.Errorf(inbox.EINVALID, "the name is longer than %d characters", inbox.MaxNameLen)
	}
	if utf8.RuneCountInString(row.company) > inbox.MaxNameLen {
		return importRow{}, inbox.Errorf(inbox.EINVALID, "the company is longer than %d characters", inbox.MaxNameLen)
	}
	var ids []inbox.Identity
	for _, p := range phones {
		if len(p) > inbox.MaxIdentityLen {
			return importRow{}, inbox.Errorf(inbox.EINVALID, "a phone is longer than %d characters", inbox.MaxIdentityLen)
		}
		id, err := inbox.NewIdentity(inbox.IdentityPhone, p, "", region)
		if err != nil {
			// Kept on the card for the operator, never matched.
			row.contact.RawPhones = append(row.contact.RawPhones, p)
			continue
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, e := range emails {
		id, err := inbox.NewIdentity(inbox.IdentityEmail, e, "", region)
		if err != nil {
			return importRow{}, err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, kind := range []inbox.IdentityKind{inbox.IdentityTelegram, inbox.IdentityVK} {
		for _, v := range messengers[kind] {
			if _, err := strconv.ParseUint(v, 10, 63); err != nil {
				return importRow{}, inbox.Errorf(inbox.EINVALID, "%s id %q is not a number", kind, v)
			}
			id, err := inbox.NewIdentity(kind, v, "", region)
			if err != nil {
				return importRow{}, err
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		if len(row.contact.RawPhones) > 0 {
			return importRow{}, inbox.Errorf(inbox.EINVALID, "no valid phone or email (%q is not a phone number)", row.contact.RawPhones[0])
		}
		return importRow{}, inbox.Errorf(inbox.EINVALID, "no phone, email, telegram or vk id")
	}
	if len(row.contact.RawPhones) > inbox.MaxRawPhones {
		row.contact.RawPhones = row.contact.RawPhones[:inbox.MaxRawPhones]
	}
	row.contact.Identities = ids
	var err error
	if row.tags, err = normalizeTags(tags); err != nil {
		return importRow{}, err
	}
	row.note = strings.Join(notes, "\n")
	if utf8.RuneCountInString(row.note) > inbox.MaxNoteLen {
		return importRow{}, inbox.Errorf(inbox.EINVALID, "the note is longer than %d characters", inbox.MaxNoteLen)
	}
	return row, nil
}

// exportColumns is the header WriteClientsCSV writes; ImportClients reads
// it back.
var exportColumns = []string{"id", "name", "company", "phone", "email", "telegram", "vk", "tags",
	"do_not_contact", "created_at"}

// WriteClientsCSV writes every live card (not merged away) to w as CSV with
// a header line, oldest card first, in pages so that the store never holds
// them all: UTF-8 with a byte order mark (so that Excel reads Cyrillic),
// separated by sep (';' for Excel in Russian locales, ',' elsewhere).
// Several phones, emails or tags share a cell, separated by ", ". A cell
// that a spreadsheet would run as a formula gets a leading "'".
func (s *Store) WriteClientsCSV(ctx context.Context, w io.Writer, sep rune) error {
	return s.writeClientsCSV(ctx, w, sep, func(after int64) ([]clientRow, error) {
		var rows []clientRow
		err := s.db.SelectContext(ctx, &rows, s.q.ClientsPage, after, 1000)
		return rows, err
	})
}

// writeClientsCSV writes the cards that page returns, page after page,
// each starting after the last id of the one before (0 first), until an
// empty page: every export of cards is this one writer.
func (s *Store) writeClientsCSV(ctx context.Context, w io.Writer, sep rune, page func(after int64) ([]clientRow, error)) error {
	if _, err := io.WriteString(w, "\xef\xbb\xbf"); err != nil {
		return fmt.Errorf("store: write clients CSV: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.Comma = sep
	if err := cw.Write(exportColumns); err != nil {
		return fmt.Errorf("store: write clients CSV: %w", err)
	}
	var after int64
	for {
		rows, err := page(after)
		if err != nil {
			return fmt.Errorf("store: write clients CSV: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		cards, err := s.cards(ctx, s.db, rows)
		if err != nil {
			return fmt.Errorf("store: write clients CSV: %w", err)
		}
		for _, c := range cards {
			byKind := make(map[inbox.IdentityKind][]string)
			for _, id := range c.Identities {
				byKind[id.Kind] = append(byKind[id.Kind], id.Value)
			}
			rec := []string{
				strconv.FormatInt(c.ID, 10), c.Name, c.Company,
				strings.Join(byKind[inbox.IdentityPhone], ", "),
				strings.Join(byKind[inbox.IdentityEmail], ", "),
				strings.Join(byKind[inbox.IdentityTelegram], ", "),
				strings.Join(byKind[inbox.IdentityVK], ", "),
				strings.Join(c.Tags, ", "),
				strconv.FormatBool(c.DoNotContact),
				c.CreatedAt.Format(time.RFC3339),
			}
			for i, v := range rec {
				rec[i] = inbox.SheetSafe(v)
			}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("store: write clients CSV: %w", err)
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("store: write clients CSV: %w", err)
		}
		after = rows[len(rows)-1].ID
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("store: write clients CSV: %w", err)
	}
	return nil
}
