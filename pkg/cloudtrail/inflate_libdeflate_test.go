//go:build libdeflate && cgo

package cloudtrail

import (
	"strings"
	"testing"
)

// TestLibdeflateInflates: built with libdeflate, a whole gzip input is
// inflated by it, not by the pure Go fallback.
func TestLibdeflateInflates(t *testing.T) {
	var ir InputReader
	data, err := ir.Read(strings.NewReader(gz(t, rec1)))
	if err != nil || string(data) != rec1 {
		t.Fatalf("%q, %v", data, err)
	}
	if ir.fast.d == nil || len(ir.fast.out) != len(rec1) || &ir.fast.out[0] != &data[0] {
		t.Error("libdeflate did not inflate the input")
	}
}
