package cache

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecodeEntry feeds arbitrary bytes to the entry decoder, as a corrupt
// or hostile cache file would. Decoding must never panic, and whatever
// decodes must be a valid entry that encodes and decodes to itself. The seed
// corpus in testdata/fuzz/FuzzDecodeEntry runs with every `go test`.
func FuzzDecodeEntry(f *testing.F) {
	key := testKey("app")
	valid := encoded(f, testEntry("seed", time.Hour), key)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeEntry(data)
		if err != nil {
			return
		}
		if err := e.validate(); err != nil {
			t.Fatalf("decodeEntry accepted an invalid entry: %v", err)
		}
		again, err := encodeEntry(e)
		if err != nil {
			t.Fatalf("a decoded entry does not encode: %v", err)
		}
		e2, err := decodeEntry(again)
		if err != nil {
			t.Fatalf("a re-encoded entry does not decode: %v", err)
		}
		third, err := encodeEntry(e2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, third) {
			t.Fatalf("encoding is not stable: %d bytes, then %d", len(again), len(third))
		}
	})
}
