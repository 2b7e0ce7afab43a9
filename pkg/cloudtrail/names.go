package cloudtrail

import (
	"bytes"
	"iter"
)

// nameKeys are the keys a call's name is written under: eventName in
// CloudTrail's records, eventname in Athena's rows.
var nameKeys = [][]byte{[]byte(`"eventName"`), []byte(`"eventname"`)}

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
		for _, key := range nameKeys {
			rest := data
			for {
				i := bytes.Index(rest, key)
				if i < 0 {
					break
				}
				rest = rest[i+len(key):]
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
					break
				}
				if !yield(v[:end]) {
					return
				}
				rest = v[end:]
			}
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
