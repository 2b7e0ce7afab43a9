package slackalert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// A body larger than SNS delivers is refused unread, reported as a batch
// item failure (so it ends in the dead-letter queue) and logged by its
// message id; the messages around it are posted.
func TestHandlerRefusesOversizedMessage(t *testing.T) {
	huge := typical()
	huge.UserAgent = strings.Repeat("A", MaxBody)
	for _, tc := range []struct {
		name    string
		size    int // of the middle message's body
		refused bool
	}{
		{"at the limit", MaxBody, false},
		{"one byte over", MaxBody + 1, true},
		{"a megabyte", 1 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := withActor(typical(), "big")
			b := body(t, f)
			// Pad with JSON whitespace: the body stays a valid finding,
			// so only its size can be refused.
			b = b[:len(b)-1] + strings.Repeat(" ", tc.size-len(b)) + "}"
			if len(b) != tc.size {
				t.Fatalf("body is %d bytes, want %d", len(b), tc.size)
			}
			rec := &recorder{}
			var logs bytes.Buffer
			h := &Handler{Poster: rec, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
			resp, err := h.Handle(context.Background(), event(t, body(t, withActor(typical(), "a0")), b, body(t, withActor(typical(), "a2"))))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			posts := 3
			if tc.refused {
				want, posts = []string{"m1"}, 2
			}
			if got := failedIDs(resp); !slices.Equal(got, want) {
				t.Errorf("failed %v, want %v", got, want)
			}
			if len(rec.got) != posts {
				t.Errorf("%d posts, want %d", len(rec.got), posts)
			}
			if !tc.refused {
				return
			}
			line := logLine(t, logs.Bytes(), "bad message: too large")
			if line["messageId"] != "m1" || line["maxBytes"] != float64(MaxBody) || line["bytes"] != float64(tc.size) {
				t.Errorf("log line %v does not name the message and sizes", line)
			}
			if logs.Len() > 4096 {
				t.Errorf("logs are %d bytes: the body was logged", logs.Len())
			}
		})
	}
}

// logLine finds the JSON log record with msg.
func logLine(t *testing.T, logs []byte, msg string) map[string]any {
	t.Helper()
	for l := range bytes.Lines(logs) {
		var rec map[string]any
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, l)
		}
		if rec["msg"] == msg {
			return rec
		}
	}
	t.Fatalf("no %q in the logs:\n%s", msg, logs)
	return nil
}

