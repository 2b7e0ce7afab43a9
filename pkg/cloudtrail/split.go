package cloudtrail

import (
	"encoding/binary"
	"math/bits"
)

// The splitter finds where a record ends by its brackets and quotes alone,
// many times faster than a JSON parser: a hunt reads every record of a
// kept file, and fully decodes only the few that name a call it watches.
// It does not check the JSON; whoever decodes a record does.

// scan is what valueEnd found.
type scan int

const (
	closed scan = iota // the value ends within the bytes
	short              // the bytes end before the value does
	bad                // not an object, array or string; or broken past finding its end
)

// class is how the splitter sees a byte outside strings.
var class = func() (c [256]byte) {
	for _, b := range []byte(`"{}[]`) {
		c[b] = b
	}
	return c
}()

// inString marks the bytes that end a run of plain bytes in a string.
var inString = func() (c [256]bool) {
	c['"'], c['\\'], c['\n'] = true, true, true
	return c
}()

// valueEnd returns the length of the object, array or string at the start
// of b. A closing bracket of the other kind closes the brackets opened
// since its own kind was, so that {"a":[1} ends where it seems to; a
// closing bracket with none of its kind open is bad. A line break in a
// string is bad too: no JSON string holds one, and a JSON Lines record
// ends there. Brackets nested deeper than 64 are bad, left to the parser:
// no record nests so deep.
func valueEnd(b []byte) (int, scan) {
	if len(b) == 0 {
		return 0, short
	}
	switch b[0] {
	case '"':
		return stringEnd(b, 1)
	case '{', '[':
	default:
		return 0, bad
	}
	// Bit i of kinds is set when the level i out from the innermost was
	// opened by {.
	var kinds uint64
	depth := 0
	for i := 0; i < len(b); i++ {
		switch class[b[i]] {
		case 0:
		case '"':
			n, s := stringEnd(b, i+1)
			if s != closed {
				return n, s
			}
			i = n - 1
		case '{', '[':
			if depth == 64 {
				return i, bad
			}
			kinds <<= 1
			if b[i] == '{' {
				kinds |= 1
			}
			depth++
		default: // } or ]
			open := kinds // the levels this bracket may close
			if b[i] == ']' {
				open = ^kinds
			}
			if depth < 64 {
				open &= 1<<depth - 1
			}
			if open == 0 {
				return i, bad
			}
			closes := bits.TrailingZeros64(open) + 1
			kinds >>= closes
			depth -= closes
			if depth == 0 {
				return i + 1, closed
			}
		}
	}
	return len(b), short
}

// stringEnd returns the offset in b after the string whose first byte
// (after its opening quote) is at i.
func stringEnd(b []byte, i int) (int, scan) {
	for {
		// Eight bytes at a time while none of them ends a plain run: most
		// of a record is strings.
		for ; i+8 <= len(b); i += 8 {
			if m := stops(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
		}
		for ; i < len(b) && !inString[b[i]]; i++ {
		}
		if i >= len(b) {
			return len(b), short
		}
		switch b[i] {
		case '"':
			return i + 1, closed
		case '\\':
			i += 2 // the escaped byte, a quote perhaps
		default: // a line break
			return i, bad
		}
	}
}

// stops has the high bit set in the lowest byte of x that is a quote, a
// backslash or a line break (and perhaps in bytes above it).
func stops(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ ones*'"'
	s := x ^ ones*'\\'
	n := x ^ ones*'\n'
	return ((q-ones)&^q | (s-ones)&^s | (n-ones)&^n) & highs
}
