// Package localrun runs lambdawatch's pipeline on one machine, the way AWS
// runs it: each function's bootstrap under the AWS Lambda Runtime
// Interface Emulator, SNS from goaws, and a glue that delivers each SNS
// message as real SNS would (goaws ignores MessageStructure): the email
// member to the reader, the sqs member in an SQS event to the Slack
// function. cmd/demo and the integration test drive it.
//
// Everything listens on 127.0.0.1 only, on free ports, and Close stops
// every process it started. goaws runs in this process (its server binds
// 0.0.0.0 when run as a program, so its handler is served here on a
// loopback listener instead); it keeps its state in package variables, so
// one pipeline runs at a time in a process. The emulator runs on Linux.
package localrun
