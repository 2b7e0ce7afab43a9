package cloudtrail

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestInflate: whichever gunzipper the build has, InputReader reads
// every gzip input as the pure Go one does: members one after another,
// bytes after the stream named as an error, a cut or corrupt stream kept
// up to the break. One reader serves every input in turn.
func TestInflate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	text := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			fmt.Fprintf(&b, `{"eventID":"%x","eventName":"GetObject"},`, rng.Uint64())
		}
		return b.String()[:n]
	}
	big, small := text(300<<10), text(2000)
	corrupt := []byte(gz(t, big))
	corrupt[len(corrupt)/2] ^= 0xff
	tests := []struct {
		name  string
		in    string
		whole int
		want  string // all of it; with an error, what comes before the break
		err   string // "" when none
		rest  bool   // the input comes back in two parts
	}{
		{"one member", gz(t, big), 1 << 20, big, "", false},
		{"a small one after a large one", gz(t, small), 1 << 20, small, "", false},
		{"two members", gz(t, small) + gz(t, big), 1 << 20, small + big, "", false},
		{"an empty member", gz(t, "") + gz(t, small), 1 << 20, small, "", false},
		{"empty", gz(t, ""), 1 << 20, "", "", false},
		{"zeros after the stream", gz(t, small) + "\x00\x00\x00\x00", 1 << 20, small, "gzip: after 2000 bytes", false},
		{"cut short", gz(t, big)[:len(gz(t, big))/2], 1 << 20, big, "gzip: after", false},
		{"corrupt", string(corrupt), 1 << 20, "", "gzip: after", false}, // what comes before is garbage
		{"larger than whole", gz(t, big), 100 << 10, big, "", true},
		{"the size it ends with lies", gz(t, big)[:len(gz(t, big))-4] + "\x01\x00\x00\x00", 1 << 20, big, "gzip: after 307200 bytes", false},
	}
	var ir InputReader
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, rest, err := ir.Open(strings.NewReader(tt.in), tt.whole)
			got := string(data)
			if rest != nil {
				more, rerr := io.ReadAll(rest)
				got += string(more)
				if err == nil {
					err = rerr
				}
			}
			if (rest != nil) != tt.rest {
				t.Errorf("rest %v, want %v", rest != nil, tt.rest)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			switch {
			case tt.err == "" && got != tt.want:
				t.Errorf("%d bytes, want %d", len(got), len(tt.want))
			case tt.err != "" && tt.want != "" && (got == "" || !strings.HasPrefix(tt.want, got)):
				t.Errorf("%d bytes, want a start of the %d", len(got), len(tt.want))
			}
			if tt.err == "" && ir.Decompressed != int64(len(tt.want)) || ir.Compressed != int64(len(tt.in)) {
				t.Errorf("counted %d decompressed, %d stored", ir.Decompressed, ir.Compressed)
			}
		})
	}
}

// TestInflateRoomBounded: the size a gzip input ends with sets the room
// made for it only up to the bound the reader was given: the size is the
// input's word, and may lie.
func TestInflateRoomBounded(t *testing.T) {
	small := strings.Repeat(`{"eventName":"GetObject"},`, 100)
	z := gz(t, small)
	var ir InputReader
	for _, size := range []string{"\xff\xff\xff\xff", "\x00\x00\x30\x00"} { // 4 GiB, 3 MiB
		data, _, err := ir.Open(strings.NewReader(z[:len(z)-4]+size), 1<<20)
		if err == nil || !strings.HasPrefix(small, string(data)) {
			t.Errorf("%q: %d bytes, %v; want the input and an error", size, len(data), err)
		}
		if c := ir.buf.Cap(); c > 1<<20 {
			t.Errorf("%q: room for %d bytes, over the bound", size, c)
		}
	}
}

// TestInflateBounds: an input over MaxInput decompressed is refused
// whichever gunzipper reads it.
func TestInflateBounds(t *testing.T) {
	var ir InputReader
	data, rest, err := ir.Open(bytes.NewReader([]byte(gz(t, strings.Repeat(" ", 3<<20)))), MaxInput)
	if err != nil || rest != nil || len(data) != 3<<20 {
		t.Fatalf("%d bytes, rest %v, %v", len(data), rest, err)
	}
}
