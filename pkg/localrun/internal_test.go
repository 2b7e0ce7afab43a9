package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReportLines(t *testing.T) {
	var got []string
	r := &reportLog{}
	var sink strings.Builder
	w := &lineWriter{fn: func(l []byte) { got = append(got, string(l)); r.scan(l) }, next: &sink}
	input := "START RequestId: a Version: $LATEST\n" +
		"END RequestId: a\nREPORT RequestId: a\tInit Duration: 0.25 ms\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t\n" +
		"REPORT RequestId: b\tDuration: 1.75 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t\n" +
		"partial"
	// Written in odd pieces, as pipes deliver them.
	for _, chunk := range []string{input[:7], input[7:90], input[90:]} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if sink.String() != input {
		t.Errorf("output not passed on whole")
	}
	if len(got) != 4 {
		t.Errorf("%d lines, want 4 (the partial one is kept back): %q", len(got), got)
	}
	want := []Report{
		{RequestID: "a", Init: 250 * time.Microsecond, Duration: 12500 * time.Microsecond},
		{RequestID: "b", Duration: 1750 * time.Microsecond},
	}
	rs := r.all()
	if len(rs) != len(want) {
		t.Fatalf("reports %+v, want %+v", rs, want)
	}
	for i := range want {
		if rs[i] != want[i] {
			t.Errorf("report %d = %+v, want %+v", i, rs[i], want[i])
		}
	}
}

func TestNotification(t *testing.T) {
	msg, _ := json.Marshal(map[string]string{"default": "text", "email": "mail", "sqs": `{"rule":"x"}`, "lambda": "l", "https": "h"})
	env := snsEnvelope{Type: "Notification", MessageId: "m1", Subject: "s", Message: string(msg)}
	env.MessageAttributes = map[string]struct{ Type, Value, DataType, StringValue string }{
		"rule":     {Type: "String", Value: "x"},
		"severity": {DataType: "String", StringValue: "HIGH"},
	}
	n, err := notification(env)
	if err != nil {
		t.Fatal(err)
	}
	if n.Email != "mail" || n.Body != `{"rule":"x"}` || n.Subject != "s" || n.MessageID != "m1" {
		t.Errorf("notification %+v", n)
	}
	if n.Attributes["rule"] != "x" || n.Attributes["severity"] != "HIGH" {
		t.Errorf("attributes %v", n.Attributes)
	}

	// Members missing: SNS hands out default.
	msg, _ = json.Marshal(map[string]string{"default": "only"})
	n, err = notification(snsEnvelope{Message: string(msg)})
	if err != nil || n.Email != "only" || n.Body != "only" {
		t.Errorf("default member: %+v, %v", n, err)
	}
	for _, bad := range []string{"plain text", `{"email":"no default"}`} {
		if _, err := notification(snsEnvelope{Message: bad}); err == nil {
			t.Errorf("message %q accepted", bad)
		}
	}
}

func TestInvokeFunctionError(t *testing.T) {
	answers := map[string]string{
		"ok":      `{"batchItemFailures":[]}`,
		"null":    `null`,
		"error":   `{"errorMessage":"publish failed","errorType":"wrapError"}`,
		"timeout": `Task timed out after 3.00 seconds`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) == "init failed" {
			// What the emulator answers when the bootstrap exits.
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.WriteString(w, answers[string(b)])
	}))
	defer srv.Close()
	f := &Function{Name: "fn", URL: srv.URL, proc: &process{done: make(chan struct{})}}
	for _, tc := range []struct {
		in      string
		wantErr string
	}{
		{"ok", ""}, {"null", ""}, {"error", "wrapError: publish failed"}, {"timeout", "Timeout: Task timed out"},
		{"init failed", "Runtime.ExitError"},
	} {
		out, err := f.Invoke(context.Background(), []byte(tc.in))
		var fe *FunctionError
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case tc.wantErr == "" && string(out) != answers[tc.in]:
			t.Errorf("%s: response %q", tc.in, out)
		case tc.wantErr != "" && (!errors.As(err, &fe) || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: err %v, want a FunctionError with %q", tc.in, err, tc.wantErr)
		}
	}
}

// TestFreeAddrsDistinct: the ports of one pick are never the same, which
// picking them one after another does not promise (a port closed is free
// to be handed out again at once).
func TestFreeAddrsDistinct(t *testing.T) {
	for range 200 {
		addrs, err := freeAddrs(2)
		if err != nil {
			t.Fatal(err)
		}
		if addrs[0] == addrs[1] {
			t.Fatalf("the same address twice: %v", addrs)
		}
	}
}
