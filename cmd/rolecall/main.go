// Command rolecall assumes AWS IAM roles and emits the temporary credentials
// where they are needed. All of it lives in pkg/cli.
package main

import (
	"os"

	"github.com/rolecall/rolecall/pkg/cli"
)

func main() {
	os.Exit(cli.Main())
}
