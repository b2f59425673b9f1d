// pulumi-resource-command: command:local:Command for the @pulumi/command SDK, written with
// pulumi-go-provider because the provider's own module is not on the Go module proxy.
// Runs create/update/delete through an interpreter (default /bin/sh -c), exposes stdout and
// stderr, and passes the previous outputs to update and delete as PULUMI_COMMAND_STDOUT/STDERR.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

var version = "0.0.0"

type Command struct{}

type CommandArgs struct {
	Create                 *string           `pulumi:"create,optional"`
	Update                 *string           `pulumi:"update,optional"`
	Delete                 *string           `pulumi:"delete,optional"`
	Dir                    *string           `pulumi:"dir,optional"`
	Environment            map[string]string `pulumi:"environment,optional"`
	Interpreter            []string          `pulumi:"interpreter,optional"`
	Stdin                  *string           `pulumi:"stdin,optional"`
	Triggers               []any             `pulumi:"triggers,optional"`
	Logging                *string           `pulumi:"logging,optional"`
	AddPreviousOutputInEnv *bool             `pulumi:"addPreviousOutputInEnv,optional"`
	AssetPaths             []string          `pulumi:"assetPaths,optional"`
	ArchivePaths           []string          `pulumi:"archivePaths,optional"`
}

type CommandState struct {
	CommandArgs
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
}

func (c *Command) Annotate(a infer.Annotator) { a.SetToken("local", "Command") }

func (Command) Create(ctx context.Context, req infer.CreateRequest[CommandArgs]) (infer.CreateResponse[CommandState], error) {
	id := req.Name + "-" + suffix()
	state := CommandState{CommandArgs: req.Inputs}
	if req.DryRun || req.Inputs.Create == nil {
		return infer.CreateResponse[CommandState]{ID: id, Output: state}, nil
	}
	var err error
	state.Stdout, state.Stderr, err = run(ctx, req.Inputs, *req.Inputs.Create, nil)
	return infer.CreateResponse[CommandState]{ID: id, Output: state}, err
}

func (Command) Update(ctx context.Context, req infer.UpdateRequest[CommandArgs, CommandState]) (infer.UpdateResponse[CommandState], error) {
	state := CommandState{CommandArgs: req.Inputs, Stdout: req.State.Stdout, Stderr: req.State.Stderr}
	script := req.Inputs.Update
	if script == nil {
		script = req.Inputs.Create
	}
	if req.DryRun || script == nil {
		return infer.UpdateResponse[CommandState]{Output: state}, nil
	}
	var err error
	state.Stdout, state.Stderr, err = run(ctx, req.Inputs, *script, &req.State)
	return infer.UpdateResponse[CommandState]{Output: state}, err
}

func (Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandState]) (infer.DeleteResponse, error) {
	if req.State.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	_, _, err := run(ctx, req.State.CommandArgs, *req.State.Delete, &req.State)
	return infer.DeleteResponse{}, err
}

func run(ctx context.Context, in CommandArgs, script string, prev *CommandState) (string, string, error) {
	interp := in.Interpreter
	if len(interp) == 0 {
		interp = []string{"/bin/sh", "-c"}
	}
	cmd := exec.CommandContext(ctx, interp[0], append(interp[1:], script)...)
	cmd.Env = os.Environ()
	for k, v := range in.Environment {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if prev != nil && (in.AddPreviousOutputInEnv == nil || *in.AddPreviousOutputInEnv) {
		cmd.Env = append(cmd.Env, "PULUMI_COMMAND_STDOUT="+prev.Stdout, "PULUMI_COMMAND_STDERR="+prev.Stderr)
	}
	if in.Dir != nil {
		cmd.Dir = *in.Dir
	}
	if in.Stdin != nil {
		cmd.Stdin = strings.NewReader(*in.Stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out, errOut := strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n")
	if err != nil {
		return out, errOut, fmt.Errorf("command failed: %w: stdout: %q stderr: %q", err, out, errOut)
	}
	return out, errOut, nil
}

func secretOutputs(in, out property.Map) property.Map {
	if !property.New(in).HasSecrets() {
		return out
	}
	for _, k := range []string{"stdout", "stderr"} {
		if v, ok := out.GetOk(k); ok {
			out = out.Set(k, v.WithSecret(true))
		}
	}
	return out
}

func suffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func main() {
	prov, err := infer.NewProviderBuilder().
		WithResources(infer.Resource(Command{})).
		WithNamespace("pulumi").
		Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// What a command prints may contain its secret inputs: stdout and stderr are then secret too.
	create, update := prov.Create, prov.Update
	prov.Create = func(ctx context.Context, req p.CreateRequest) (p.CreateResponse, error) {
		resp, err := create(ctx, req)
		resp.Properties = secretOutputs(req.Properties, resp.Properties)
		return resp, err
	}
	prov.Update = func(ctx context.Context, req p.UpdateRequest) (p.UpdateResponse, error) {
		resp, err := update(ctx, req)
		resp.Properties = secretOutputs(req.Inputs, resp.Properties)
		return resp, err
	}
	if err := p.RunProvider(context.Background(), "command", version, prov); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
