//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// benchEKS times `rolecall eks token` on a cache hit against `aws eks
// get-token` of the AWS CLI v1 (`aws` on PATH) and v2 (/usr/bin/aws), the
// three alternating in one loop so that the machine's load falls on all
// alike. rolecall signs with a role's cached credentials; the CLIs get
// their best case, the base keys and no STS call at all (with --role-arn
// they would call AssumeRole on every run, and the v2 CLI would call the
// real STS). Every token is checked: rolecall's and the v1 CLI's are verified
// by the emulator (the v2 CLI 2.9 ignores AWS_ENDPOINT_URL_STS and signs
// for the real endpoint, so its token is only checked for its prefix).
func benchEKS(srv *ststest.Server, env []string, rolecall, role string, runs int) {
	env = append(env, "AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1")
	env = withoutVar(env, "AWS_PROFILE")
	type program struct {
		name   string
		args   []string
		verify bool
	}
	programs := []program{
		{"rolecall eks token (cache hit)", []string{rolecall, "eks", "token", "--cluster", "prod", role}, true},
		// The floor: rolecall starting and doing nothing; and the
		// credentials' own cache hit.
		{"rolecall version", []string{rolecall, "version"}, false},
		{"rolecall process (cache hit)", []string{rolecall, "process", role}, false},
	}
	if p, err := exec.LookPath("aws"); err == nil {
		programs = append(programs, program{"aws eks get-token (CLI v1)", []string{p, "eks", "get-token", "--cluster-name", "prod"}, true})
	}
	if _, err := os.Stat("/usr/bin/aws"); err == nil && exec.CommandContext(context.Background(), "/usr/bin/aws", "eks", "get-token", "help").Run() == nil {
		programs = append(programs, program{"aws eks get-token (CLI v2)", []string{"/usr/bin/aws", "eks", "get-token", "--cluster-name", "prod"}, false})
	}
	for _, p := range programs[:3] { // warm the cache
		_, err := run(env, p.args[0], p.args[1:]...)
		check(err)
	}
	calls := srv.CallCount("AssumeRole")
	samples := make([]sample, len(programs))
	for i := range runs {
		for k := range programs {
			idx := (i + k) % len(programs)
			p := programs[idx]
			start := time.Now()
			cmd := exec.CommandContext(context.Background(), p.args[0], p.args[1:]...) //nolint:gosec // the programs under measurement
			cmd.Env = env
			out, err := cmd.Output()
			check(err)
			samples[idx].add(time.Since(start), cmd.ProcessState)
			if idx == 1 || idx == 2 {
				continue // version, process
			}
			var ec struct {
				Status struct{ Token string } `json:"status"`
			}
			check(json.Unmarshal(out, &ec))
			if p.verify {
				_, err := srv.VerifyEKSToken(context.Background(), ec.Status.Token, "prod")
				check(err)
			} else if len(ec.Status.Token) < 12 || ec.Status.Token[:11] != "k8s-aws-v1." {
				check(fmt.Errorf("%s printed no token", p.name))
			}
		}
	}
	fmt.Printf("\nEKS token, medians of %d alternating runs (the role assumed, the token for cluster prod):\n", runs)
	fmt.Printf("  %-32s %9s %9s\n", "", "wall", "CPU")
	for k, p := range programs {
		fmt.Printf("  %-32s %9s %9s\n", p.name, median(samples[k].wall).Round(10*time.Microsecond), median(samples[k].cpu).Round(10*time.Microsecond))
	}
	fmt.Printf("  rolecall eks token / version: %.2fx wall (the hit path's own work); / process: %.2fx\n",
		float64(median(samples[0].wall))/float64(median(samples[1].wall)), float64(median(samples[0].wall))/float64(median(samples[2].wall)))
	for k := 3; k < len(programs); k++ {
		fmt.Printf("  %s / rolecall: %.0fx wall, %.0fx CPU (goal >= 100x for the CLI v2)\n", programs[k].name,
			float64(median(samples[k].wall))/float64(median(samples[0].wall)),
			float64(median(samples[k].cpu))/float64(median(samples[0].cpu)))
	}
	fmt.Printf("  STS calls during the runs: %d (goal 0)\n", srv.CallCount("AssumeRole")-calls)
}

func withoutVar(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) > len(name) && kv[:len(name)+1] == name+"=" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
