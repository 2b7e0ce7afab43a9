package cloudtrail

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
)

func TestValueEnd(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want scan
	}{
		{`{}`, 2, closed},
		{`{"a":1} tail`, 7, closed},
		{`[1,2,{"b":[3]}],`, 15, closed},
		{`"abc" x`, 5, closed},
		{`"a\"b" x`, 6, closed},
		{`"a\\" x`, 5, closed},
		{`{"a":"}"}x`, 9, closed},
		{`{"a":"\\\"}"}x`, 13, closed},
		{`{"a":"{[" , "b":"]]"}x`, 21, closed},
		{`{"a":1`, 6, short},
		{`{"a":"12345678901234567890`, 26, short},
		{`"abc\`, 5, short},
		{``, 0, short},
		{`{"a":[1}, {"b":2}`, 8, closed}, // } closes the [ left open
		{`[{"a":1]`, 8, closed},          // ] closes the { left open
		{`{"a":1]`, 6, bad},              // no [ open
		{`}`, 0, bad},                    // not a value
		{`42`, 0, bad},                   // left to encoding/json
		{"{\"a\":\"x\ny\"}", 7, bad},     // a line break in a string
		{"{\"a\":\n1}", 8, closed},       // a line break between tokens
		{strings.Repeat("[", 64) + strings.Repeat("]", 64), 128, closed},
		{strings.Repeat("[", 65) + strings.Repeat("]", 65), 64, bad},
		{`{"a":"` + strings.Repeat("x", 100) + `\"` + strings.Repeat("y", 9) + `"}`, 119, closed},
	}
	for _, tt := range tests {
		n, s := valueEnd([]byte(tt.in))
		if n != tt.n || s != tt.want {
			t.Errorf("valueEnd(%.40q) = %d, %d; want %d, %d", tt.in, n, s, tt.n, tt.want)
		}
	}
}

// FuzzValueEnd: on valid JSON, the splitter ends each object, array and
// string where encoding/json does.
func FuzzValueEnd(f *testing.F) {
	for _, s := range []string{rec1, `{"a":"\\\""}`, `[[],[{}]]`, `"\u0041"`, `{"a" : [ 1 , "}" ] }`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.TrimRight(b, " \t\r\n")
		if !json.Valid(b) || len(b) == 0 || b[0] != '{' && b[0] != '[' && b[0] != '"' {
			return
		}
		n, s := valueEnd(append(b, " , x"...))
		if s == bad && strings.Count(string(b), "[")+strings.Count(string(b), "{") > 64 {
			return // deeper than the splitter tracks, perhaps
		}
		if s != closed || n != len(b) {
			t.Fatalf("valueEnd = %d, %d; want %d", n, s, len(b))
		}
	})
}

func BenchmarkValueEnd(b *testing.B) {
	b.SetBytes(int64(len(rec1)))
	data := []byte(rec1)
	for b.Loop() {
		if n, s := valueEnd(data); s != closed || n != len(data) {
			b.Fatal(n, s)
		}
	}
}

// BenchmarkSplitLogFile splits the records of a log file shaped as
// CloudTrail writes them.
func BenchmarkSplitLogFile(b *testing.B) {
	dir := b.TempDir()
	w, err := cloudtrailtest.Write(dir, cloudtrailtest.Archive{Files: 1, RecordsPerFile: 40, Seed: 5})
	if err != nil {
		b.Fatal(err)
	}
	var ir InputReader
	z, err := os.ReadFile(w.Paths[0])
	if err != nil {
		b.Fatal(err)
	}
	data, err := ir.Read(bytes.NewReader(z))
	if err != nil {
		b.Fatal(err)
	}
	arr, _ := recordsArray(data)
	b.SetBytes(int64(len(arr)))
	for b.Loop() {
		n := 0
		for i := 1; arr[i] == '{'; i++ {
			end, s := valueEnd(arr[i:])
			if s != closed {
				b.Fatal(s)
			}
			i += end
			n++
		}
		if n != 40 {
			b.Fatal(n)
		}
	}
}
