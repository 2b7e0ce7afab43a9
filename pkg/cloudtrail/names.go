package cloudtrail

import (
	"bytes"
	"iter"
)

// A call's name is written under eventName in CloudTrail's records and
// under eventname in Athena's rows. Both keys are found in one search for
// their rarest byte, v: a byte search runs fastest on a rare byte, and a
// record holds few v besides its event keys (eventVersion, eventTime...).
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
			i := bytes.IndexByte(data[at:], 'v')
			if i < 0 {
				return
			}
			i += at
			at = i + 1
			// "eventName" or "eventname", then a colon: the v is at 2 of
			// 11 bytes at least. Compared as strings, without a call.
			if i < 2 || len(data)-i < 9 || string(data[i-2:i+4]) != `"event` ||
				string(data[i+5:i+9]) != `ame"` || data[i+4] != 'N' && data[i+4] != 'n' {
				continue // eventSource, prevent, ...
			}
			rest := data[i+9:]
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
			at = i + 9 + j + 1 + end
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
