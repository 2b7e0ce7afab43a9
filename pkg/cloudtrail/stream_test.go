package cloudtrail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// outcome is what a decode yields, in order: a record's ID and position,
// or an error.
func outcome(seq func(func(Record, error) bool)) []string {
	var out []string
	for rec, err := range seq {
		if err != nil {
			out = append(out, "error: "+err.Error())
			continue
		}
		out = append(out, rec.EventID+" "+rec.Position+" "+rec.EventName)
	}
	return out
}

// windows are first window sizes a stream is read with: each value
// crosses window ends at many places.
var windows = []int{1, 7, 64, 4096, window}

// TestDecodeStreamAgrees: streaming yields what DecodeBytes yields over
// the whole input, record for record and error for error, broken input
// included, whatever the window.
func TestDecodeStreamAgrees(t *testing.T) {
	inputs := map[string]string{
		"log file, other keys": `{"Records":[` + rec1 + `],"x":{"y":[1]}}`,
		"two log files":        `{"Records":[` + rec1 + `]}` + "\n" + `{"Records":[` + rec2 + `]}`,
		"not a record":         `{"Records":[{"a":1},` + rec2 + `]}`,
		"number at the end":    rec1 + "\n12345",
		"many broken lines":    strings.Repeat("{\"eventID\": x\n", 50) + rec1,
		"other keys across windows": `{"Records":[],"` + strings.Repeat("k", 3000) + `":` + strings.Repeat(" ", 70000) + `{"a":1}` +
			strings.Repeat("\n", 70000) + `,"x":[]}` + "\n" + rec1,
		"cut after many lines":      `{"Records":[` + rec1 + `,` + strings.Repeat("\n", 70000),
		"broken key across windows": `{"Records":[],"` + strings.Repeat("k", 70000) + "\n" + `":1}` + "\n" + rec1,
	}
	for _, tt := range envelopeTests {
		inputs[tt.name] = tt.input
	}
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = string(b)
	}
	keep := func(b []byte) bool { return !bytes.Contains(b, []byte(`"e2"`)) }
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			for _, keep := range []func([]byte) bool{nil, keep} {
				want := outcome(DecodeBytes([]byte(in), keep))
				for _, size := range windows {
					got := outcome(decodeStream(iotest.OneByteReader(strings.NewReader(in)), keep, size))
					if strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Fatalf("window %d:\n%s\nwhole:\n%s", size, strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
				}
			}
		})
	}
}

// TestDecodeStreamBroken: a stream goes on after a broken record, and one
// that cannot be read to its end yields what came before, then why.
func TestDecodeStreamBroken(t *testing.T) {
	in := `{"Records":[` + rec1 + `,{"eventID":` + `]}` + "\n" + rec2
	want := []string{
		"e1 record 1 AddPermission20150331v2",
		"error: record 2 (line 1): invalid JSON: invalid character ']' looking for beginning of value",
		"e2 record 3 CreateFunctionUrlConfig",
	}
	if got := outcome(DecodeStream(strings.NewReader(in), nil)); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	cut := errors.New("connection reset")
	got := outcome(decodeStream(&failAfter{r: strings.NewReader(`{"Records":[` + rec1 + `,` + rec2[:40]), err: cut}, nil, 64))
	want = []string{
		"e1 record 1 AddPermission20150331v2",
		"error: record 2 (line 1): invalid JSON: unexpected EOF",
		"error: connection reset",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("cut: got %q, want %q", got, want)
	}
}

// TestOpenLarge: an input over the whole-read size comes back as a stream
// that yields every record; one over MaxInput fails after the records
// before the bound.
func TestOpenLarge(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	const n = 2000
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.Replace(rec1, `"e1"`, fmt.Sprintf(`"e%d"`, i), 1))
	}
	b.WriteString(`]}`)
	in := gz(t, b.String())

	var ir InputReader
	data, rest, err := ir.Open(strings.NewReader(in), 64<<10)
	if err != nil || rest == nil || len(data) != 64<<10+1 {
		t.Fatalf("Open: %d bytes, rest %v, %v", len(data), rest, err)
	}
	records := 0
	for rec, err := range DecodeStream(io.MultiReader(bytes.NewReader(data), rest), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("e%d", records); rec.EventID != want {
			t.Fatalf("record %d is %s, want %s", records, rec.EventID, want)
		}
		records++
	}
	if records != n || ir.Compressed != int64(len(in)) || ir.Decompressed != int64(b.Len()) {
		t.Errorf("%d records, %d of %d stored bytes and %d of %d decompressed bytes read", records, ir.Compressed, len(in), ir.Decompressed, b.Len())
	}

	ir.Limit = b.Len() / 2
	data, rest, err = ir.Open(strings.NewReader(in), 64<<10)
	if err != nil || rest == nil {
		t.Fatalf("Open: %v", err)
	}
	records = 0
	var last error
	for _, err := range DecodeStream(io.MultiReader(bytes.NewReader(data), rest), nil) {
		if err != nil {
			last = err
			continue
		}
		records++
	}
	if records == 0 || records >= n || last == nil || !errors.Is(last, errTooLarge) && !strings.Contains(last.Error(), "larger than") {
		t.Errorf("%d records, error %v", records, last)
	}
}

