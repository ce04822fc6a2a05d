package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands []command

func init() {
	commands = []command{
		{"script", "run a Lua file as a policy and fire its `main` event", runScript},
		{"validate", "load a policy and run pre_init, init and validate_config", runValidate},
		{"validate-shaping", "load and check shaping files as kumo.shaping.load does", runValidateShaping},
		{"resolve", "show the egress path config a policy gives a domain, and --explain it", runResolve},
		{"tsa-daemon", "run the TSA daemon: tsa_init.lua, the `tsa` module and the TSA HTTP API", runTSADaemon},
		{"serve", "run a policy as a service: init, spawned tasks and the admin HTTP API", runServe},
		{"version", "print the kumopolicy version", runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return exitOK
	case "--version", "-version":
		return runVersion(nil, stdout, stderr)
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "kumopolicy: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "kumopolicy runs KumoMTA Lua policies (init.lua and its policy-extras helpers) on a Go host.")
	fmt.Fprintln(w, "`kumopolicy tsa-daemon` runs the TSA daemon's tsa_init.lua (the `tsa` module).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: kumopolicy COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-17s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `kumopolicy COMMAND --help` for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 success, 1 the policy failed, 2 usage error.")
}

// parseFlags parses a subcommand's flags, mapping -h and errors to exit codes.
func parseFlags(fs *flag.FlagSet, args []string) (ok bool, code int) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return false, exitOK
	}
	if err != nil {
		return false, exitUsage
	}
	return true, 0
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: kumopolicy version\n\nPrints the kumopolicy version.")
	}
	if ok, code := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kumopolicy version: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	fmt.Fprintln(stdout, "kumopolicy", version())
	return exitOK
}
