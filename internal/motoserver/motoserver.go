// Package motoserver runs moto's AWS stand-in (moto_server) for tests, and
// a loopback proxy in front of it that counts, delays or refuses calls.
package motoserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Server is a running moto_server.
type Server struct {
	// URL is its endpoint, http://127.0.0.1:PORT.
	URL    string
	cmd    *exec.Cmd
	exited chan struct{} // closed once it has exited
}

// Start runs moto_server on a free loopback port with AWS's managed IAM
// policies loaded, waits until it answers, and stops it when the test
// ends. A missing moto_server fails the test: the tests that need it prove
// what the code does against AWS's protocols.
func Start(t testing.TB) *Server {
	t.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is not installed (pip install 'moto[server]'): %v", err)
	}
	var lastErr error
	for range 3 { // a free port may be taken before moto binds it
		s, err := start(path)
		if err == nil {
			t.Cleanup(s.stop)
			return s
		}
		lastErr = err
	}
	t.Fatalf("moto_server: %v", lastErr)
	return nil
}

func start(path string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	out := &syncBuffer{}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", port)
	cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, killed with this process: moto_server is a
	// Python launcher that may start children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	var werr error
	exited := make(chan struct{})
	go func() { werr = cmd.Wait(); close(exited) }()
	s := &Server{URL: "http://127.0.0.1:" + port, cmd: cmd, exited: exited}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		// moto answers /moto-api/ once its routes are loaded.
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/data.json", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("exited before answering on port %s: %v\n%s", port, werr, out.String())
		case <-ctx.Done():
			s.kill()
			<-exited
			return nil, fmt.Errorf("no answer on port %s in 60s: %v\n%s", port, errors.Join(ctx.Err(), err), out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) kill() { _ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) }

// stop ends the server's process group: SIGTERM, then SIGKILL if it
// lingers.
func (s *Server) stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(3 * time.Second):
		s.kill()
		<-s.exited
	}
}

// Reset drops everything moto holds, so one server can serve several
// tests.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("moto reset: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto reset: %s", resp.Status)
	}
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Keep the start and the last part: that is where the reason is.
	if b.b.Len() > 1<<20 {
		rest := b.b.Bytes()[b.b.Len()-64<<10:]
		b.b.Reset()
		b.b.WriteString("...\n")
		b.b.Write(rest)
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.b.String())
}

// Config is an SDK configuration that reaches endpoint (moto, or a proxy
// in front of it) in region, signing with a fixed test key pair; moto
// puts what it is sent in its default account, 123456789012.
func Config(endpoint, region string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
	}
}

// DefaultAccount is the account moto files calls under unless the
// credentials come from an assumed role.
const DefaultAccount = "123456789012"