// FuzzDecodeFinding: a body is either refused with a short, valid
// message, or it is a finding with a rule and a known severity that
// survives a round trip and builds a Slack message within Slack's limits
// and with nothing unescaped.
func FuzzDecodeFinding(f *testing.F) {
	for _, fd := range []detect.Finding{typical(), injected()} {
		b, err := json.Marshal(fd)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"rule":"public-invoke","severity":"CRITICAL","eventID":"e1"}`,
		`{"rule":"x","severity":"low","conditions":["a","\u202e"],"eventTime":"2026-11-20T10:05:00Z"}`,
		`{"Type":"Notification","TopicArn":"arn:aws:sns:us-east-1:1:alerts","Message":"{}"}`,
		`{"rule":"<!channel>","severity":"HIGH","function":"\u0000\r\n"}`,
		`{"rule":"x","severity":null}`, `{"rule":"x","severity":7}`, `[]`, ` `, "\xff{",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fd, err := DecodeFinding(data)
		if err != nil {
			if msg := err.Error(); len(msg) > 600 || !utf8.ValidString(msg) {
				t.Errorf("error is %d bytes or not UTF-8: %q", len(msg), msg)
			}
			return
		}
		if len(data) > MaxBody {
			t.Fatalf("%d-byte body accepted", len(data))
		}
		if fd.Rule == "" || fd.Severity < detect.Info || fd.Severity > detect.Critical {
			t.Fatalf("accepted finding with rule %q severity %d", fd.Rule, fd.Severity)
		}
		again, err := json.Marshal(fd)
		if err != nil {
			t.Fatalf("decoded finding does not encode: %v", err)
		}
		back, err := DecodeFinding(again)
		if err != nil {
			t.Fatalf("round trip: %v\n%s", err, again)
		}
		if back.String() != fd.String() {
			t.Errorf("round trip changed the finding:\n%s\n%s", fd, back)
		}
		checkSafe(t, Build(fd))
	})
}

// slackDrill is an httptest Slack webhook whose answer to each request
// comes from script (n counts from 1). An "accept" answer records the
// message; "reset" hijacks the connection and closes it unanswered.
type slackDrill struct {
	script func(n int) answer
	reset  func(n int) bool

	mu       sync.Mutex
	requests int
	accepted []slack.WebhookMessage
}

func (d *slackDrill) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.requests++
		n := d.requests
		d.mu.Unlock()
		if d.reset != nil && d.reset(n) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
			return
		}
		a := answer{status: http.StatusOK}
		if d.script != nil {
			a = d.script(n)
		}
		a.serve(t, w, r, body, func(msg slack.WebhookMessage) {
			d.mu.Lock()
			d.accepted = append(d.accepted, msg)
			d.mu.Unlock()
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/services/T0/B0/SECRET"
}

func (d *slackDrill) counts() (requests int, accepted []slack.WebhookMessage) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.requests, append([]slack.WebhookMessage(nil), d.accepted...)
}

// Each fault Slack can show, through the real webhook poster, retrier
// and handler: every finding is delivered once or reported as a batch
// item failure, never both, never neither.
func TestHandlerSlackFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		drill     *slackDrill
		deadline  time.Duration // of the invocation
		wantFail  bool
		wantCalls int // at least
	}{
		{"429 with Retry-After", &slackDrill{script: func(n int) answer {
			if n == 1 {
				return answer{status: 429, retryAfter: "1"}
			}
			return answer{status: 200}
		}}, 30 * time.Second, false, 2},
		{"429 without Retry-After", &slackDrill{script: func(n int) answer {
			if n <= 2 {
				return answer{status: 429}
			}
			return answer{status: 200}
		}}, 30 * time.Second, false, 3},
		{"429 with a Retry-After past the deadline", &slackDrill{script: func(int) answer {
			return answer{status: 429, retryAfter: "3600"}
		}}, 5 * time.Second, true, 1},
		{"500 then 200", &slackDrill{script: func(n int) answer {
			if n == 1 {
				return answer{status: 500}
			}
			return answer{status: 200}
		}}, 30 * time.Second, false, 2},
		{"503 always", &slackDrill{script: func(int) answer { return answer{status: 503} }}, 30 * time.Second, true, 2},
		{"connection reset, then 200", &slackDrill{reset: func(n int) bool { return n == 1 }}, 30 * time.Second, false, 2},
		{"connection reset always", &slackDrill{reset: func(int) bool { return true }}, 30 * time.Second, true, 2},
		{"slower than the invocation", &slackDrill{script: func(int) answer {
			return answer{status: 200, delay: time.Hour}
		}}, 2 * time.Second, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.drill
			url := d.start(t)
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			r := &Retrier{Poster: WebhookPoster{URL: url}, Log: log, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MinAttempt: 50 * time.Millisecond}
			h := &Handler{Poster: r, Log: log, Reserve: 200 * time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			resp, err := h.Handle(ctx, event(t, body(t, typical())))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			requests, accepted := d.counts()
			failed := failedIDs(resp)
			switch {
			case tc.wantFail && (!slices.Equal(failed, []string{"m0"}) || len(accepted) != 0):
				t.Errorf("failed %v, %d accepted; want m0 failed and nothing accepted", failed, len(accepted))
			case !tc.wantFail && (len(failed) != 0 || len(accepted) != 1):
				t.Errorf("failed %v, %d accepted; want delivered exactly once", failed, len(accepted))
			}
			if requests < tc.wantCalls {
				t.Errorf("%d requests, want at least %d", requests, tc.wantCalls)
			}
			if strings.Contains(logs.String(), "SECRET") {
				t.Errorf("logs hold the webhook path:\n%s", logs.String())
			}
			if tc.wantFail && !strings.Contains(logs.String(), `"msg":"alert not delivered"`) {
				t.Errorf("no log of the undelivered alert:\n%s", logs.String())
			}
		})
	}
}

var summaryCountRE = regexp.MustCompile(`^lambdawatch: (\d+) alerts?:`)

// An alert storm: one principal grants "*" on 500 functions. The queue
// hands them over in batches of up to 100 (the deployed batch size); each
// batch becomes one summary and one CRITICAL post in full, and the
// summaries' counts add up to every finding.
func TestHandlerStorm(t *testing.T) {
	const n, batchSize = 500, 100
	d := &slackDrill{}
	url := d.start(t)
	h := &Handler{Poster: &Retrier{Poster: WebhookPoster{URL: url}}, Log: slog.New(slog.DiscardHandler)}
	var bodies []string
	for i := range n {
		f := typical()
		f.Function = fmt.Sprintf("fn-%03d", i)
		f.EventID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		bodies = append(bodies, body(t, f))
	}
	for start := 0; start < n; start += batchSize {
		ev := event(t, bodies[start:start+batchSize]...)
		for i := range ev.Records {
			ev.Records[i].MessageId = fmt.Sprintf("m%d", start+i)
		}
		resp, err := h.Handle(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("batch at %d: %v, failures %v", start, err, resp.BatchItemFailures)
		}
	}
	_, posts := d.counts()
	counted, summaries := 0, 0
	for _, p := range posts {
		checkSafe(t, p)
		if m := summaryCountRE.FindStringSubmatch(p.Text); m != nil {
			c, _ := strconv.Atoi(m[1])
			counted += c
			summaries++
			if out := RenderText(p); !strings.Contains(out, fmt.Sprintf("covers *%d alerts*", c)) {
				t.Errorf("summary does not say how many it covers:\n%.500s", out)
			}
		}
	}
	t.Logf("storm of %d findings in batches of %d: %d Slack posts (%d summaries)", n, batchSize, len(posts), summaries)
	if counted != n {
		t.Errorf("summaries count %d findings, want %d", counted, n)
	}
	if want := 2 * n / batchSize; len(posts) != want {
		t.Errorf("%d posts, want %d (a summary and one CRITICAL per batch)", len(posts), want)
	}
}
