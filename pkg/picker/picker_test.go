package picker

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestModelFilterMovePick(t *testing.T) {
	rows := []Row{{Name: "deploy-prod", Cells: []string{"111111111111"}}, {Name: "deploy-dev"}, {Name: "audit"}}
	for _, tt := range []struct{ keys, want string }{
		{"prod\r", "deploy-prod"},
		{"\x1b[B\r", "deploy-dev"},             // Down from the first row
		{"\x1b[B\x1b[B\x1b[A\r", "deploy-dev"}, // Down, Down, Up
		{"xyz\x7f\x7f\x7faud\r", "audit"},      // typed, erased, typed
	} {
		m := NewModel("role> ", rows)
		got := ""
		for _, k := range Decode([]byte(tt.keys)) {
			name, err := m.Press(k)
			if err != nil {
				t.Fatalf("%q: %v", tt.keys, err)
			}
			if name != "" {
				got = name
				break
			}
		}
		if got != tt.want {
			t.Errorf("%q picked %q, want %q", tt.keys, got, tt.want)
		}
	}
}

func TestDecodeCancel(t *testing.T) {
	for _, in := range []string{"\x1b", "\x03"} {
		if _, err := NewModel("", []Row{{Name: "a"}}).Press(Decode([]byte(in))[0]); !errors.Is(err, ErrCancelled) {
			t.Errorf("%q: %v, want ErrCancelled", in, err)
		}
	}
}

func TestViewFitsTheWidth(t *testing.T) {
	m := NewModel("role> ", []Row{{Name: strings.Repeat("x", 100), Cells: []string{"123456789012", "role"}}})
	for _, w := range []int{20, 300} {
		for _, l := range m.View(w, 10) {
			if n := len([]rune(l)); n > w {
				t.Errorf("width %d: a line of %d columns: %q", w, n, l)
			}
		}
	}
}

// TestRecordConcurrent: picks recorded at once by many processes (here
// goroutines, through the same lock file) each count.
func TestRecordConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), HistoryFile)
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Record(context.Background(), path, "deploy", now, time.Minute); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := LoadHistory(path).Picks["deploy"].Count; got != 16 {
		t.Fatalf("count %d, want 16", got)
	}
	if err := Record(context.Background(), path, "audit", now.Add(time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	rows := []Row{{Name: "audit"}, {Name: "never"}, {Name: "deploy"}}
	LoadHistory(path).Order(rows, now.Add(time.Hour))
	if got := rows[0].Name + "," + rows[1].Name + "," + rows[2].Name; got != "deploy,audit,never" {
		t.Fatalf("order %s, want deploy,audit,never (most used, then recent, then the rest)", got)
	}
}
