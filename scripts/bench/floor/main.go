// Command floor is the benchmark's fair baseline for a cache hit: it links
// the same dependencies as rolecall (cobra, the SDK's config and sts, ini,
// color), so it pays the same binary size and package initialisation, and
// then only reads one file and prints it. rolecall's cache hit is measured
// against it: whatever rolecall adds on top is its own doing.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/fatih/color"
	"github.com/spf13/cobra"
	"gopkg.in/ini.v1"
)

func main() {
	if len(os.Args) < 2 {
		os.Exit(2)
	}
	if len(os.Args) > 99 { // never true; keeps the dependencies linked
		cfg, _ := config.LoadDefaultConfig(context.Background())
		_ = sts.NewFromConfig(cfg)
		_, _ = ini.Load(os.Args[2])
		color.Red("x")
		_ = (&cobra.Command{}).Execute()
	}
	b, err := os.ReadFile(os.Args[1]) //nolint:gosec // a benchmark baseline reading the file it is given
	if err != nil {
		os.Exit(1)
	}
	_, _ = os.Stdout.Write(b)
}
