package localrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// invokePath is where the emulator takes invocations, as Lambda's Invoke
// API does.
const invokePath = "/2015-03-31/functions/function/invocations"

// Function is one bootstrap running under the emulator.
type Function struct {
	Name string
	// URL is the emulator's invocation endpoint.
	URL string

	proc    *process
	reports *reportLog
}

// FunctionError is an invocation that failed in the function: the handler
// returned an error or panicked, or the invocation timed out. Lambda would
// retry an asynchronous (EventBridge) invocation that ends so.
type FunctionError struct {
	Function string
	Type     string `json:"errorType"`
	Message  string `json:"errorMessage"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("%s failed: %s: %s", e.Function, e.Type, e.Message)
}

// functionSpec says how to start a function.
type functionSpec struct {
	name      string
	rie       string
	bootstrap string
	env       []string
	out       io.Writer
}

// StartFunction starts bootstrap under the emulator rie with exactly env
// (nothing of the caller's environment), writing its output to out: for
// a function the pipeline does not run, such as the scheduled audit.
func StartFunction(ctx context.Context, name, rie, bootstrap string, env []string, out io.Writer) (*Function, error) {
	return startFunction(ctx, functionSpec{name: name, rie: rie, bootstrap: bootstrap, env: env, out: out})
}

// startFunction starts spec's bootstrap under the emulator on loopback
// ports. Ports are picked free but may be taken before the emulator binds
// them, so a start that fails that way is tried again with new ones.
func startFunction(ctx context.Context, spec functionSpec) (*Function, error) {
	var errs []error
	for attempt := 0; attempt < 3; attempt++ {
		f, err := startFunctionOnce(ctx, spec)
		if err == nil {
			return f, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("start %s under the emulator: %w", spec.name, errors.Join(errs...))
}

func startFunctionOnce(ctx context.Context, spec functionSpec) (*Function, error) {
	// Two at once: picked one after the other, the second could be the
	// first port again, and the emulator's runtime API would not start.
	addrs, err := freeAddrs(2)
	if err != nil {
		return nil, err
	}
	invokeAddr, apiAddr := addrs[0], addrs[1]
	reports := &reportLog{}
	out := &lineWriter{fn: reports.scan, next: spec.out}
	args := []string{
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", apiAddr,
		"--log-level", "warn",
		spec.bootstrap,
	}
	proc, err := startProcess(spec.name, spec.rie, args, spec.env, out)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := proc.waitListening(wctx, invokeAddr); err != nil {
		proc.stop()
		return nil, err
	}
	return &Function{Name: spec.name, URL: "http://" + invokeAddr + invokePath, proc: proc, reports: reports}, nil
}

// Invoke invokes the function with payload and returns its response. A
// failed invocation returns a *FunctionError.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", f.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if done, werr := f.proc.exited(); done {
			return nil, fmt.Errorf("invoke %s: the emulator exited (%v): %w", f.Name, werr, err)
		}
		return nil, fmt.Errorf("invoke %s: %w", f.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: read response: %w", f.Name, err)
	}
	if resp.StatusCode == http.StatusBadGateway {
		// The emulator's answer when the bootstrap exits, say in a
		// failed cold start; Lambda reports it as a function error.
		return nil, &FunctionError{Function: f.Name, Type: "Runtime.ExitError", Message: "the runtime exited: " + nonEmptyBody(body, resp.Status)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke %s: emulator answered %s: %s", f.Name, resp.Status, body)
	}
	// The emulator drops Lambda's X-Amz-Function-Error header: a failure
	// is told by its body.
	if bytes.HasPrefix(body, []byte("Task timed out")) {
		return nil, &FunctionError{Function: f.Name, Type: "Timeout", Message: string(body)}
	}
	var fe FunctionError
	if json.Unmarshal(body, &fe) == nil && (fe.Type != "" || fe.Message != "") {
		fe.Function = f.Name
		return nil, &fe
	}
	return body, nil
}

// Reports are the emulator's REPORT lines so far, one per invocation.
func (f *Function) Reports() []Report { return f.reports.all() }

// Stop stops the emulator and the bootstrap.
func (f *Function) Stop() { f.proc.stop() }

// Report is what the emulator logs at the end of an invocation.
type Report struct {
	RequestID string
	Duration  time.Duration
	// Init is the bootstrap's init time; only the first invocation, which
	// starts the bootstrap, has one.
	Init time.Duration
}

var reportRE = regexp.MustCompile(`^REPORT RequestId: (\S+)\s+(?:Init Duration: ([0-9.]+) ms\s+)?Duration: ([0-9.]+) ms`)

type reportLog struct {
	mu      sync.Mutex
	reports []Report
}

func (l *reportLog) scan(line []byte) {
	m := reportRE.FindSubmatch(line)
	if m == nil {
		return
	}
	r := Report{RequestID: string(m[1]), Duration: ms(string(m[3]))}
	if len(m[2]) > 0 {
		r.Init = ms(string(m[2]))
	}
	l.mu.Lock()
	l.reports = append(l.reports, r)
	l.mu.Unlock()
}

func (l *reportLog) all() []Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Report(nil), l.reports...)
}

func ms(s string) time.Duration {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return time.Duration(v * float64(time.Millisecond))
}

// lineWriter passes whole lines to fn and everything to next.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	fn   func(line []byte)
	next io.Writer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a line that never ends: scan what there is
		w.fn(w.buf)
		w.buf = nil
	}
	if w.next == nil {
		return len(p), nil
	}
	return w.next.Write(p)
}

func nonEmptyBody(body []byte, alt string) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return alt
	}
	return string(body)
}
