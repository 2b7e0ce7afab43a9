package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/awsid"
)

// statementOf pads a valid statement's Sid so the whole is n bytes.
func statementOf(t *testing.T, n int) []byte {
	t.Helper()
	head, tail := `{"Sid":"`, `","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction"}`
	pad := n - len(head) - len(tail)
	if pad < 0 {
		t.Fatalf("cannot make a %d-byte statement", n)
	}
	return []byte(head + strings.Repeat("a", pad) + tail)
}

func TestParseStatementSize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"small", 200, false},
		{"at the limit", MaxStatement, false},
		{"one byte over", MaxStatement + 1, true},
		{"a megabyte", 1 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := statementOf(t, tc.size)
			st, err := ParseStatement(data)
			if !tc.wantErr {
				if err != nil || len(st.Principals) != 1 || st.Principals[0].Kind != Wildcard {
					t.Fatalf("ParseStatement: %+v, %v; want the wildcard statement", st.Principals, err)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v, want ErrTooLarge", err)
			}
			if !strings.Contains(err.Error(), "20480 bytes") || len(err.Error()) > 200 {
				t.Errorf("error %q: want the limit named and no statement text", err)
			}
		})
	}
}

// FuzzParsePrincipal checks the classification against what each kind
// promises: a wildcard is "*", an account carries the 12 digits it names,
// a service is a host name.
func FuzzParsePrincipal(f *testing.F) {
	for _, s := range []string{
		"*", " * ", "111122223333", "arn:aws:iam::111122223333:root", "arn:aws:sts::111122223333:assumed-role/r/s",
		"arn:aws-cn:iam::111122223333:user/u", "s3.amazonaws.com", "states.amazonaws.com.cn", "arn:aws:iam::*:root",
		"arn:aws:s3:::bucket", "1111", "", "arn:aws:iam::111122223333", "\u202e111122223333", "11112222333\u0663",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := ParsePrincipal(s)
		trimmed := strings.TrimSpace(s)
		if p.Value != trimmed {
			t.Errorf("Value %q, want the trimmed input %q", p.Value, trimmed)
		}
		switch p.Kind {
		case Wildcard:
			if trimmed != "*" {
				t.Errorf("%q classified as wildcard", s)
			}
		case Account:
			if !awsid.IsAccountID(p.Account) || !strings.Contains(trimmed, p.Account) {
				t.Errorf("%q: account %q is not a 12-digit ID from the input", s, p.Account)
			}
		case Service:
			if !strings.Contains(trimmed, ".") || strings.ContainsAny(trimmed, ":/* ") {
				t.Errorf("%q classified as a service", s)
			}
		case Unknown:
			if trimmed == "*" || awsid.IsAccountID(trimmed) {
				t.Errorf("%q not recognised", s)
			}
		default:
			t.Errorf("%q: kind %d", s, p.Kind)
		}
		if p.Kind != Account && p.Account != "" {
			t.Errorf("%q: kind %d with account %q", s, p.Kind, p.Account)
		}
	})
}
