package watch

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"unicode"

	"archtics/schemas"
)

// SignatureHeader carries the HMAC-SHA256 of the request body with the
// team's secret, as "sha256=<hex>", when the webhook names one.
const SignatureHeader = "X-Archtics-Signature"

// IdempotencyKeyHeader carries the arrival's stable id (Arrival.Key): a
// receiver that keeps the keys it accepted drops a repeat.
const IdempotencyKeyHeader = "Idempotency-Key"

// CheckWebhook refuses a webhook that is not an http or https URL with a
// host, that carries user:password, is too long or holds control
// characters, or whose secret variable name is not one. Its message
// names the URL's scheme and host at most, never its path, query or
// credentials (they may be the receiver's token).
func CheckWebhook(h Webhook) error {
	if len(h.URL) > schemas.MaxWebhookURL {
		return refuse("the webhook URL is %d bytes, at most %d", len(h.URL), schemas.MaxWebhookURL)
	}
	if strings.ContainsFunc(h.URL, unicode.IsControl) || strings.ContainsFunc(h.URL, unicode.IsSpace) {
		return refuse("the webhook URL holds spaces or control characters")
	}
	// url.Parse's error quotes the whole URL: say what is wrong ourselves.
	u, err := url.Parse(h.URL)
	if err != nil {
		return refuse("the webhook URL does not parse as a URL (http://host/path or https://host/path)")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return refuse("the webhook URL's scheme is %q: only http and https are allowed", truncateName(u.Scheme))
	}
	if u.Host == "" || u.Opaque != "" {
		return refuse("the webhook URL has no host: give http://host/path or https://host/path")
	}
	if u.User != nil {
		return refuse("the webhook URL %s://%s carries a user name or password: they would be stored and sent in clear; "+
			"give the URL without them and sign requests with --secret-env instead", u.Scheme, u.Host)
	}
	if h.SecretEnv != "" && !envName(h.SecretEnv) {
		return refuse("--secret-env %q is not an environment variable name (letters, digits and _, not starting with a digit, at most %d)",
			truncateName(h.SecretEnv), schemas.MaxWatchSecretName)
	}
	return nil
}

// envName reports whether s is a portable environment variable name.
func envName(s string) bool {
	if s == "" || len(s) > schemas.MaxWatchSecretName || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// truncateName cuts a name quoted in a message to a readable length.
func truncateName(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// redactedURL is the URL as commands and logs show it: scheme and host,
// the path replaced by "/..." when there is one.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparseable URL)"
	}
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		s += "/..."
	}
	return s
}

// sign is the signature header's value for body.
func sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
