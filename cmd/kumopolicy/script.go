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

Runs FILE as a policy (like kumod --script): the file executes, then the
handler it registered with kumo.on('main', function(...) end) is called
with each ARG as a separate string argument. A Lua error prints its message
with file:line and the Lua stack, and exits 1.

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
	rt := kumopolicy.New(kumopolicy.Config{Policy: file, SearchRoots: hf.searchRoots, ShareDir: hf.shareDir, EtcDir: hf.etcDir, Logger: logger, Resolver: hf.resolvers})
	defer rt.Close()

	ctx, cancel := hf.context()
	defer cancel()
	mainArgs := make([]any, 0, fs.NArg()-1)
	for _, a := range fs.Args()[1:] {
		mainArgs = append(mainArgs, a)
	}
	_, handled, err := rt.Fire(ctx, "main", mainArgs...)
	if err != nil {
		reportError(stderr, err)
		return exitFailure
	}
	if !handled {
		fmt.Fprintf(stderr, "kumopolicy: %s registered no `main` handler; a script must call kumo.on('main', function(...) ... end)\n", file)
		return exitFailure
	}
	return exitOK
}
