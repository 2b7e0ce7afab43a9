package slackalert

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// truncSuffix marks text that was cut to fit a Slack limit.
const truncSuffix = "… (truncated)"

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape escapes s for Slack mrkdwn: exactly &, < and >, as Slack asks.
// Nothing else needs escaping: mentions and links all start with <.
func Escape(s string) string { return escaper.Replace(s) }

// width counts s as Slack may count its limits. UTF-16 code units are at
// least the number of runes, so a text that fits by this count fits by
// either.
func width(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// clean makes a CloudTrail value safe to show on one line: control
// characters (newlines included) become spaces so a value cannot fake
// extra lines of the alert, and bidirectional overrides and invalid UTF-8
// become U+FFFD so a value cannot reorder what is shown around it.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError:
			return utf8.RuneError
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return ' '
		case unicode.Is(unicode.Bidi_Control, r):
			return utf8.RuneError
		}
		return r
	}, s)
}

// esc cleans and escapes a CloudTrail value for mrkdwn and cuts it to limit
// (by width), ending a cut value with truncSuffix. It cuts between
// characters of the raw value, so an escape such as &amp; is never split.
func esc(raw string, limit int) string {
	return cut(clean(raw), limit, Escape)
}

// plain cleans a value for plain_text and cuts it to limit.
func plain(raw string, limit int) string {
	return cut(clean(raw), limit, func(s string) string { return s })
}

// cut applies enc to s rune by rune and keeps the result within limit.
func cut(s string, limit int, enc func(string) string) string {
	full := enc(s)
	if width(full) <= limit {
		return full
	}
	if limit <= 0 {
		return ""
	}
	budget := limit - width(truncSuffix)
	if budget < 0 {
		// Not even the marker fits; a limit this small is a bug in the
		// caller, but it must not produce an oversized text.
		return string([]rune(truncSuffix)[:limit])
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		piece := enc(string(r))
		w := width(piece)
		if n+w > budget {
			break
		}
		b.WriteString(piece)
		n += w
	}
	b.WriteString(truncSuffix)
	return b.String()
}

// orDash shows an empty value as a dash, so an empty field is visibly empty.
func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}
