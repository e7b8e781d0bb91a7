package form

import "testing"

// BenchmarkParse is the channel's share of POST /hooks/form/<channel>, one
// sub-benchmark per body shape the channel reads: Tilda's webhook and a
// plain HTML form (urlencoded), the embed script's FormData with one file
// (multipart; the file goes to the tests' in-memory Files), and a site's
// own fetch (JSON). Each is a whole submission: origin check, decoding,
// spam checks, field mapping, phone and email normalization, the text and
// the dedupe key.
//
//	go test -run '^$' -bench Parse ./connectors/form/
func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct{ name, file string }{
		{"tilda-urlencoded", "tilda-submission.txt"},
		{"html-urlencoded", "html-form.txt"},
		{"embed-multipart", "embed-multipart.txt"},
		{"fetch-json", "fetch-json.txt"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := newChannel(b, nil)
			// Parse reads the body it is handed, not r.Body, and only
			// sets r.PostForm again: one request serves every iteration.
			r, body := readRequest(b, tc.file)
			b.ReportAllocs()
			for b.Loop() {
				envs, _, err := c.Parse(r, body)
				if err != nil || len(envs) != 1 {
					b.Fatal(envs, err)
				}
			}
		})
	}
}
