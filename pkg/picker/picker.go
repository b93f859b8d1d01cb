// Package picker is rolecall's interactive chooser: a list of rows, filtered
// fuzzily as the person types (sahilm/fuzzy), moved through with the arrow
// keys, picked with Enter, cancelled with Esc or Ctrl-C. It draws on the
// terminal it is given (/dev/tty), never on stdout, so that
// eval "$(rolecall assume)" evaluates only what rolecall prints after the
// pick.
//
// It is a few hundred lines on golang.org/x/term rather than a TUI
// framework: every package rolecall imports runs its init at every start,
// the credential_process cache hit included, and bubbletea with bubbles and
// lipgloss costs 45 packages, ~7 ms of init and ~1.9 MB of binary there
// (see docs/profiles.md).
package picker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sahilm/fuzzy"
	"golang.org/x/term"
)

// ErrCancelled is the person cancelling the pick (Esc, Ctrl-C).
var ErrCancelled = errors.New("cancelled")

// Row is one choice: its name (what is returned) and the cells shown after
// it. Rows are shown in the order given while nothing is typed.
type Row struct {
	Name  string
	Cells []string
}

// Model is the picker's state without a terminal: what is typed, which
// rows match, which is selected. Run drives it; tests drive it directly.
type Model struct {
	Prompt  string
	rows    []Row
	texts   []string // what a query is matched against, per row
	widths  []int    // column widths: the name, then each cell
	query   []rune
	matches []int // row indexes, best first
	cursor  int   // index into matches
	offset  int   // first match shown
}

// NewModel is a model over rows with nothing typed.
func NewModel(prompt string, rows []Row) *Model {
	m := &Model{Prompt: prompt, rows: rows, texts: make([]string, len(rows))}
	for i, r := range rows {
		m.texts[i] = r.Name + " " + strings.Join(r.Cells, " ")
		cols := append([]string{r.Name}, r.Cells...)
		for c, s := range cols {
			if c >= len(m.widths) {
				m.widths = append(m.widths, 0)
			}
			m.widths[c] = max(m.widths[c], utf8.RuneCountInString(s))
		}
	}
	m.filter()
	return m
}

type texts []string

func (t texts) String(i int) string { return t[i] }
func (t texts) Len() int            { return len(t) }

func (m *Model) filter() {
	m.matches = m.matches[:0]
	if len(m.query) == 0 {
		for i := range m.rows {
			m.matches = append(m.matches, i)
		}
	} else {
		// Stable: among equal scores the rows keep their order (recent first).
		for _, f := range fuzzy.FindFrom(string(m.query), texts(m.texts)) {
			m.matches = append(m.matches, f.Index)
		}
	}
	m.cursor, m.offset = 0, 0
}

// Key is one key press, as Decode reads them.
type Key struct {
	Rune rune // a printable character, else 0
	Kind KeyKind
}

// KeyKind is a key that is no character.
type KeyKind int

// The keys the picker knows.
const (
	KeyRune KeyKind = iota
	KeyUp
	KeyDown
	KeyEnter
	KeyBackspace
	KeyClear // Ctrl-U
	KeyCancel
	KeyNone // an escape sequence the picker does not use
)

// Decode splits what one read of the terminal returned into keys. A lone
// ESC is Esc; ESC [ or ESC O start a sequence (the arrows).
func Decode(b []byte) []Key {
	var keys []Key
	for len(b) > 0 {
		switch c := b[0]; {
		case c == 0x1b && len(b) == 1:
			keys, b = append(keys, Key{Kind: KeyCancel}), b[1:]
		case c == 0x1b && (b[1] == '[' || b[1] == 'O'):
			n := 2
			for n < len(b) && (b[n] < 0x40 || b[n] > 0x7e) {
				n++ // parameters of a CSI sequence
			}
			kind := KeyNone
			if n < len(b) {
				switch b[n] {
				case 'A':
					kind = KeyUp
				case 'B':
					kind = KeyDown
				}
				n++
			}
			keys, b = append(keys, Key{Kind: kind}), b[n:]
		case c == 0x1b:
			keys, b = append(keys, Key{Kind: KeyNone}), b[2:] // Alt+key
		case c == 0x03:
			keys, b = append(keys, Key{Kind: KeyCancel}), b[1:]
		case c == '\r' || c == '\n':
			keys, b = append(keys, Key{Kind: KeyEnter}), b[1:]
		case c == 0x7f || c == 0x08:
			keys, b = append(keys, Key{Kind: KeyBackspace}), b[1:]
		case c == 0x10: // Ctrl-P
			keys, b = append(keys, Key{Kind: KeyUp}), b[1:]
		case c == 0x0e: // Ctrl-N
			keys, b = append(keys, Key{Kind: KeyDown}), b[1:]
		case c == 0x15:
			keys, b = append(keys, Key{Kind: KeyClear}), b[1:]
		default:
			r, n := utf8.DecodeRune(b)
			if unicode.IsPrint(r) {
				keys = append(keys, Key{Kind: KeyRune, Rune: r})
			} else {
				keys = append(keys, Key{Kind: KeyNone})
			}
			b = b[n:]
		}
	}
	return keys
}

