package picker

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// History is what was picked, how often and when last: the picker's order
// (most recently and most often used first). Its file, picks.json beside
// the credential cache, holds names only, never credentials:
//
//	{"version": 1, "picks": {"deploy": {"count": 3, "last": "2026-12-07T00:00:00Z"}}}
//
// It is replaced atomically (safefile.Replace) under a lock file
// (picks.json.lock), so concurrent picks each count and a reader never sees
// half a file.
type History struct {
	Version int             `json:"version"`
	Picks   map[string]Pick `json:"picks"`
}

// Pick is one name's use.
type Pick struct {
	Count int       `json:"count"`
	Last  time.Time `json:"last"`
}

// HistoryFile is the history's file name in the cache directory.
const HistoryFile = "picks.json"

// maxHistory caps the names kept: the least recently picked go first.
const maxHistory = 500

// LoadHistory reads the history at path; a missing or unreadable file is
// an empty history (the order is a convenience, never a failure).
func LoadHistory(path string) History {
	h := History{Version: 1, Picks: map[string]Pick{}}
	b, err := safefile.ReadFile(path, safefile.ReadOptions{MaxSize: 1 << 20, NoFollow: true})
	if err != nil {
		return h
	}
	var read History
	if json.Unmarshal(b, &read) != nil || read.Version != 1 {
		return h
	}
	for name, p := range read.Picks {
		h.Picks[name] = p
	}
	return h
}

// Record counts a pick of name at now in the history at path.
func Record(ctx context.Context, path, name string, now time.Time, timeout time.Duration) error {
	lock, err := safefile.Acquire(ctx, path+".lock", timeout)
	if err != nil {
		return err
	}
	defer lock.Release()
	h := LoadHistory(path)
	p := h.Picks[name]
	h.Picks[name] = Pick{Count: p.Count + 1, Last: now.UTC()}
	if len(h.Picks) > maxHistory {
		names := make([]string, 0, len(h.Picks))
		for n := range h.Picks {
			names = append(names, n)
		}
		slices.SortFunc(names, func(a, b string) int { return h.Picks[b].Last.Compare(h.Picks[a].Last) })
		for _, n := range names[maxHistory:] {
			delete(h.Picks, n)
		}
	}
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	return safefile.Replace(path, append(b, '\n'))
}

// Score is how far up name goes: its count, weighed down as its last pick
// ages (a week halves it twice), 0 for a name never picked.
func (h History) Score(name string, now time.Time) float64 {
	p, ok := h.Picks[name]
	if !ok {
		return 0
	}
	age := now.Sub(p.Last)
	weight := 1.0
	switch {
	case age > 7*24*time.Hour:
		weight = 0.25
	case age > 24*time.Hour:
		weight = 0.5
	case age > time.Hour:
		weight = 0.8
	}
	return float64(p.Count) * weight
}

// Order sorts rows with the highest score first; among equals the most
// recent pick, then the given order.
func (h History) Order(rows []Row, now time.Time) {
	slices.SortStableFunc(rows, func(a, b Row) int {
		return cmp.Or(
			cmp.Compare(h.Score(b.Name, now), h.Score(a.Name, now)),
			h.Picks[b.Name].Last.Compare(h.Picks[a.Name].Last))
	})
}
