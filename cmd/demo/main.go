// Command demo runs lambdawatch's pipeline locally over the sample events:
// both functions under the Lambda Runtime Interface Emulator, SNS from
// goaws, a stand-in for Slack; it shows, event by event, the email and the
// Slack message a person would get. `make demo` runs it.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
	"github.com/lambdawatch/lambdawatch/pkg/detect"
	"github.com/lambdawatch/lambdawatch/pkg/localrun"
)

func main() {
	eventsDir := flag.String("events", "events", "folder of sample CloudTrail records (any envelope)")
	logPath := flag.String("log", filepath.Join("build", "demo", "pipeline.log"), "file for the functions', emulator's and goaws's logs")
	trusted := flag.String("trusted-accounts", "444455556666", "the monitor's TRUSTED_ACCOUNTS")
	org := flag.String("org-id", "o-a1b2c3d4e5", "the monitor's ORG_ID")
	minSev := flag.String("min-severity", "MEDIUM", "the monitor's MIN_SEVERITY")
	timeout := flag.Duration("timeout", 90*time.Second, "how long one event may take through the pipeline")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, options{
		events: *eventsDir, log: *logPath, timeout: *timeout,
		monitorEnv: []string{"TRUSTED_ACCOUNTS=" + *trusted, "ORG_ID=" + *org, "MIN_SEVERITY=" + *minSev},
	})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type options struct {
	events     string
	log        string
	timeout    time.Duration
	monitorEnv []string
}

// sample is one record of a sample file, wrapped as EventBridge delivers it.
type sample struct {
	file  string
	index int // within the file, from 1
	event events.CloudWatchEvent
	rec   cloudtrail.Record
}

func run(ctx context.Context, out io.Writer, o options) error {
	samples, skipped, err := readSamples(o.events)
	if err != nil {
		return err
	}
	if len(samples) == 0 {
		return fmt.Errorf("no records under %s", o.events)
	}

	work, err := os.MkdirTemp("", "lambdawatch-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.MkdirAll(filepath.Dir(o.log), 0o755); err != nil {
		return err
	}
	logs, err := os.Create(o.log)
	if err != nil {
		return err
	}
	defer logs.Close()

	fmt.Fprintln(out, "Building both functions (static, -tags lambda.norpc, for this machine) and the Lambda emulator...")
	bctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	bin, err := localrun.Build(bctx, work)
	cancel()
	if err != nil {
		return err
	}
	slackFake, err := localrun.StartFakeSlack(nil)
	if err != nil {
		return err
	}
	defer slackFake.Close()
	p, err := localrun.Start(ctx, localrun.Config{
		Dir: work, Bin: bin, SlackWebhookURL: slackFake.URL,
		MonitorEnv: o.monitorEnv, Logs: logs,
	})
	if err != nil {
		return err
	}
	defer p.Close()

	fmt.Fprintf(out, "\nPipeline up, on loopback only:\n")
	fmt.Fprintf(out, "  EventBridge -> monitor    %s (emulator)\n", p.Monitor.URL)
	fmt.Fprintf(out, "  SNS topic                 %s at %s (goaws)\n", p.TopicARN, p.SNSURL)
	fmt.Fprintf(out, "  SQS -> slack              %s (emulator)\n", p.Slack.URL)
	fmt.Fprintf(out, "  Slack webhook             %s (stand-in)\n", slackFake.URL)
	fmt.Fprintf(out, "  monitor settings          %s\n", strings.Join(o.monitorEnv, " "))
	fmt.Fprintf(out, "  logs                      %s\n", o.log)
	for _, s := range skipped {
		fmt.Fprintf(out, "  not sent: %s\n", s)
	}

	var st stats
	for i, s := range samples {
		if err := ctx.Err(); err != nil {
			return err
		}
		ectx, cancel := context.WithTimeout(ctx, o.timeout)
		res, err := p.Send(ectx, s.event)
		cancel()
		if err != nil {
			return fmt.Errorf("%s record %d: %w", s.file, s.index, err)
		}
		show(out, i+1, len(samples), s, res, slackFake.Take(), &st)
	}
	st.summary(out, p)
	if st.monitorErrs > 0 || st.slackFailed > 0 {
		return fmt.Errorf("%d monitor failures, %d alerts not delivered to Slack (see %s)", st.monitorErrs, st.slackFailed, o.log)
	}
	return nil
}

