package archivetest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc64"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail/cloudtrailtest"
)

// Server is gofakes3, holding its buckets in memory, behind a Proxy. Like
// S3, which stores a CRC-64/NVME checksum of every object written since
// 2025, it returns the checksum of each object Fill put when a read asks
// for it (x-amz-checksum-mode: ENABLED); gofakes3 alone keeps none.
type Server struct {
	*Proxy
	Backend *s3mem.Backend

	mu   sync.Mutex
	sums map[string]string // by path, /bucket/key
}

// NewServer starts gofakes3 behind a proxy on loopback.
func NewServer(o Options) (*Server, error) {
	s := &Server{Backend: s3mem.New(), sums: map[string]string{}}
	fake := gofakes3.New(s.Backend).Server()
	p, err := NewProxy(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED") {
			s.mu.Lock()
			sum, ok := s.sums[r.URL.Path]
			s.mu.Unlock()
			if ok {
				w.Header().Set("x-amz-checksum-crc64nvme", sum)
				w.Header().Set("x-amz-checksum-type", "FULL_OBJECT")
			}
		}
		fake.ServeHTTP(w, r)
	}), o)
	if err != nil {
		return nil, err
	}
	s.Proxy = p
	return s, nil
}

// nvme is the CRC-64/NVME polynomial, bit-reversed as hash/crc64 takes it.
var nvme = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// checksum is an object's x-amz-checksum-crc64nvme.
func checksum(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, crc64.Checksum(b, nvme)))
}

// Filled is what Fill put in a bucket.
type Filled struct {
	cloudtrailtest.Written
	Keys []string // in key order
}

// Fill writes the archive a describes and puts it in bucket (made if
// missing) under prefix, laid out as CloudTrail lays it out.
func (s *Server) Fill(bucket, prefix string, a cloudtrailtest.Archive) (Filled, error) {
	var f Filled
	ok, err := s.Backend.BucketExists(bucket)
	if err != nil {
		return f, err
	}
	if !ok {
		if err := s.Backend.CreateBucket(bucket); err != nil {
			return f, fmt.Errorf("create bucket %s: %w", bucket, err)
		}
	}
	dir, err := os.MkdirTemp("", "archivetest-")
	if err != nil {
		return f, err
	}
	defer os.RemoveAll(dir)
	if f.Written, err = cloudtrailtest.Write(dir, a); err != nil {
		return f, fmt.Errorf("write archive: %w", err)
	}
	for _, p := range f.Paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return f, err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return f, err
		}
		key := prefix + filepath.ToSlash(rel)
		if _, err := s.Backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(b), int64(len(b)), nil); err != nil {
			return f, fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
		}
		s.mu.Lock()
		s.sums["/"+bucket+"/"+key] = checksum(b)
		s.mu.Unlock()
		f.Keys = append(f.Keys, key)
	}
	f.Paths = nil // removed with dir
	slices.Sort(f.Keys)
	return f, nil
}
