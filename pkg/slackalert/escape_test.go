package slackalert

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain *bold* _it_ ~s~ `c`", "plain *bold* _it_ ~s~ `c`"},
		{"<!channel>", "&lt;!channel&gt;"},
		{"<https://evil.example|Open console>", "&lt;https://evil.example|Open console&gt;"},
		{"a & b", "a &amp; b"},
		{"&lt; already", "&amp;lt; already"},
		{"<@U123> <#C1> <!subteam^S1>", "&lt;@U123&gt; &lt;#C1&gt; &lt;!subteam^S1&gt;"},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"line1\nline2\r\tx", "line1 line2  x"},
		{"a\u202Eevil", "a\uFFFDevil"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"sep\u2028x", "sep x"},
		{"ünïcödé 🔥", "ünïcödé 🔥"},
	} {
		if got := clean(tc.in); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEscTruncates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"fits", "abc", 3, "abc"},
		{"fits escaped", "a<b", 6, "a&lt;b"},
		{"cut plain", strings.Repeat("x", 20), 15, "xx" + truncSuffix},
		// "&amp;" would pass the cut: it is left out whole, not split.
		{"no split escape", "abc&def" + strings.Repeat("y", 20), 18, "abc" + truncSuffix},
		{"emoji counts two", strings.Repeat("🔥", 10), 16, "🔥" + truncSuffix},
		{"tiny limit", "abcdef", 3, "… ("},
		{"zero limit", "abcdef", 0, ""},
		{"negative limit", "abcdef", -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := esc(tc.in, tc.limit)
			if got != tc.want {
				t.Errorf("esc(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
			}
			if width(got) > max(tc.limit, 0) {
				t.Errorf("width %d > limit %d", width(got), tc.limit)
			}
			if !utf8.ValidString(got) {
				t.Errorf("invalid UTF-8: %q", got)
			}
		})
	}
}

// Every cut of an escaped value is a whole number of escapes: no '&'
// without its ';'.
func TestEscNeverSplitsEscapes(t *testing.T) {
	in := strings.Repeat("<&>", 50)
	for limit := 0; limit < 200; limit++ {
		got := strings.TrimSuffix(esc(in, limit), truncSuffix)
		if strings.Count(got, "&") != strings.Count(got, ";") {
			t.Fatalf("limit %d: split escape in %q", limit, got)
		}
		if width(esc(in, limit)) > limit {
			t.Fatalf("limit %d: width %d", limit, width(esc(in, limit)))
		}
	}
}
