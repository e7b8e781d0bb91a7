package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
)

// openBench is openMigrated for benchmarks.
func openBench(b *testing.B, dialect string) *Store {
	b.Helper()
	url := "sqlite:" + filepath.Join(b.TempDir(), "leadhub.db")
	if dialect == DialectPostgres {
		url = inboxtest.PostgresURL(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, Options{URL: url})
	if err != nil {
		b.Fatalf("open %s: %v", dialect, err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatalf("migrate %s: %v", dialect, err)
	}
	return s
}

var (
	benchFirst = []string{"Александр", "Алексей", "Анастасия", "Анна", "Артём", "Валентина", "Виктор", "Галина",
		"Дарья", "Денис", "Дмитрий", "Екатерина", "Елена", "Иван", "Игорь", "Ирина", "Кирилл", "Ксения",
		"Людмила", "Максим", "Марина", "Мария", "Михаил", "Наталья", "Никита", "Николай", "Ольга", "Павел",
		"Полина", "Роман", "Светлана", "Сергей", "Софья", "Татьяна", "Юлия", "John", "Emma", "Oliver", "Sophie", "Liam"}
	benchLast = []string{"Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
		"Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов",
		"Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев",
		"Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
		"Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Smith", "Brown", "Taylor", "Wilson", "Clarke"}
)

func benchName(i int) string {
	return benchFirst[i%len(benchFirst)] + " " + benchLast[(i/len(benchFirst))%len(benchLast)]
}

func benchPhone(i int) string { return fmt.Sprintf("+7912%07d", i) }

// seedCards inserts n cards with a phone and an email each, and the tag
// "vip" on every tenth, in multi-row statements of 5,000 (the store's own
// insert statements, so the rows are what filing would write).
func seedCards(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	at := s.now()
	const chunk = 5000
	for start := 0; start < n; start += chunk {
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			type card struct {
				Name      string `json:"name"`
				NameLower string `json:"name_lower"`
				At        string `json:"at"`
			}
			end := min(start+chunk, n)
			cards := make([]card, 0, end-start)
			for i := start; i < end; i++ {
				name := benchName(i)
				cards = append(cards, card{Name: name, NameLower: strings.ToLower(name), At: dbTime(at)})
			}
			arg, err := jsonArg(cards)
			if err != nil {
				return err
			}
			var ids []int64
			if err := tx.SelectContext(ctx, &ids, s.q.InsertClients, arg); err != nil {
				return err
			}
			var idents []identityInsert
			type tag struct {
				ClientID int64  `json:"client_id"`
				Tag      string `json:"tag"`
				TagLower string `json:"tag_lower"`
			}
			var tags []tag
			for k, id := range ids {
				i := start + k
				idents = append(idents,
					newIdentityInsert(id, identityKey{"phone", benchPhone(i)}, at),
					newIdentityInsert(id, identityKey{"email", fmt.Sprintf("user%d@example.com", i)}, at))
				if i%10 == 0 {
					tags = append(tags, tag{ClientID: id, Tag: "VIP", TagLower: "vip"})
				}
			}
			if arg, err = jsonArg(idents); err != nil {
				return err
			}
			var claimed []identityRow
			if err := tx.SelectContext(ctx, &claimed, s.q.ClaimIdentities, arg); err != nil {
				return err
			}
			if arg, err = jsonArg(tags); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, s.q.InsertTags, arg)
			return err
		})
		if err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	if s.dialect == DialectPostgres {
		if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchClients measures GET /clients?q= at 100,000 cards: the
// cards are seeded once per dialect, then each kind of query runs as a
// sub-benchmark. The target is under 50 ms per search (ns/op).
//
//	go test -run '^$' -bench BenchmarkSearchClients -benchtime 2s ./store
func BenchmarkSearchClients(b *testing.B) {
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		b.Run(dialect, func(b *testing.B) {
			s := openBench(b, dialect)
			const cards = 100_000
			start := time.Now()
			seedCards(b, s, cards)
			b.Logf("%s: seeded %d cards in %v", dialect, cards, time.Since(start).Round(time.Millisecond))
			ctx := context.Background()
			queries := []struct {
				name, q string
				min     int // results expected at least
			}{
				{"name", "Ксения Воробьёв", 1},
				{"name_prefix_many", "ива", 50},
				{"phone_any_spelling", "8 (912) 004-21-37", 1},
				{"phone_last_digits", "21-37", 1},
				{"email", "user42137@example.com", 1},
				{"tag", "vip", 50},
				{"no_match", "нет такого", 0},
			}
			for _, tt := range queries {
				b.Run(tt.name, func(b *testing.B) {
					for b.Loop() {
						got, _, err := s.ListClients(ctx, tt.q, "", 50)
						if err != nil {
							b.Fatal(err)
						}
						if len(got) < tt.min {
							b.Fatalf("%q found %d cards, want at least %d", tt.q, len(got), tt.min)
						}
					}
				})
			}
		})
	}
}

// benchCSV is a 10,000-row import in Excel's Russian dialect.
func benchCSV(rows int) []byte {
	var buf bytes.Buffer
	buf.WriteString("ФИО;Телефон;Email;Теги;Заметки\n")
	for i := range rows {
		fmt.Fprintf(&buf, "%s;8 (913) %03d-%02d-%02d;client%d@example.com;опт, vip;звонить после %d\n",
			benchName(i), i/10000, (i/100)%100, i%100, i, 9+i%9)
	}
	return buf.Bytes()
}

// BenchmarkImportCSV imports 10,000 new cards into a fresh SQLite store; the
// target is under 10 s per import (ns/op).
//
//	go test -run '^$' -bench BenchmarkImportCSV ./store
func BenchmarkImportCSV(b *testing.B) {
	const rows = 10_000
	data := benchCSV(rows)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openBench(b, DialectSQLite)
		b.StartTimer()
		rep, _, err := s.ImportClients(ctx, bytes.NewReader(data), inbox.ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Imported != rows || rep.Rejected != 0 {
			b.Fatalf("imported %d, merged %d, rejected %d; want %d imported", rep.Imported, rep.Merged, rep.Rejected, rows)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
