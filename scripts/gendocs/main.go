// Command gendocs writes rolecall's command reference from the Cobra tree:
// Markdown into docs/reference (checked in; a test fails when it is stale)
// and man pages into a directory given on the command line (built by
// GoReleaser's before hook, shipped in the archives and packages).
//
//	go run ./scripts/gendocs --markdown docs/reference
//	go run ./scripts/gendocs --man manpages --version 1.2.3
//
// The output depends only on the command tree: no date, no machine's
// environment, so that regenerating it on any machine changes nothing.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/rolecall/rolecall/pkg/build"
	"github.com/rolecall/rolecall/pkg/cli"
)

func main() {
	markdownDir := flag.String("markdown", "", "write the Markdown reference into this directory")
	manDir := flag.String("man", "", "write man pages (section 1) into this directory")
	version := flag.String("version", build.Version, "the version the man pages' footer names")
	flag.Parse()
	if flag.NArg() != 0 || (*markdownDir == "" && *manDir == "") {
		fmt.Fprintln(os.Stderr, "usage: gendocs [--markdown DIR] [--man DIR]")
		os.Exit(2)
	}
	if err := run(*markdownDir, *manDir, *version); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}

func run(markdownDir, manDir, version string) error {
	if markdownDir != "" {
		if err := genMarkdown(tree(), markdownDir); err != nil {
			return err
		}
	}
	if manDir != "" {
		if err := genMan(tree(), manDir, version); err != nil {
			return err
		}
	}
	return nil
}

// tree is the command tree a user sees, with the `completion` and `help`
// commands that Cobra otherwise adds only when it executes.
func tree() *cobra.Command {
	root := cli.NewCmdRoot(&cli.IO{Getenv: func(string) string { return "" }, Now: time.Now})
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	root.DisableAutoGenTag = true // the tag carries today's date
	var disable func(*cobra.Command)
	disable = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, sub := range c.Commands() {
			disable(sub)
		}
	}
	disable(root)
	return root
}

// genMarkdown replaces dir's generated files, so that a command removed
// from the tree does not leave its page behind.
func genMarkdown(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // docs are public, like the checkout they live in
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "rolecall*.md"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	return doc.GenMarkdownTree(root, dir)
}

func genMan(root *cobra.Command, dir, version string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // man pages are public, installed 0755 by the packages
		return err
	}
	header := &doc.GenManHeader{
		Title:   "ROLECALL",
		Section: "1",
		Source:  strings.TrimSpace("rolecall " + version),
		Manual:  "rolecall manual",
	}
	// The page date: SOURCE_DATE_EPOCH when set (reproducible builds;
	// cobra/doc reads it), else today.
	return doc.GenManTree(root, header, dir)
}
