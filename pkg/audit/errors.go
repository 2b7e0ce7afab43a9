package audit

import (
	"errors"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// CallError is a call that was refused or failed. It names where, what
// was called, and on what:
//
//	audit us-east-1: lambda GetPolicy arn:aws:lambda:us-east-1:111122223333:function:f: AccessDeniedException: ...
type CallError struct {
	// Where is the region, or the account for calls that are not
	// regional (IAM, STS, Organizations).
	Where    string
	Service  string
	Call     string
	Resource string // empty for calls on no one resource (a List)
	Err      error
}

func (e *CallError) Error() string {
	var b strings.Builder
	b.WriteString("audit ")
	b.WriteString(e.Where)
	b.WriteString(": ")
	b.WriteString(e.Service)
	b.WriteString(" ")
	b.WriteString(e.Call)
	if e.Resource != "" {
		b.WriteString(" ")
		b.WriteString(e.Resource)
	}
	b.WriteString(": ")
	b.WriteString(errorText(e.Err))
	return b.String()
}

func (e *CallError) Unwrap() error { return e.Err }

// JudgeError is a resource that was read but could not be judged (a
// policy that does not parse):
//
//	audit us-east-1: judge policy of arn:aws:lambda:...: statement 2: ...
type JudgeError struct {
	Where    string // the region, or global for IAM
	What     string
	Resource string // the ARN of what could not be judged
	Err      error
}

func (e *JudgeError) Error() string {
	return "audit " + e.Where + ": judge " + e.What + ": " + e.Err.Error()
}

func (e *JudgeError) Unwrap() error { return e.Err }

// errorText is the API's error code and message when there is one: the
// SDK's own wording repeats the operation and request IDs.
func errorText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorMessage()
		if msg == "" {
			return ae.ErrorCode()
		}
		return ae.ErrorCode() + ": " + msg
	}
	return err.Error()
}

// ErrorCode is the API error code of err, or "" when it has none.
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// notFound reports whether err says the thing asked for does not exist:
// for GetPolicy that means no policy.
func notFound(err error) bool {
	switch ErrorCode(err) {
	case "ResourceNotFoundException", "NoSuchEntity", "NoSuchEntityException", "NotFoundException", "WAFNonexistentItemException":
		return true
	}
	return false
}

// unsupported reports whether err says the endpoint lacks the call
// itself (an HTTP 404 with no modelled error, or 501), rather than
// lacking the resource or refusing the caller: a stand-in may lack calls
// AWS has.
func unsupported(err error) bool {
	if notFound(err) || denied(err) {
		return false
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound, http.StatusNotImplemented, http.StatusMethodNotAllowed:
			return true
		}
	}
	switch ErrorCode(err) {
	case "UnknownOperationException", "InvalidAction", "NotImplemented":
		return true
	}
	return false
}

// denied reports whether err is a refusal.
func denied(err error) bool {
	switch ErrorCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "WAFAccessDeniedException":
		return true
	}
	return false
}

// failedCall is a call outside any region's reading that failed, worded
// as CallError words its cause.
type failedCall struct {
	what string
	err  error
}

func callFailed(what string, err error) error { return &failedCall{what, err} }

func (e *failedCall) Error() string { return e.what + ": " + errorText(e.err) }
func (e *failedCall) Unwrap() error { return e.err }