// TestMaxRecord: a record larger than AWS writes is refused by name; the
// records around it stand, and a large log file is still read.
func TestMaxRecord(t *testing.T) {
	huge := `{"eventID":"big","eventSource":"lambda.amazonaws.com","eventName":"AddPermission","userAgent":"` + strings.Repeat("a", MaxRecord) + `"}`
	for name, in := range map[string]string{
		"JSON Lines": rec1 + "\n" + huge + "\n" + rec2,
		"log file":   `{"Records":[` + rec1 + "," + huge + "," + rec2 + `]}`,
	} {
		for how, decode := range map[string]func(string) []string{
			"whole":  func(s string) []string { return outcome(Decode(strings.NewReader(s))) },
			"stream": func(s string) []string { return outcome(DecodeStream(strings.NewReader(s), nil)) },
		} {
			got := decode(in)
			if len(got) != 3 || !strings.HasPrefix(got[0], "e1 ") || !strings.HasPrefix(got[2], "e2 ") ||
				!strings.Contains(got[1], "error: record 2: ") || !strings.Contains(got[1], "larger than any CloudTrail record") {
				t.Errorf("%s, %s: got %.300q", name, how, got)
			}
		}
	}
	var b strings.Builder
	b.WriteString(`{"x":1,"Records":[`)
	for i := range MaxRecord / len(rec1) * 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(rec1)
	}
	b.WriteString("]}")
	for _, out := range outcome(Decode(strings.NewReader(b.String()))) {
		if strings.HasPrefix(out, "error") {
			t.Fatalf("a large log file: %s", out)
		}
	}
}

// TestKeep: records keep refuses are passed over, not decoded (a broken
// one reports nothing), and the others keep their positions.
func TestKeep(t *testing.T) {
	broken := `{"eventID":"bad","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"soon"}`
	in := `{"Records":[` + broken + `,` + rec1 + `,` + rec2 + `]}` + "\n" + eventBridge(rec1)
	keep := func(b []byte) bool {
		return !bytes.Contains(b, []byte("GetObject")) && !bytes.Contains(b, []byte(`"e2"`))
	}
	want := []string{"e1 record 2 AddPermission20150331v2", "e1 record 4 AddPermission20150331v2"}
	for how, got := range map[string][]string{
		"bytes":  outcome(DecodeBytes([]byte(in), keep)),
		"stream": outcome(DecodeStream(strings.NewReader(in), keep)),
	} {
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: got %q, want %q", how, got, want)
		}
	}
	if got := outcome(DecodeBytes([]byte(in), nil)); len(got) != 4 || !strings.Contains(got[0], "eventTime") {
		t.Errorf("without keep: %q", got)
	}
}

// failAfter returns its bytes, then an error.
type failAfter struct {
	r   io.Reader
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestOpenStored: a stored input too large to read whole first streams
// through the gunzipper; a read that fails keeps what came before it.
func TestOpenStored(t *testing.T) {
	var b strings.Builder
	for i := range 500 {
		b.WriteString(strings.Replace(rec1, `"e1"`, fmt.Sprintf(`"e%d"`, i), 1) + "\n")
	}
	in := gz(t, b.String())
	ir := InputReader{StoredWhole: 100}
	data, rest, err := ir.Open(strings.NewReader(in), 1<<20)
	if err != nil || rest != nil || string(data) != b.String() || ir.Compressed != int64(len(in)) {
		t.Fatalf("streamed: %d bytes, rest %v, %d stored bytes read of %d, %v", len(data), rest, ir.Compressed, len(in), err)
	}

	ir.StoredWhole = 8 << 20
	cut := []byte(in[:len(in)/2])
	data, _, err = ir.Open(&failAfter{r: bytes.NewReader(cut), err: errors.New("connection reset")}, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "read: after") || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("error %v", err)
	}
	n := 0
	for rec, err := range DecodeBytes(data, nil) {
		if err == nil && rec.EventID != "" {
			n++
		}
	}
	if n == 0 || n >= 500 {
		t.Errorf("%d records before the failed read", n)
	}
}
