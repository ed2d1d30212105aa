package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"archtics/web"
)

// serveTokenEnv holds the token `serve` requires, for a launcher that
// should not put it on a command line (ps shows those).
const serveTokenEnv = "ARCHTICS_SERVE_TOKEN"

// serveShutdownGrace is how long open requests get after a signal.
const serveShutdownGrace = 3 * time.Second

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the live arrivals pages (read-only) over the warehouse's realtime views",
		Description: `serve is a read-only web app for game day: today's realtime events of
each team with their state, and per event the arrivals per gate per
three-minute tick, the share of sold seats scanned beside the team's
previous comparable event, late arrivals, gate load, the newest scans,
the no-shows (CSV) and the reconciliation. The pages follow new commits
within seconds, without a reload.

Every query is fixed, with bound parameters, over DuckDB views locked
read-only on the verified cache; nothing is ever written to the
warehouse. It binds to loopback by default; any other --addr needs a
token (--token-file FILE, or ARCHTICS_SERVE_TOKEN, or --token): open
http://HOST:PORT/?token=... once, or send "Authorization: Bearer ...".
See docs/serve.md.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "`HOST:PORT` to listen on; a non-loopback host needs a token"},
			&cli.StringFlag{Name: "token", Usage: "token every request must carry (prefer --token-file or " + serveTokenEnv + ": a command line is visible to ps)", EnvVars: []string{serveTokenEnv}},
			&cli.StringFlag{Name: "token-file", Usage: "read the token from `FILE` (its first line)"},
			&cli.DurationFlag{Name: "poll", Value: web.DefaultPollEvery, Usage: "how often to look for new commits"},
			&cli.StringFlag{Name: "cache", Usage: "local cache of committed files and their verify stamps (default: the user cache folder, as query's)", EnvVars: []string{"ARCHTICS_CACHE"}},
		},
		Action: runServe,
	}
}

// serveToken is the token from --token-file or --token (or its env).
func serveToken(c *cli.Context) (string, error) {
	file, tok := c.String("token-file"), c.String("token")
	if file != "" && c.IsSet("token") {
		return "", cli.Exit("give the token once: --token-file or --token ("+serveTokenEnv+"), not both", exitUsage)
	}
	if file == "" {
		return strings.TrimSpace(tok), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", cli.Exit(fmt.Sprintf("--token-file: %v", err), exitUsage)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if line = strings.TrimSpace(line); line == "" {
		return "", cli.Exit(fmt.Sprintf("--token-file %s is empty: put the token on its first line", file), exitUsage)
	}
	return line, nil
}

func runServe(c *cli.Context) error {
	addr := c.String("addr")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return cli.Exit(fmt.Sprintf("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8080", addr), exitUsage)
	}
	token, err := serveToken(c)
	if err != nil {
		return err
	}
	if token == "" && !web.IsLoopback(addr) {
		return cli.Exit(fmt.Sprintf("--addr %s is reachable from other machines and the pages show ticket holders' names and emails: "+
			"give a token (--token-file FILE, or %s), or listen on loopback (--addr 127.0.0.1:8080)", addr, serveTokenEnv), exitUsage)
	}
	w, err := openExistingWarehouse(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	s := web.New(web.Config{Warehouse: w, CacheDir: cacheDir(c, w), Token: token, Logger: slog.Default(), PollEvery: c.Duration("poll")})
	if err := s.Sync(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.Close()
		return fmt.Errorf("serve: listen on %s: %w", addr, err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn)}
	syncDone := make(chan struct{})
	go func() { s.Run(ctx); close(syncDone) }()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	how := "no token (loopback only)"
	if token != "" {
		how = "a token required (open the page with ?token=..., or send Authorization: Bearer)"
	}
	fmt.Fprintf(os.Stderr, "archtics: serving the arrivals pages on http://%s/ with %s; Ctrl-C stops\n", ln.Addr(), how)
	select {
	case err := <-served:
		<-syncDone
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serveShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		slog.Warn("serve: shutdown", "err", err)
	}
	hs.Close()
	<-syncDone
	return nil
}