// Press applies a key. It returns the picked row's name when Enter picks
// one, ErrCancelled on Esc or Ctrl-C, and "", nil otherwise.
func (m *Model) Press(k Key) (string, error) {
	switch k.Kind {
	case KeyRune:
		m.query = append(m.query, k.Rune)
		m.filter()
	case KeyBackspace:
		if len(m.query) > 0 {
			m.query = m.query[:len(m.query)-1]
			m.filter()
		}
	case KeyClear:
		m.query = m.query[:0]
		m.filter()
	case KeyUp:
		if m.cursor > 0 {
			m.cursor--
		}
	case KeyDown:
		if m.cursor < len(m.matches)-1 {
			m.cursor++
		}
	case KeyEnter:
		if len(m.matches) > 0 {
			return m.rows[m.matches[m.cursor]].Name, nil
		}
	case KeyCancel:
		return "", ErrCancelled
	}
	return "", nil
}

// View draws the picker for a terminal of width columns and height lines:
// the prompt and what is typed, a count, then as many matches as fit, the
// selected one marked. No line is wider than width.
func (m *Model) View(width, height int) []string {
	width, height = max(width, 8), max(height, 3)
	lines := []string{clip(m.Prompt+string(m.query), width), clip(fmt.Sprintf("  %d/%d", len(m.matches), len(m.rows)), width)}
	room := height - len(lines)
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+room {
		m.offset = m.cursor - room + 1
	}
	for i := m.offset; i < len(m.matches) && i < m.offset+room; i++ {
		r := m.rows[m.matches[i]]
		mark := "  "
		if i == m.cursor {
			mark = "> "
		}
		var b strings.Builder
		b.WriteString(mark)
		for c, s := range append([]string{r.Name}, r.Cells...) {
			if c > 0 {
				b.WriteString("  ")
			}
			b.WriteString(s)
			if c < len(m.widths)-1 {
				b.WriteString(strings.Repeat(" ", m.widths[c]-utf8.RuneCountInString(s)))
			}
		}
		lines = append(lines, clip(strings.TrimRight(b.String(), " "), width))
	}
	return lines
}

// clip cuts s to width columns (every rune one column: names and cells are
// escaped ASCII in practice), marking a cut with "…".
func clip(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// Run shows the picker on tty until a row is picked (its name), the person
// cancels (ErrCancelled), or ctx ends (its cause). The terminal is put in
// raw mode and drawn on its alternate screen, and both are restored before
// Run returns.
func Run(ctx context.Context, tty *os.File, prompt string, rows []Row) (string, error) {
	fd := int(tty.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	defer func() { _ = term.Restore(fd, state) }()
	_, _ = io.WriteString(tty, "\x1b[?1049h")
	defer func() { _, _ = io.WriteString(tty, "\x1b[?1049l") }()

	m := NewModel(prompt, rows)
	type read struct {
		b   []byte
		err error
	}
	reads := make(chan read)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			buf := make([]byte, 256)
			n, err := tty.Read(buf)
			select {
			case reads <- read{buf[:n], err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		draw(tty, fd, m)
		select {
		case <-ctx.Done():
			return "", context.Cause(ctx)
		case r := <-reads:
			if r.err != nil {
				return "", fmt.Errorf("read the terminal: %w", r.err)
			}
			for _, k := range Decode(r.b) {
				if name, err := m.Press(k); name != "" || err != nil {
					return name, err
				}
			}
		}
	}
}

func draw(w io.Writer, fd int, m *Model) {
	width, height, err := term.GetSize(fd)
	if err != nil {
		width, height = 80, 24
	}
	lines := m.View(width, height)
	var b strings.Builder
	b.WriteString("\x1b[H\x1b[2J")
	b.WriteString(strings.Join(lines, "\r\n"))
	// The cursor after what is typed.
	fmt.Fprintf(&b, "\x1b[1;%dH", min(utf8.RuneCountInString(lines[0])+1, width))
	_, _ = io.WriteString(w, b.String())
}
