package awsconfig

import (
	"fmt"
	"strings"
)

// UnifiedDiff is the change from a to b as a unified diff (diff -u, three
// lines of context), "" when they are equal. Lines are compared whole;
// the common head and tail are trimmed first and the rest is matched by
// longest common subsequence, or, past a size where that would be slow,
// shown as one hunk that removes the old lines and adds the new.
func UnifiedDiff(aName, bName string, a, b []byte) string {
	if string(a) == string(b) {
		return ""
	}
	al, bl := splitKeepEOL(string(a)), splitKeepEOL(string(b))
	ops := diffLines(al, bl)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", aName, bName)
	const context = 3
	// Group the ops into hunks: changes with up to 2*context equal lines
	// between them share a hunk.
	i := 0
	for i < len(ops) {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-context, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*context {
				end = min(end+context, len(ops))
				break
			}
			end = run
		}
		aStart, bStart := ops[start].a, ops[start].b
		aCount, bCount := 0, 0
		var body strings.Builder
		for _, op := range ops[start:end] {
			line := op.text
			if !strings.HasSuffix(line, "\n") {
				line += "\n\\ No newline at end of file\n"
			}
			switch op.kind {
			case ' ':
				aCount++
				bCount++
			case '-':
				aCount++
			case '+':
				bCount++
			}
			body.WriteByte(op.kind)
			body.WriteString(line)
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aCount), hunkRange(bStart, bCount))
		out.WriteString(body.String())
		i = end
	}
	return out.String()
}

func hunkRange(start, count int) string {
	if count == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if count == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}

type diffOp struct {
	kind byte // ' ', '-' or '+'
	text string
	a, b int // line index in a and b where the op stands
}

func splitKeepEOL(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines, s = append(lines, s[:i+1]), s[i+1:]
	}
	return lines
}

// maxLCSCells bounds the LCS table (rows x columns of the changed middle).
const maxLCSCells = 4 << 20

func diffLines(a, b []string) []diffOp {
	var ops []diffOp
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		ops = append(ops, diffOp{' ', a[head], head, head})
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	am, bm := a[head:len(a)-tail], b[head:len(b)-tail]
	if len(am)*len(bm) > maxLCSCells {
		for i, l := range am {
			ops = append(ops, diffOp{'-', l, head + i, head})
		}
		for j, l := range bm {
			ops = append(ops, diffOp{'+', l, head + len(am), head + j})
		}
	} else {
		// lcs[i][j]: the LCS length of am[i:] and bm[j:].
		lcs := make([][]int32, len(am)+1)
		for i := range lcs {
			lcs[i] = make([]int32, len(bm)+1)
		}
		for i := len(am) - 1; i >= 0; i-- {
			for j := len(bm) - 1; j >= 0; j-- {
				if am[i] == bm[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(am) || j < len(bm) {
			switch {
			case i < len(am) && j < len(bm) && am[i] == bm[j]:
				ops = append(ops, diffOp{' ', am[i], head + i, head + j})
				i++
				j++
			case j < len(bm) && (i == len(am) || lcs[i][j+1] >= lcs[i+1][j]):
				ops = append(ops, diffOp{'+', bm[j], head + i, head + j})
				j++
			default:
				ops = append(ops, diffOp{'-', am[i], head + i, head + j})
				i++
			}
		}
	}
	for k := 0; k < tail; k++ {
		ai, bi := len(a)-tail+k, len(b)-tail+k
		ops = append(ops, diffOp{' ', a[ai], ai, bi})
	}
	return ops
}
