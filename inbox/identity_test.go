package inbox

import "testing"

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"8 (912) 345-67-89", "+79123456789"},
		{"+7 912 345 67 89", "+79123456789"},
		{"89123456789", "+79123456789"},
		{"9123456789", "+79123456789"},
		{"7-912-345-67-89", "+79123456789"},
		{"+79123456789", "+79123456789"},
		{"8 912 345 67 89 доб. 123", "+79123456789"},
		{"+1 (415) 555-2671", "+14155552671"},
		{"+44 20 7946 0958", "+442079460958"},
		{"+375 29 123-45-67", "+375291234567"},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.raw, "RU")
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "call me", "12", "+7 (999)"} {
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
