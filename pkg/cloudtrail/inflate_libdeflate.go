//go:build libdeflate && cgo

// Built with -tags libdeflate (and cgo), whole gzip inputs are inflated by
// libdeflate (Debian's libdeflate-dev to build, libdeflate0 to run; or
// static: -tags libdeflate,netgo,osusergo -ldflags '-linkmode external
// -extldflags "-static"'). Without the tag, or with CGO_ENABLED=0, the
// pure Go gunzipper does all.

package cloudtrail

/*
#cgo LDFLAGS: -ldeflate
#include <libdeflate.h>
*/
import "C"

import (
	"encoding/binary"
	"runtime"
	"unsafe"
)

// fastInflater inflates whole gzip inputs with libdeflate, which runs
// about half again as fast as the pure Go gunzipper.
type fastInflater struct {
	d   *decompressor
	out []byte // the last input, inflated
}

// decompressor holds libdeflate's state, freed when it is dropped.
type decompressor struct {
	p *C.struct_libdeflate_decompressor
}

// inflate gunzips raw, all of it a gzip stream of one member or more, when
// it holds at most limit bytes decompressed, and at most keptBuffer: a
// larger one goes the pure Go way, as does one that fails (a broken or cut
// stream, bytes after it), which keeps what comes before a break and names
// the break. A cut stream ends with no true size, so a first try that
// finds too little room gets one more, with all the room there is. The
// bytes are valid until the next call.
func (f *fastInflater) inflate(raw []byte, limit int) ([]byte, bool) {
	if len(raw) < 18 || raw[0] != 0x1f || raw[1] != 0x8b {
		return nil, false
	}
	if f.d == nil {
		p := C.libdeflate_alloc_decompressor()
		if p == nil {
			return nil, false
		}
		f.d = &decompressor{p}
		runtime.AddCleanup(f.d, func(p *C.struct_libdeflate_decompressor) { C.libdeflate_free_decompressor(p) }, p)
	}
	budget := min(limit, keptBuffer)
	out := f.out[:0]
	// The last member ends with its size (mod 2^32); a log file has one.
	want := int(binary.LittleEndian.Uint32(raw[len(raw)-4:]))
	for in := raw; len(in) > 0; {
		if len(in) < 18 || in[0] != 0x1f || in[1] != 0x8b {
			return nil, false // bytes after the stream: the Go way names them
		}
		room := min(max(want, 4*len(in), 4<<10), budget-len(out)+1)
		for try := 0; ; try++ {
			if cap(out)-len(out) < room {
				grown := make([]byte, len(out), len(out)+room)
				copy(grown, out)
				out = grown
			}
			free := out[len(out) : len(out)+room]
			var used, wrote C.size_t
			r := C.libdeflate_gzip_decompress_ex(f.d.p, unsafe.Pointer(&in[0]), C.size_t(len(in)),
				unsafe.Pointer(&free[0]), C.size_t(len(free)), &used, &wrote)
			if r == C.LIBDEFLATE_SUCCESS && len(out)+int(wrote) <= budget {
				out = out[:len(out)+int(wrote)]
				in = in[used:]
				break
			}
			if r != C.LIBDEFLATE_INSUFFICIENT_SPACE || try > 0 || room > budget-len(out) {
				return nil, false
			}
			room = budget - len(out) + 1
		}
		want = 0 // the size of a member before the last is not known
	}
	runtime.KeepAlive(f.d)
	f.out = out
	return out, true
}
