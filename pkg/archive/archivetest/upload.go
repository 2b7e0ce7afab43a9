package archivetest

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// BrokenKey is where UploadArchive puts a copy of the archive's last log
// file cut in half: a hunt must name it and read the rest.
const BrokenKey = "org/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/10/03/111122223333_CloudTrail_eu-west-1_20261003T2359Z_broken.json.gz"

// UploadArchive serves the log files at paths, a local archive under dir,
// from gofakes3 on loopback until the test ends: in bucket, under org/,
// with a broken copy of the last at BrokenKey and a digest file a hunt
// passes over. It returns the server's URL.
func UploadArchive(t testing.TB, bucket, dir string, paths []string) string {
	t.Helper()
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	put := func(key string, b []byte) {
		t.Helper()
		if _, err := backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(b), int64(len(b)), nil); err != nil {
			t.Fatal(err)
		}
	}
	var last []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		put("org/"+filepath.ToSlash(rel), b)
		last = b
	}
	put(BrokenKey, last[:len(last)/2])
	put("org/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/10/01/digest.json.gz", []byte("not read"))
	return srv.URL
}
