package nomad

import (
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// jsStr is a string of a jobspec: literal text, which is escaped, and
// Nomad runtime interpolations such as ${NOMAD_ADDR_http}, which are
// written as they are for Nomad to resolve on the client node.
type jsStr []jsPart

// jsPart is literal text, or, if ref is set, the interpolation ${ref}.
type jsPart struct {
	lit string
	ref string
}

// jsLit is literal text: HCL escapes it, so that a value holding ${, %{,
// quotes or newlines reaches Nomad exactly as given.
func jsLit(s string) jsStr { return jsStr{{lit: s}} }

// jsRef is the Nomad interpolation ${name}, e.g. jsRef("NOMAD_ADDR_http").
func jsRef(name string) jsStr { return jsStr{{ref: name}} }

// jsCat concatenates strings.
func jsCat(parts ...jsStr) jsStr {
	var out jsStr
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// jsRefPattern matches the interpolations Nomad resolves at run time on
// the client: node attributes, node fields, node metadata and the task
// environment's NOMAD_ variables.
var jsRefPattern = regexp.MustCompile(`\$\{((?:attr|node|meta)\.[A-Za-z0-9_.\-]+|NOMAD_[A-Za-z0-9_]+)\}`)

// jsWithRefs is s with its Nomad runtime interpolations kept (see
// jsRefPattern) and everything else literal. It is for the values
// where an operator means such a reference: constraint attributes and
// values, the Nomad and Consul addresses. Every other user value is jsLit.
func jsWithRefs(s string) jsStr {
	var out jsStr
	last := 0
	for _, m := range jsRefPattern.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > last {
			out = append(out, jsPart{lit: s[last:m[0]]})
		}
		out = append(out, jsPart{ref: s[m[2]:m[3]]})
		last = m[1]
	}
	if last < len(s) || len(out) == 0 {
		out = append(out, jsPart{lit: s[last:]})
	}
	return out
}

// jsHasRefs reports whether s holds a Nomad runtime interpolation.
func jsHasRefs(s string) bool { return jsRefPattern.MatchString(s) }

// tokens returns s as a quoted HCL template.
func (s jsStr) tokens() hclwrite.Tokens {
	var b strings.Builder
	for _, p := range s {
		if p.ref != "" {
			b.WriteString("${" + p.ref + "}")
			continue
		}
		b.WriteString(jsEscape(p.lit))
	}
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenOQuote, Bytes: []byte(`"`)}}
	if b.Len() > 0 {
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenQuotedLit, Bytes: []byte(b.String())})
	}
	return append(toks, &hclwrite.Token{Type: hclsyntax.TokenCQuote, Bytes: []byte(`"`)})
}

// jsEscape returns s escaped for the inside of an HCL quoted string,
// as hclwrite escapes it: quotes, backslashes and control characters, and
// ${ and %{ doubled so that they are not template sequences.
func jsEscape(s string) string {
	var b strings.Builder
	for _, t := range hclwrite.TokensForValue(cty.StringVal(s)) {
		if t.Type == hclsyntax.TokenQuotedLit {
			b.Write(t.Bytes)
		}
	}
	return b.String()
}

// jsBody is a body being written, with helpers for the forms jobspecs
// use.
type jsBody struct {
	*hclwrite.Body
	depth int // nesting depth, for heredoc indentation
}

// block appends a block and returns its body.
func (b jsBody) block(typ string, labels ...string) jsBody {
	return jsBody{b.AppendNewBlock(typ, labels).Body(), b.depth + 1}
}

// emptyBlock appends `typ "label" {}` on one line, as operators write
// `port "http" {}`.
func (b jsBody) emptyBlock(typ string, labels ...string) {
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenIdent, Bytes: []byte(typ)}}
	for _, l := range labels {
		toks = append(toks, jsLit(l).tokens()...)
	}
	toks = append(toks,
		&hclwrite.Token{Type: hclsyntax.TokenOBrace, Bytes: []byte("{")},
		&hclwrite.Token{Type: hclsyntax.TokenCBrace, Bytes: []byte("}")},
		&hclwrite.Token{Type: hclsyntax.TokenNewline, Bytes: []byte("\n")})
	b.AppendUnstructuredTokens(toks)
}

// str sets a string attribute.
func (b jsBody) str(name string, v jsStr) { b.SetAttributeRaw(name, v.tokens()) }

// lit sets a string attribute to literal text.
func (b jsBody) lit(name, v string) { b.str(name, jsLit(v)) }

// int sets a number attribute.
func (b jsBody) int(name string, v int64) { b.SetAttributeValue(name, cty.NumberIntVal(v)) }

// bool sets a bool attribute.
func (b jsBody) bool(name string, v bool) { b.SetAttributeValue(name, cty.BoolVal(v)) }

// list sets a list of strings on one line.
func (b jsBody) list(name string, vs ...jsStr) {
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenOBrack, Bytes: []byte("[")}}
	for i, v := range vs {
		if i > 0 {
			toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComma, Bytes: []byte(",")})
		}
		toks = append(toks, v.tokens()...)
	}
	b.SetAttributeRaw(name, append(toks, &hclwrite.Token{Type: hclsyntax.TokenCBrack, Bytes: []byte("]")}))
}

// jsArgs is one line of a multi-line list: a comment (optional) and the
// strings that go on the line, such as a flag and its value.
type jsArgs struct {
	comment []string
	args    []jsStr
}

// lines sets a list of strings written one line per jsArgs, as
// operators write args = [ "--flag", "value", ... ].
func (b jsBody) lines(name string, ls []jsArgs) {
	nl := func() *hclwrite.Token { return &hclwrite.Token{Type: hclsyntax.TokenNewline, Bytes: []byte("\n")} }
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenOBrack, Bytes: []byte("[")}, nl()}
	for _, l := range ls {
		for _, c := range l.comment {
			toks = append(toks, jsComment(c))
		}
		for i, a := range l.args {
			if i > 0 {
				toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComma, Bytes: []byte(","), SpacesBefore: 0})
			}
			toks = append(toks, a.tokens()...)
		}
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComma, Bytes: []byte(",")}, nl())
	}
	b.SetAttributeRaw(name, append(toks, &hclwrite.Token{Type: hclsyntax.TokenCBrack, Bytes: []byte("]")}))
}

// heredoc sets a string attribute to a heredoc (<<-EOT) holding text,
// which must end with a newline and hold no ${ or %{ sequence (it is a
// template for consul-template, not for HCL).
func (b jsBody) heredoc(name, text string) {
	indent := strings.Repeat("  ", b.depth+1)
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenOHeredoc, Bytes: []byte("<<-EOT\n")}}
	for line := range strings.Lines(text) {
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenStringLit, Bytes: []byte(indent + line)})
	}
	toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenCHeredoc, Bytes: []byte(strings.Repeat("  ", b.depth) + "EOT")})
	b.SetAttributeRaw(name, toks)
}

// comment appends comment lines ("" for an empty comment line).
func (b jsBody) comment(lines ...string) {
	for _, l := range lines {
		b.AppendUnstructuredTokens(hclwrite.Tokens{jsComment(l)})
	}
}

// jsComment is the comment line "# text". Control characters in text
// (which may hold user values) become spaces, so that a newline cannot end
// the comment and inject HCL.
func jsComment(text string) *hclwrite.Token {
	text = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, text)
	if text == "" {
		return &hclwrite.Token{Type: hclsyntax.TokenComment, Bytes: []byte("#\n")}
	}
	return &hclwrite.Token{Type: hclsyntax.TokenComment, Bytes: []byte("# " + text + "\n")}
}
