package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/kumopolicy/kumopolicy"
)

func runScript(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("script", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var hf hostFlags
	hf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: kumopolicy script [flags] FILE [ARG...]

Runs FILE as a policy (like kumod --script): the file's top level runs
once, then the handler it registered with kumo.on('main', function(...) end),
if any, is called with each ARG as a separate string argument. A file
without a main handler just runs its top level, so test files made of
top-level assert() calls work as they are. A Lua error (a failing assert
included) prints its message and the Lua stack with file:line, and exits 1;
otherwise the exit status is 0.

Flags:`)
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() < 1 {
		fmt.Fprintln(stderr, "kumopolicy script: missing FILE")
		fs.Usage()
		return exitUsage
	}
	logger, err := hf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy script:", err)
		return exitUsage
	}
	file := fs.Arg(0)
	host, err := kumopolicy.New(kumopolicy.Config{Policy: file, SearchRoots: hf.searchRoots, ShareDir: hf.shareDir, EtcDir: hf.etcDir, Logger: logger, Resolver: hf.resolvers, Timeout: hf.timeout})
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy script:", err)
		return exitFailure
	}
	defer host.Close()

	ctx, cancel := hf.context()
	defer cancel()
	if err := host.RunMain(ctx, fs.Args()[1:]...); err != nil {
		reportError(stderr, err)
		return exitFailure
	}
	return exitOK
}
