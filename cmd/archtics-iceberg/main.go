// Command archtics-iceberg publishes a warehouse's tables as Apache
// Iceberg tables for archtics (`archtics catalog iceberg`, and after every
// commit of a warehouse that publishes). archtics finds it beside its own
// binary (make build puts both in bin/), on PATH, or at
// ARCHTICS_ICEBERG_PROGRAM; see package icebergcat/publishcmd.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"archtics/icebergcat/publishcmd"
)

func main() {
	// A signal cancels the publish; what it wrote is invisible until its
	// version hint moves, so stopping leaves nothing partial.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got os.Signal
	go func() {
		got = <-sigs
		cancel()
	}()
	code := publishcmd.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if ctx.Err() != nil {
		code = 128 + int(syscall.SIGINT)
		if got == syscall.SIGTERM {
			code = 128 + int(syscall.SIGTERM)
		}
	}
	os.Exit(code)
}
