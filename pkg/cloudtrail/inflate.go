//go:build !libdeflate || !cgo

package cloudtrail

// fastInflater is the gunzipper that inflates a whole input in one call,
// in builds with libdeflate (-tags libdeflate); without it, the pure Go
// one does all.
type fastInflater struct{}

// inflate says false: the input is read the pure Go way.
func (*fastInflater) inflate([]byte, int) ([]byte, bool) { return nil, false }
