package inbox

import (
	"strings"
	"testing"
)

// TestNormalizePhone is the table of real-world spellings operators and
// customers type: each must land on one E.164 number, so that the same
// person is one card whatever they wrote.
func TestNormalizePhone(t *testing.T) {
	tests := []struct{ raw, region, want string }{
		// Russia, region RU: the trunk 8, the country code 7, none at all.
		{"8 (912) 345-67-89", "RU", "+79123456789"},
		{"+7 912 345 67 89", "RU", "+79123456789"},
		{"89123456789", "RU", "+79123456789"},
		{"9123456789", "RU", "+79123456789"},
		{"7-912-345-67-89", "RU", "+79123456789"},
		{"+79123456789", "RU", "+79123456789"},
		{"8 912 345 67 89 доб. 123", "RU", "+79123456789"},
		{"+7 912 345 67 89 доб 12", "RU", "+79123456789"},
		{"+7 (912) 345-67-89 ext. 5", "RU", "+79123456789"},
		{"8(912)3456789", "RU", "+79123456789"},
		{"+7 912 345-6789", "RU", "+79123456789"},
		{"(912) 345-67-89", "RU", "+79123456789"},
		{"8.912.345.67.89", "RU", "+79123456789"},
		{"тел. 8 912 345 67 89", "RU", "+79123456789"},
		{"８ ９１２ ３４５ ６７ ８９", "RU", "+79123456789"}, // full-width digits from a phone keyboard
		{"  +7 912 345 67 89\t", "RU", "+79123456789"},
		{"8-800-555-35-35", "RU", "+78005553535"},
		{"+7(495)123-45-67", "RU", "+74951234567"},
		{"8 (495) 123-45-67", "RU", "+74951234567"},
		// Kazakhstan shares +7; Belarus, Ukraine, Uzbekistan have their own.
		{"+7 701 234 5678", "RU", "+77012345678"},
		{"8 701 234 56 78", "KZ", "+77012345678"},
		{"+7 (727) 250-00-00", "RU", "+77272500000"},
		{"+375 29 123-45-67", "RU", "+375291234567"},
		{"+375 (17) 123-45-67", "RU", "+375171234567"},
		{"8 029 123-45-67", "BY", "+375291234567"},
		{"+380 44 123 4567", "RU", "+380441234567"},
		{"+380 (67) 123-45-67", "RU", "+380671234567"},
		{"+998 90 123 45 67", "RU", "+998901234567"},
		// Further abroad, written internationally or in their own region.
		{"+1 (415) 555-2671", "RU", "+14155552671"},
		{"+1-202-555-0143", "RU", "+12025550143"},
		{"810 1 415 555 2671", "RU", "+14155552671"}, // Russian international prefix
		{"(415) 555-2671", "US", "+14155552671"},
		{"+44 20 7946 0958", "RU", "+442079460958"},
		{"+44 7911 123456", "RU", "+447911123456"},
		{"07911 123456", "GB", "+447911123456"},
		{"+49 30 1234567", "RU", "+49301234567"},
		{"+49 (0)30 1234567", "RU", "+49301234567"},
		{"+49 151 23456789", "RU", "+4915123456789"},
		{"+33 1 42 68 53 00", "RU", "+33142685300"},
		{"+86 138 0013 8000", "RU", "+8613800138000"},
		{"9123456789", "", "+79123456789"}, // no region configured: RU
		{"9123456789", "ru", "+79123456789"},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.raw, tt.region)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.raw, tt.region, got, err, tt.want)
		}
	}
	// Text that is not a phone number is EINVALID: it is kept on the card
	// as written and never matches anyone.
	for _, bad := range []string{"", "   ", "call me", "12", "+7 (999)", "8 912 345 67 89 (Иван)",
		"+7 912 345 67 89 12345 6789", "001 415 555 2671", strings.Repeat("9", 65)} {
		if got, err := NormalizePhone(bad, "RU"); ErrorCode(err) != EINVALID {
			t.Errorf("NormalizePhone(%q) = %q, %v; want EINVALID", bad, got, err)
		}
	}
}

func TestNewIdentity(t *testing.T) {
	tests := []struct {
		kind    IdentityKind
		raw     string
		want    string
		wantErr bool
	}{
		{IdentityEmail, "  Ivan.Petrov+crm@Example.COM ", "ivan.petrov+crm@example.com", false},
		{IdentityEmail, "not an email", "", true},
		{IdentityEmail, "@example.com", "", true},
		{IdentityTelegram, " 123456 ", "123456", false},
		{IdentityVK, "", "", true},
		{IdentityExternal, "crm-42", "crm:crm-42", false},
		{IdentityPhone, "8 (912) 345-67-89", "+79123456789", false},
		{"fax", "1", "", true},
	}
	for _, tt := range tests {
		got, err := NewIdentity(tt.kind, tt.raw, "crm", "")
		if (err != nil) != tt.wantErr || got.Value != tt.want {
			t.Errorf("NewIdentity(%s, %q) = %+v, %v; want %q (err %v)", tt.kind, tt.raw, got, err, tt.want, tt.wantErr)
		}
	}
	long := make([]byte, MaxIdentityLen)
	for i := range long {
		long[i] = 'a'
	}
	if _, err := NewIdentity(IdentityExternal, string(long), "crm", ""); ErrorCode(err) != EINVALID {
		t.Errorf("over-long external id accepted: %v", err)
	}
}
