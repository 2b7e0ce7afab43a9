// Package motostate starts moto's server for tests that need AWS's real
// wire protocols (DynamoDB, Security Hub) on this machine.
package motostate

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region tests sign for; moto serves every region.
const Region = "eu-west-1"

// Account is the account moto answers as for any access key.
const Account = "123456789012"

// startWithin bounds moto's start: it imports every service's models.
const startWithin = 60 * time.Second

// Start runs moto_server on a free loopback port until the test ends and
// returns its endpoint URL. It fails the test, saying how to install it,
// when moto_server is not on PATH.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is not on PATH (python3 -m pip install 'moto[server]'): %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("moto_server: no free port: %v", err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	setProcessGroup(cmd)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("moto_server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		killProcessGroup(cmd)
		if err := <-exited; err != nil {
			t.Logf("moto_server on port %d stopped: %v", port, err)
		}
	})

	url := "http://127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithTimeout(context.Background(), startWithin)
	defer cancel()
	for {
		if ready(ctx, url) {
			return url
		}
		select {
		case err := <-exited:
			t.Fatalf("moto_server exited before answering (%v):\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("moto_server did not answer on %s within %s:\n%s", url, startWithin, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Config is an SDK configuration that signs for Region with a throwaway
// key; each client sets its BaseEndpoint to the URL Start returned.
func Config() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAMOTOTESTKEY00000", "secret", ""),
	}
}

func ready(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/moto-api/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("unexpected address %v", l.Addr())
	}
	return addr.Port, nil
}

// lockedBuffer collects the server's output for failure messages; the
// process writes to it while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
