package localrun_test

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/internal/motoserver"
	"github.com/lambdawatch/lambdawatch/internal/motostate"
	"github.com/lambdawatch/lambdawatch/pkg/localrun"
	"github.com/lambdawatch/lambdawatch/pkg/state"
)

// killBootstrap kills, as the kernel's OOM killer would, the running
// program whose executable is path: a bootstrap under the emulator. It
// returns how many it killed.
func killBootstrap(t *testing.T, path string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && exe == path && syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	return killed
}

// TestPipelineMonitorStoppedBeforeDone: the monitor publishes, then
// DynamoDB goes silent on the Done (UpdateItem) and the monitor's process
// is killed while it waits: a monitor stopped between publish and mark.
// Its claim stays in_progress. Lambda's retry within the lease fails
// (ErrInProgress, so Lambda retries again); the retry after the lease
// takes the claim over and publishes again: SNS cannot tell, so the topic
// has the finding twice, but the Slack function's posted# claim makes it
// one Slack post.
//
// The process is killed rather than timed out: at Lambda's timeout the
// handler's context ends too, and whether the handler's answer or the
// timeout comes first is a race; the kill stops it at the same point
// every time.
func TestPipelineMonitorStoppedBeforeDone(t *testing.T) {
	endpoint, db := motostate.StartStateTable(t)
	var silent atomic.Bool
	held := make(chan struct{}, 1)
	proxy := motoserver.NewProxy(t, endpoint, motoserver.ProxyOptions{Hold: func(c motoserver.Call) bool {
		if !silent.Load() || c.Operation != "UpdateItem" {
			return false
		}
		select {
		case held <- struct{}{}:
		default:
		}
		return true
	}})
	fakeSlack, err := localrun.StartFakeSlack(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fakeSlack.Close)
	const lease = 5 * time.Second
	p, logs, ctx := startPipeline(t, localrun.Config{
		SlackWebhookURL: fakeSlack.URL,
		MonitorEnv: []string{
			"STATE_TABLE=" + motostate.StateTableName, "AWS_ENDPOINT_URL_DYNAMODB=" + proxy.URL,
			"STATE_LEASE=" + lease.String(),
		},
		SlackEnv: []string{"STATE_TABLE=" + motostate.StateTableName, "AWS_ENDPOINT_URL_DYNAMODB=" + endpoint},
	})
	ev := event(t, "public-invoke.json", "88888888-0000-4000-8000-000000000001")

	// 1. Published, then killed before the mark.
	silent.Store(true)
	killed := make(chan int, 1)
	go func() {
		select {
		case <-held:
			killed <- killBootstrap(t, binaries(t).Monitor)
		case <-ctx.Done():
			killed <- 0
		}
	}()
	first, err := p.Send(ctx, ev)
	silent.Store(false)
	if err != nil {
		t.Fatal(err)
	}
	if n := <-killed; n != 1 {
		t.Fatalf("killed %d monitor processes, want 1", n)
	}
	var fe *localrun.FunctionError
	if !errors.As(first.MonitorErr, &fe) || fe.Type != "Runtime.ExitError" || !strings.Contains(fe.Message, "signal: killed") {
		t.Fatalf("monitor: %v; want the invocation failed, its runtime killed", first.MonitorErr)
	}
	if len(first.Alerts) != 1 || first.Alerts[0].SlackFailed {
		t.Fatalf("%d SNS messages (Slack failed: %v), want the one published before the kill, posted", len(first.Alerts), first.Alerts)
	}
	var ops []string
	for _, c := range proxy.Calls() {
		ops = append(ops, c.Operation)
	}
	if strings.Join(ops, " ") != "PutItem UpdateItem" {
		t.Errorf("the monitor's state calls: %v, want the claim (PutItem) and the held mark (UpdateItem)", ops)
	}
	key := state.PublishedKey(finding(t, first.Alerts[0]))
	status, firstToken, until := stateItem(t, db, key)
	if status != state.StatusInProgress || until.IsZero() {
		t.Fatalf("%s: status %q, lease %v; want in_progress with a lease", key, status, until)
	}

	// 2. Lambda's retry, within the lease: refused, the invocation fails.
	switch left := time.Until(until); {
	case left > lease:
		t.Fatalf("the lease ends in %s, later than STATE_LEASE=%s allows", left, lease)
	case left < lease/4:
		t.Fatalf("the lease ends in %s: too soon to retry within it", left)
	}
	second, err := p.Send(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.As(second.MonitorErr, &fe) || !strings.Contains(fe.Message, state.ErrInProgress.Error()) {
		t.Errorf("monitor within the lease: %v; want it failed with %q", second.MonitorErr, state.ErrInProgress)
	}
	if len(second.Alerts) != 0 {
		t.Errorf("%d SNS messages within the lease, want none", len(second.Alerts))
	}

	// 3. Lambda's retry after the lease: taken over, published again.
	time.Sleep(time.Until(until) + 200*time.Millisecond)
	third, err := p.Send(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if third.MonitorErr != nil || third.SlackErr != nil {
		t.Fatalf("monitor after the lease: %v; slack: %v", third.MonitorErr, third.SlackErr)
	}
	if len(third.Alerts) != 1 || third.Alerts[0].SlackFailed {
		t.Fatalf("%d SNS messages after the lease, want the finding published again and settled", len(third.Alerts))
	}
	if status, token, _ := stateItem(t, db, key); status != state.StatusDone || token == firstToken {
		t.Errorf("%s after the takeover: status %q, token changed %v; want done by a new claim", key, status, token != firstToken)
	}

	sns := len(first.Alerts) + len(second.Alerts) + len(third.Alerts)
	if posts := fakeSlack.Take(); sns != 2 || len(posts) != 1 {
		t.Errorf("%d SNS messages and %d Slack posts, want 2 (SNS cannot dedupe) and 1", sns, len(posts))
	}

	// The log tells the story: the refused retry names the lease, the
	// takeover publishes, the Slack function skips what it posted.
	logs.await(`"msg":"finding posted before, skipped"`)
	out := logs.String()
	refused := logLines(out, "finding being published elsewhere")
	if len(refused) != 1 || !strings.Contains(refused[0]["error"].(string), "in progress until ") {
		t.Errorf("in-progress log lines %v, want one naming the lease", refused)
	}
	if published := logLines(out, "published"); len(published) != 1 {
		t.Errorf("published log lines %v, want one: the takeover's (the killed invocation never got to log)", published)
	}
	if i, j := strings.Index(out, `"msg":"finding being published elsewhere"`), strings.Index(out, `"msg":"published"`); i < 0 || j < i {
		t.Error("the takeover's publish is not logged after the refused retry")
	}
	if n := len(logLines(out, "finding posted before, skipped")); n != 1 {
		t.Errorf("%d Slack skips logged, want 1", n)
	}
	if took := logLines(out, state.LogTookOver); len(took) != 1 || took[0]["key"] != key {
		t.Errorf("takeover log lines %v, want one naming %s", took, key)
	}
}
