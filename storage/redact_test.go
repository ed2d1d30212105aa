package storage

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://user:s3cr3t@example.com/wh", "https://user:xxxxx@example.com/wh"},
		{`open warehouse "s3://ak:sk@bucket/p": bad`, `open warehouse "s3://ak:xxxxx@bucket/p": bad`},
		{"a http://u:p@h/x and ftp://v:q@g b", "a http://u:xxxxx@h/x and ftp://v:xxxxx@g b"},
		{"https://user@example.com/wh", "https://user@example.com/wh"},
		{"no url here: a:b@c", "no url here: a:b@c"},
		{"/tmp/a b/wh", "/tmp/a b/wh"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got := Redact(tc.in)
			if got != tc.want {
				t.Fatalf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for _, secret := range []string{"s3cr3t", ":sk@", ":p@", ":q@"} {
				if strings.Contains(got, secret) {
					t.Fatalf("Redact(%q) = %q still holds %q", tc.in, got, secret)
				}
			}
		})
	}
}
