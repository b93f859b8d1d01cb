// Command ststest runs rolecall's STS emulator (with its IAM Identity Center
// portal and OIDC service, and the console federation endpoint) as a
// program, for scripts, demos and the AWS CLI:
//
//	ststest --listen 127.0.0.1:0 [--config FILE]
//
// The first line of stdout is the emulator's base URL; it serves until
// SIGINT or SIGTERM. Without --config it serves the demo configuration.
// --print-demo-config writes the demo configuration as JSON and exits.
// docs/ststest.md describes the configuration and the /_ststest/ admin paths.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rolecall/rolecall/pkg/ststest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program: it returns the exit code once ctx ends (a signal) or
// the arguments are wrong.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("ststest", flag.ContinueOnError)
	flags.SetOutput(stderr)
	listen := flags.String("listen", "127.0.0.1:0", "`address` to listen on (host:port; port 0 picks a free one)")
	configPath := flags.String("config", "", "configuration `file` (JSON); the demo configuration when empty")
	printDemo := flags.Bool("print-demo-config", false, "print the demo configuration as JSON and exit")
	flags.Usage = func() {
		_, _ = fmt.Fprintln(stderr, "usage: ststest [--listen ADDR] [--config FILE] | --print-demo-config")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "ststest: error: unexpected argument %q\n", flags.Arg(0))
		return 2
	}

	if *printDemo {
		out, err := json.MarshalIndent(ststest.DemoConfig(), "", "  ")
		if err == nil {
			_, err = fmt.Fprintf(stdout, "%s\n", out)
		}
		if err != nil {
			_, _ = fmt.Fprintf(stderr, "ststest: error: %v\n", err)
			return 1
		}
		return 0
	}

	cfg := ststest.DemoConfig()
	if *configPath != "" {
		var err error
		if cfg, err = ststest.LoadConfigFile(*configPath); err != nil {
			_, _ = fmt.Fprintf(stderr, "ststest: error: %v\n", err)
			return 1
		}
	}
	s, err := ststest.Start(cfg, *listen)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "ststest: error: %v\n", err)
		return 1
	}
	defer s.Close()
	// Scripts read the first line of stdout to find the emulator.
	if _, err := fmt.Fprintln(stdout, s.URL()); err != nil {
		_, _ = fmt.Fprintf(stderr, "ststest: error: write the URL: %v\n", err)
		return 1
	}
	<-ctx.Done()
	return 0
}
