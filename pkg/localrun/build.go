package localrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// Packages built by Build.
const (
	MonitorPackage = "github.com/lambdawatch/lambdawatch/functions/monitor"
	SlackPackage   = "github.com/lambdawatch/lambdawatch/functions/slack"
	AuditPackage   = "github.com/lambdawatch/lambdawatch/functions/audit"
	// RIEPackage is pinned by a tool directive in go.mod: it builds from
	// the module cache like any dependency.
	RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
)

// Binaries are the programs a pipeline runs.
type Binaries struct {
	Monitor string // the monitor function's bootstrap
	Slack   string // the Slack function's bootstrap
	Audit   string // the scheduled audit's bootstrap
	RIE     string // aws-lambda-rie
}

// Build builds the three bootstraps for this machine as Lambda's provided
// runtimes run them (static, -tags lambda.norpc, the binary named
// bootstrap alone in its folder, as in its Lambda asset), and the
// emulator; into dir. The Makefile also trims paths and strips symbols for
// the deployed assets; that changes size, not behaviour, and leaving it
// out here lets these builds reuse the packages go test has compiled. It
// runs the go command in the current directory, which must be in the
// lambdawatch module.
func Build(ctx context.Context, dir string) (Binaries, error) {
	b := Binaries{
		Monitor: filepath.Join(dir, "monitor", "bootstrap"),
		Slack:   filepath.Join(dir, "slack", "bootstrap"),
		Audit:   filepath.Join(dir, "audit", "bootstrap"),
		RIE:     filepath.Join(dir, "aws-lambda-rie"),
	}
	goCmd, err := goTool()
	if err != nil {
		return Binaries{}, err
	}
	jobs := []struct{ out, pkg string }{
		{b.Monitor, MonitorPackage},
		{b.Slack, SlackPackage},
		{b.Audit, AuditPackage},
		{b.RIE, RIEPackage},
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = goBuild(ctx, goCmd, j.out, j.pkg)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Binaries{}, err
	}
	return b, nil
}

func goBuild(ctx context.Context, goCmd, out, pkg string) error {
	cmd := exec.CommandContext(ctx, goCmd, "build", "-tags", "lambda.norpc", "-o", out, pkg)
	// The bootstraps run here, whatever GOOS and GOARCH the caller
	// exported for cross-building Lambda assets.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return nil
}

// goTool finds the go command on PATH; go test puts its own first.
func goTool() (string, error) {
	p, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command builds the functions: %w", err)
	}
	return p, nil
}
