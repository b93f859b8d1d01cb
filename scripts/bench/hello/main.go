// Command hello is the benchmark's lower baseline: the cost of starting any
// Go program.
package main

import "os"

func main() { _, _ = os.Stdout.WriteString("hello\n") }
