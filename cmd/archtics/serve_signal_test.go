package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestServeSafetyAndSignals runs the binary: a non-loopback --addr without
// a token is a usage error; with one it serves, never printing the token;
// SIGINT and SIGTERM stop it within seconds with their exit codes.
func TestServeSafetyAndSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	wh := filepath.Join(dir, "warehouse")
	if err := os.Mkdir(wh, 0o755); err != nil {
		t.Fatal(err)
	}
	const token = "tok-3f9a1c7e"
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listening := regexp.MustCompile(`serving the arrivals pages on http://(\S+)/`)

	t.Run("refuses a non-loopback address without a token", func(t *testing.T) {
		for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
			p := startCommand(t, bin, t.TempDir(), "-w", wh, "serve", "--addr", addr, "--cache", filepath.Join(dir, "cache"))
			<-p.done
			if code := p.cmd.ProcessState.ExitCode(); code != exitUsage {
				t.Errorf("--addr %s without a token: exit %d, want %d:\n%s", addr, code, exitUsage, p.output())
			}
			if !strings.Contains(p.output(), "--token-file") {
				t.Errorf("--addr %s: the message does not say how to give a token:\n%s", addr, p.output())
			}
		}
	})
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		want int
		args []string
	}{
		{"SIGTERM on loopback", syscall.SIGTERM, exitSIGTERM, []string{"--addr", "127.0.0.1:0"}},
		{"SIGINT with a token off loopback", syscall.SIGINT, exitSIGINT, []string{"--addr", "0.0.0.0:0", "--token-file", tokenFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-w", wh, "--log-level", "debug", "serve", "--cache", filepath.Join(dir, "cache")}, tc.args...)
			p := startCommand(t, bin, t.TempDir(), args...)
			p.waitFor(t, "serving the arrivals pages")
			m := listening.FindStringSubmatch(p.output())
			if m == nil {
				t.Fatalf("no address in:\n%s", p.output())
			}
			url := "http://" + strings.Replace(m[1], "0.0.0.0", "127.0.0.1", 1) + "/"
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			if len(tc.args) > 2 {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Today") {
				t.Fatalf("GET %s: %d\n%s", url, resp.StatusCode, body)
			}
			code := p.stop(t, tc.sig)
			if code != tc.want {
				t.Errorf("exit %d after %v, want %d:\n%s", code, tc.sig, tc.want, p.output())
			}
			if strings.Contains(p.output(), token) {
				t.Errorf("the token appears in the output:\n%s", p.output())
			}
		})
	}
}
