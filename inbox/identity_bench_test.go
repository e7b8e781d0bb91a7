package inbox

import "testing"

// BenchmarkNewIdentity is the normalization every connector runs on every
// sender before an envelope is queued, and the CSV import on every row: the
// phone spellings people type (read through libphonenumber), an email, and
// the ids that are only trimmed. Each case is one call of NewIdentity.
//
//	go test -run '^$' -bench NewIdentity ./inbox/
func BenchmarkNewIdentity(b *testing.B) {
	for _, tc := range []struct {
		name   string
		kind   IdentityKind
		raw    string
		region string
		want   string
	}{
		{"phone-ru-8-brackets", IdentityPhone, "8 (912) 345-67-89", "RU", "+79123456789"},
		{"phone-ru-plus7-spaces", IdentityPhone, "+7 912 345 67 89", "RU", "+79123456789"},
		{"phone-ru-bare-10", IdentityPhone, "9123456789", "RU", "+79123456789"},
		{"phone-ru-extension", IdentityPhone, "8 912 345 67 89 доб. 123", "RU", "+79123456789"},
		{"phone-by-international", IdentityPhone, "+375 29 123-45-67", "RU", "+375291234567"},
		{"phone-gb-national", IdentityPhone, "07911 123456", "GB", "+447911123456"},
		{"phone-us-international", IdentityPhone, "+1 (415) 555-2671", "RU", "+14155552671"},
		{"email", IdentityEmail, "  Ivan.Petrov+crm@Example.COM ", "", "ivan.petrov+crm@example.com"},
		{"telegram", IdentityTelegram, "123456789", "", "123456789"},
		{"vk", IdentityVK, "555644284", "", "555644284"},
		{"external", IdentityExternal, "crm-42", "", "crm:crm-42"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				id, err := NewIdentity(tc.kind, tc.raw, "crm", tc.region)
				if err != nil || id.Value != tc.want {
					b.Fatal(id, err)
				}
			}
		})
	}
}
