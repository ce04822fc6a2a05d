package template

import (
	"strings"
	"testing"
)

func TestEval(t *testing.T) {
	ctx := map[string]any{"name": "John & Co", "items": []any{"a<b", int64(2)}, "n": int64(3), "r": "250 OK ids=8a5475ccbbc611eda12250ebf67f93bd"}
	cases := []struct{ name, src, dialect, want string }{
		{"x.json", "{{ name }}", "", `"John & Co"`},
		{"x.json", "{{ n }}", "", `3`},
		{"x.json.j2", "{{ name }}", "Jinja", `"John & Co"`},
		{"x.yaml", "{% for i in items %}{{ i }};{% endfor %}", "", `"a<b";2;`},
		{"x.json", "{% if n > 1 %}[{{ name }}]{% endif %}", "", `["John & Co"]`},
		{"x.json", "{{ name | safe }}", "", `John & Co`},
		{"x.html", "{{ name }}", "", `John &amp; Co`},
		{"x.HTM", "{% for i in items %}{{ i }}{% endfor %}", "", `a&lt;b2`},
		{"x.html", "{{ name | safe }}", "", `John & Co`},
		{"x.txt", "{{ name }}", "", `John & Co`},
		{"x.txt", "{{ name | upper }}", "Jinja", `JOHN & CO`},
		{"x.txt", "{{ name }}", "Static", `{{ name }}`},
		{"x.txt", "{{ r | normalize_smtp_response }}", "", `250 OK ids={uuid}`},
		{"x.json", "{{ r | normalize_smtp_response }}", "", `"250 OK ids={uuid}"`},
		{"x.json", "{{ name }}", "Handlebars", `John & Co`},
		{"x.txt", "{{#each items}}{{this}},{{/each}}", "Handlebars", `a<b,2,`},
		{"x.html", "{{ name }}", "Handlebars", `John &amp; Co`},
		{"x.html", "{{{ name }}}", "Handlebars", `John & Co`},
	}
	for _, c := range cases {
		got, err := Eval(c.name, c.src, ctx, c.dialect)
		if err != nil {
			t.Errorf("Eval(%q, %q, %q): %v", c.name, c.src, c.dialect, err)
			continue
		}
		if got != c.want {
			t.Errorf("Eval(%q, %q, %q) = %q, want %q", c.name, c.src, c.dialect, got, c.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	for _, c := range []struct{ name, src, dialect, want string }{
		{"x.txt", "{{ name", "", `template "x.txt"`},
		{"x.txt", "{% include '/etc/passwd' %}", "", `template "x.txt"`},
		{"x.txt", "{{#if}}", "Handlebars", `template "x.txt"`},
		{"x.txt", "x", "Mustache", `unknown template dialect "Mustache" (expected one of Jinja, Static, Handlebars)`},
	} {
		_, err := Eval(c.name, c.src, nil, c.dialect)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Eval(%q, %q, %q): error %v, want one containing %q", c.name, c.src, c.dialect, err, c.want)
		}
	}
}
