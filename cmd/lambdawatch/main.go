// Command lambdawatch judges CloudTrail records of Lambda calls. Its scan
// subcommand reads files, folders of archived logs or standard input, and
// prints what the rules find.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `lambdawatch watches AWS Lambda for dangerous permission changes.

Usage:
  lambdawatch scan [flags] PATH...   judge CloudTrail records in files, folders or - (stdin)
  lambdawatch audit [flags]          judge the Lambda functions of accounts as they stand
  lambdawatch rules                  list the rules

Run 'lambdawatch scan -h' for the scan flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "scan":
		return scan(args[1:], stdin, stdout, stderr)
	case "audit":
		return auditCmd(args[1:], stdout, stderr)
	case "rules":
		return listRules(stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "lambdawatch: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}