// readSamples reads every record under dir in file name order, as
// EventBridge events. Files that are not records (a README) are skipped
// as lambdawatch scan skips them; records that cannot be read are listed.
func readSamples(dir string) ([]sample, []string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if cloudtrail.RecordFile(path) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read samples: %w", err)
	}
	slices.Sort(files)
	var samples []sample
	var skipped []string
	for _, path := range files {
		rel, _ := filepath.Rel(dir, path)
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		n := 0
		for rec, err := range cloudtrail.Decode(f) {
			n++
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("%s record %d: %v", rel, n, err))
				continue
			}
			ev, err := eventBridge(rec)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("%s record %d: %v", rel, n, err))
				continue
			}
			samples = append(samples, sample{file: rel, index: n, event: ev, rec: rec})
		}
		f.Close()
	}
	return samples, skipped, nil
}

// eventBridge wraps a record as the event EventBridge delivers for it.
func eventBridge(rec cloudtrail.Record) (events.CloudWatchEvent, error) {
	detail, err := json.Marshal(rec)
	if err != nil {
		return events.CloudWatchEvent{}, err
	}
	// EventBridge event ids are UUIDs; derive one so that runs repeat.
	h := sha256.Sum256([]byte(rec.EventID + rec.EventName + rec.EventTime.String()))
	id := fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
	return events.CloudWatchEvent{
		Version:    "0",
		ID:         id,
		DetailType: cloudtrail.DetailType,
		Source:     "aws." + strings.TrimSuffix(rec.EventSource, ".amazonaws.com"),
		AccountID:  rec.RecipientAccountID,
		Time:       rec.EventTime,
		Region:     rec.AWSRegion,
		Resources:  []string{},
		Detail:     detail,
	}, nil
}

type stats struct {
	events, alerts, slackMsgs, monitorErrs, slackFailed int
	// published records, per monitor invocation in order, whether it
	// published: the emulator's REPORT lines come in the same order.
	published []bool
	// subjects are the alerts' email subjects, for the list at the end.
	subjects []string
}

func show(out io.Writer, i, n int, s sample, res localrun.Result, msgs []localrun.SlackMessage, st *stats) {
	st.events++
	st.published = append(st.published, len(res.Alerts) > 0)
	title := fmt.Sprintf("[%d/%d] %s", i, n, s.file)
	if s.index > 1 || strings.Contains(s.file, ".jsonl") || strings.Contains(s.file, ".gz") || isLogFile(s) {
		title += fmt.Sprintf(" #%d", s.index)
	}
	fmt.Fprintf(out, "\n%s\n%s\n", title, strings.Repeat("=", min(len(title), 100)))
	r := s.rec
	what := r.EventName
	if r.Failed() {
		what += " (failed: " + r.ErrorCode + ")"
	}
	fmt.Fprintf(out, "sent     %s from %s, by %s, in %s/%s\n", what, r.EventSource, orDash(r.Actor()), r.RecipientAccountID, r.AWSRegion)

	switch {
	case res.MonitorErr != nil:
		st.monitorErrs++
		fmt.Fprintf(out, "monitor  FAILED, Lambda would retry: %v\n", res.MonitorErr)
	case len(res.Alerts) == 0 && !watchedService(r.EventSource):
		fmt.Fprintf(out, "monitor  ok: ignored, not a service lambdawatch watches (the EventBridge rules would not deliver it)\n")
	case len(res.Alerts) == 0:
		fmt.Fprintf(out, "monitor  ok: no alert\n")
	default:
		fmt.Fprintf(out, "monitor  ok: %d alert(s) published to SNS\n", len(res.Alerts))
	}
	for _, a := range res.Alerts {
		st.alerts++
		st.subjects = append(st.subjects, a.Subject)
		fmt.Fprintf(out, "\n  --- email to the topic's subscribers ---\n")
		fmt.Fprintf(out, "  | From: AWS Notifications <no-reply@sns.amazonaws.com>\n")
		fmt.Fprintf(out, "  | Subject: %s\n  |\n", a.Subject)
		writeIndented(out, "  | ", a.Email)
		if a.SlackFailed {
			st.slackFailed++
			fmt.Fprintf(out, "  (the Slack function could not deliver this one: SQS would redeliver it)\n")
		}
	}
	if res.SlackErr != nil {
		fmt.Fprintf(out, "slack    FAILED: %v\n", res.SlackErr)
	}
	for _, m := range msgs {
		st.slackMsgs++
		fmt.Fprintf(out, "\n  --- Slack, #alerts ---\n")
		writeIndented(out, "  | ", m.Text)
	}
}

