package cloudtrail

import (
	"bytes"
	"iter"
)

// A call's name is written under eventName in CloudTrail's records and
// under eventname in Athena's rows. Both keys are found in one search for
// their common part, vent: a v is far rarer in JSON than the quote, and a
// byte search runs fastest on a rare first byte.
var (
	nameAnchor = []byte("vent")
	nameTails  = [][]byte{[]byte(`Name"`), []byte(`name"`)}
)

// EventNames yields, in no set order, the name written under every
// eventName (or eventname) key in data, as its raw bytes between the
// quotes, at any depth. It does not parse the JSON: it finds the keys as
// bytes, many times faster, so that a hunt can tell which files name a
// call it watches before decoding any.
//
// Decode holds to it: a record it yields with a name has that name
// written under one of these keys, unless data holds a \u escape.
// encoding/json would also take the name from a key in another case
// (EVENTNAME), which CloudTrail never writes; Decode refuses such records.
func EventNames(data []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for at := 0; ; {
			i := bytes.Index(data[at:], nameAnchor)
			if i < 0 {
				return
			}
			i += at
			at = i + len(nameAnchor)
			if i < 2 || data[i-2] != '"' || data[i-1] != 'e' {
				continue // prevent, say
			}
			tail := data[at:]
			if !bytes.HasPrefix(tail, nameTails[0]) && !bytes.HasPrefix(tail, nameTails[1]) {
				continue // eventSource, eventTime, ...
			}
			rest := tail[len(nameTails[0]):]
			j := skipSpace(rest, 0)
			if j >= len(rest) || rest[j] != ':' {
				continue
			}
			j = skipSpace(rest, j+1)
			if j >= len(rest) || rest[j] != '"' {
				continue
			}
			v := rest[j+1:]
			end := bytes.IndexByte(v, '"')
			if end < 0 {
				return
			}
			if !yield(v[:end]) {
				return
			}
			at += len(nameTails[0]) + j + 1 + end
		}
	}
}

// nameWritten reports whether data writes name under a name key, or holds
// a \u escape that may spell the key or the name.
func nameWritten(data []byte, name string) bool {
	if name == "" || bytes.Contains(data, []byte(`\u`)) {
		return true
	}
	for v := range EventNames(data) {
		if string(v) == name {
			return true
		}
	}
	return false
}
