#!/usr/bin/env bash
# Regenerates the command reference in docs/reference from the Cobra tree
# (scripts/gendocs). Run it after changing a command, a flag or a help text:
# scripts/gendocs' TestReferenceDocsUpToDate fails until the pages match.
#
#   scripts/gen-docs.sh            Markdown into docs/reference
#   scripts/gen-docs.sh MANDIR     also man pages into MANDIR (GoReleaser
#                                  builds them itself into manpages/)
set -euo pipefail
cd "$(dirname "$0")/.."

args=(--markdown docs/reference)
if [[ $# -gt 0 ]]; then
	args+=(--man "$1")
fi
go run ./scripts/gendocs "${args[@]}"
echo "gen-docs: wrote docs/reference${1:+ and $1}" >&2