// isLogFile tells records of an S3 log file by the file's name.
func isLogFile(s sample) bool {
	return strings.Contains(s.file, "log-file") || strings.Contains(s.file, "CloudTrail")
}

func writeIndented(out io.Writer, prefix, text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(out, "%s%s\n", prefix, line)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (st *stats) summary(out io.Writer, p *localrun.Pipeline) {
	fmt.Fprintf(out, "\nSummary\n=======\n")
	fmt.Fprintf(out, "%d events sent, %d alerts published, %d Slack messages posted", st.events, st.alerts, st.slackMsgs)
	if st.monitorErrs > 0 || st.slackFailed > 0 {
		fmt.Fprintf(out, ", %d monitor failures, %d Slack failures", st.monitorErrs, st.slackFailed)
	}
	fmt.Fprintln(out, ".")
	if len(st.subjects) > 0 {
		fmt.Fprintf(out, "The alerts, by their email subjects:\n")
		for _, s := range st.subjects {
			fmt.Fprintf(out, "  %s\n", s)
		}
	}
	fmt.Fprintf(out, "Times under the emulator (its REPORT lines):\n")
	for _, f := range []*localrun.Function{p.Monitor, p.Slack} {
		fmt.Fprintf(out, "  %-8s %s\n", f.Name, timing(f.Reports()))
	}
	// The monitor's warm invocations, apart by whether they published.
	rs := p.Monitor.Reports()
	if len(rs) == len(st.published) {
		var pub, quiet []time.Duration
		for i, r := range rs[1:] {
			if st.published[i+1] {
				pub = append(pub, r.Duration)
			} else {
				quiet = append(quiet, r.Duration)
			}
		}
		fmt.Fprintf(out, "  monitor, warm, events that published: %s\n", spread(pub))
		fmt.Fprintf(out, "  monitor, warm, events with no alert:  %s\n", spread(quiet))
	}
}

// timing summarizes the emulator's REPORT lines. The emulator's Init
// Duration times its own Init call only: it starts the bootstrap then, and
// the bootstrap's start-up falls into the first invocation, which is shown
// apart from the warm ones.
func timing(rs []localrun.Report) string {
	if len(rs) == 0 {
		return "not invoked"
	}
	s := fmt.Sprintf("emulator Init Duration %v; first (cold) invocation %v", round(rs[0].Init), round(rs[0].Duration))
	warm := make([]time.Duration, 0, len(rs)-1)
	for _, r := range rs[1:] {
		warm = append(warm, r.Duration)
	}
	if len(warm) > 0 {
		s += "; warm: " + spread(warm)
	}
	return s
}

// spread is the count, median and maximum of ds.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return fmt.Sprintf("%d, median %v, max %v", len(ds), round(ds[len(ds)/2]), round(ds[len(ds)-1]))
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// watchedService reports whether detect.Watched lists a CloudTrail event
// source.
func watchedService(eventSource string) bool {
	for _, w := range detect.Watched {
		if strings.EqualFold(w.EventSource, eventSource) {
			return true
		}
	}
	return false
}
