// Package template evaluates the templates of kumo.string.eval_template
// without Lua: the Jinja dialect on github.com/nikolalohinski/gonja/v2,
// Handlebars on github.com/mailgun/raymond/v2, and Static (the source as it
// is).
//
// As in KumoMTA, the template's nominal file name chooses how values are
// escaped on output: a name ending in .html, .htm or .xml escapes HTML
// entities; under Jinja a name ending in .json, .json5, .js, .yaml or .yml
// writes every value as JSON (so a string comes out quoted). A trailing
// ".j2" is ignored when looking at the extension. Handlebars has no JSON
// escaper: there only HTML names escape, other names output values as
// they are. Values marked safe (Jinja's |safe) are never escaped.
//
// Jinja templates also have KumoMTA's normalize_smtp_response filter.
//
// No file is ever read: include, import and extends can only name the
// template itself, which is served from memory.
package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"strings"
	"sync"

	"github.com/kumopolicy/kumopolicy/modules/kumo/kstring"
	"github.com/mailgun/raymond/v2"
	"github.com/nikolalohinski/gonja/v2"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/nodes"
)

// Escaping is how a template's output values are escaped.
type Escaping int

const (
	EscapeNone Escaping = iota
	EscapeHTML
	EscapeJSON
)

// EscapingFor returns the escaping that a template named name gets.
func EscapingFor(name string) Escaping {
	name = strings.TrimSuffix(name, ".j2")
	switch strings.ToLower(path.Ext(name)) {
	case ".html", ".htm", ".xml":
		return EscapeHTML
	case ".json", ".json5", ".js", ".yaml", ".yml":
		return EscapeJSON
	}
	return EscapeNone
}

// Dialects are the accepted dialect names.
var Dialects = []string{"Jinja", "Static", "Handlebars"}

// Eval renders source, nominally named name, with the variables of ctx in
// the given dialect ("" means Jinja).
func Eval(name, source string, ctx map[string]any, dialect string) (string, error) {
	switch dialect {
	case "", "Jinja":
		return evalJinja(name, source, ctx)
	case "Static":
		return source, nil
	case "Handlebars":
		return evalHandlebars(name, source, ctx)
	}
	return "", fmt.Errorf("unknown template dialect %q (expected one of %s)", dialect, strings.Join(Dialects, ", "))
}

const jsonFilter = "kumopolicy_json_escape"

func evalJinja(name, source string, ctx map[string]any) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("template %q: %v", name, r)
		}
	}()
	esc := EscapingFor(name)
	cfg := config.New()
	cfg.AutoEscape = esc == EscapeHTML
	id := "/" + strings.TrimLeft(name, "/")
	if id == "/" {
		id = "/template"
	}
	loader, err := loaders.NewMemoryLoader(map[string]string{id: source})
	if err != nil {
		return "", err
	}
	env := baseEnvironment()
	if esc == EscapeJSON {
		env = jsonEnvironment()
	}
	tpl, err := exec.NewTemplate(id, cfg, loader, env)
	if err != nil {
		return "", fmt.Errorf("template %q: %w", name, err)
	}
	if esc == EscapeJSON {
		wrapOutputs(reflect.ValueOf(tpl.Root()), map[uintptr]bool{})
	}
	res, err := tpl.ExecuteToString(exec.NewContext(ctx))
	if err != nil {
		return "", fmt.Errorf("template %q: %w", name, err)
	}
	return res, nil
}

// jsonEscape is the filter that JSON escaping wraps around every output
// expression: a safe value passes as it is, any other is written as
// compact JSON without HTML escapes (as serde_json writes it for KumoMTA).
func jsonEscape(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() || in.Safe {
		return in
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in.Interface()); err != nil {
		return exec.AsValue(fmt.Errorf("cannot write %s as JSON: %w", in.String(), err))
	}
	return exec.AsSafeValue(strings.TrimSuffix(b.String(), "\n"))
}

// baseEnvironment is gonja's default environment plus KumoMTA's
// normalize_smtp_response filter; jsonEnvironment adds the JSON escaping
// filter. Both copy gonja's filter set rather than register into it.
var (
	baseEnvironment = sync.OnceValue(func() *exec.Environment {
		return withFilter(gonja.DefaultEnvironment, "normalize_smtp_response", normalizeFilter)
	})
	jsonEnvironment = sync.OnceValue(func() *exec.Environment {
		return withFilter(baseEnvironment(), jsonFilter, jsonEscape)
	})
)

func withFilter(base *exec.Environment, name string, fn exec.FilterFunction) *exec.Environment {
	env := *base
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{})
	filters.Update(base.Filters)
	if filters.Exists(name) {
		_ = filters.Replace(name, fn) // cannot fail: the name exists
	} else {
		_ = filters.Register(name, fn) // cannot fail: the name is free
	}
	env.Filters = filters
	return &env
}

// normalizeFilter is the normalize_smtp_response filter (see
// kstring.NormalizeSMTPResponse).
func normalizeFilter(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	return exec.AsValue(kstring.NormalizeSMTPResponse(in.String()))
}

// wrapOutputs finds every output node ({{ ... }}) reachable from v, in
// blocks, loops, conditions and macros alike, and passes its expressions
// through the JSON escaping filter.
func wrapOutputs(v reflect.Value, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		if o, ok := v.Interface().(*nodes.Output); ok {
			o.Expression = wrapJSON(o.Expression)
			if o.Alternative != nil {
				o.Alternative = wrapJSON(o.Alternative)
			}
			return
		}
		wrapOutputs(v.Elem(), seen)
	case reflect.Interface:
		if !v.IsNil() {
			wrapOutputs(v.Elem(), seen)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				wrapOutputs(v.Field(i), seen)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			wrapOutputs(v.Index(i), seen)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			wrapOutputs(it.Value(), seen)
		}
	}
}

func wrapJSON(e nodes.Expression) nodes.Expression {
	return &nodes.FilteredExpression{Expression: e, Filters: []*nodes.FilterCall{{
		Token: e.Position(), Name: jsonFilter, Kwargs: map[string]nodes.Expression{},
	}}}
}

func evalHandlebars(name, source string, ctx map[string]any) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("template %q: %v", name, r)
		}
	}()
	tpl, err := raymond.Parse(source)
	if err != nil {
		return "", fmt.Errorf("template %q: %w", name, err)
	}
	var data any = ctx
	if EscapingFor(name) != EscapeHTML {
		// raymond always escapes HTML; values marked safe are written as
		// they are, which is what a non-HTML name asks for.
		data = markSafe(ctx)
	}
	res, err := tpl.Exec(data)
	if err != nil {
		return "", fmt.Errorf("template %q: %w", name, err)
	}
	return res, nil
}

// markSafe returns a copy of v whose strings are raymond.SafeString.
func markSafe(v any) any {
	switch x := v.(type) {
	case string:
		return raymond.SafeString(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = markSafe(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = markSafe(e)
		}
		return out
	}
	return v
}
