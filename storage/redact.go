package storage

import "regexp"

// userinfoPassword matches the password of a URL's userinfo
// (scheme://user:password@host) anywhere in a text.
var userinfoPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/@\s:"']*):[^/@\s"']*@`)

// Redact hides the passwords of the URLs in s (scheme://user:password@...
// becomes scheme://user:xxxxx@...), so a location or source URL a user
// typed with credentials can go into an error or a log line.
func Redact(s string) string {
	return userinfoPassword.ReplaceAllString(s, "${1}:xxxxx@")
}
