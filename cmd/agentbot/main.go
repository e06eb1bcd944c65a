// Command agentbot is the Agentbot gateway and its command-line client, one
// binary (README, "The agentbot CLI"):
//
//	agentbot serve      start the HTTP server (the default, with no command)
//	agentbot migrate    apply database migrations and exit
//	agentbot plan <email> <plan|none>   give an account a plan without Stripe
//	agentbot version    print the version
//	agentbot login | logout | keys | gateway | skills | plugins | completion
//
// The server's configuration comes from the environment; see the README.
package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := (&cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}).run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// cli is one run of the command: its streams and environment, which tests
// replace.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// hc, if set, is the HTTP client of the API commands.
	hc *http.Client
	// executable is the binary's path, for finding the checkout it was
	// built in (os.Executable when empty).
	executable string

	// Global flags.
	jsonOut    bool
	url, key   string
	configPath string
}
