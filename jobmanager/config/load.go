package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sluicehq/sluice/jobmanager/restart"
)

// Error is what is wrong with configuration files: one diagnostic per
// problem, each with its file, line and column.
type Error struct {
	Diagnostics hcl.Diagnostics
}

// Error formats one problem per line, "FILE:LINE,COLUMN: SUMMARY; DETAIL".
func (e *Error) Error() string {
	var b strings.Builder
	for i, d := range e.Diagnostics {
		if i > 0 {
			b.WriteByte('\n')
		}
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s:%d,%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString("; ")
			b.WriteString(d.Detail)
		}
	}
	return b.String()
}

// Load reads configuration files and merges them in order, each on top
// of the ones before it (see merge). A directory stands for its *.hcl
// files in lexical order; subdirectories are not read. Every problem of
// every file is reported at once, in an *Error, or as an error that
// names the path when a file cannot be read.
func Load(paths ...string) (File, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return File{}, fmt.Errorf("configuration %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		names, err := filepath.Glob(filepath.Join(p, "*.hcl"))
		if err != nil {
			return File{}, fmt.Errorf("configuration directory %s: %w", p, err)
		}
		sort.Strings(names)
		for _, n := range names {
			if st, err := os.Stat(n); err == nil && !st.IsDir() {
				files = append(files, n)
			}
		}
	}
	var (
		out   File
		diags hcl.Diagnostics
	)
	parser := hclparse.NewParser()
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return File{}, fmt.Errorf("configuration file: %w", err)
		}
		f, d := parse(parser, src, name)
		diags = append(diags, d...)
		out = merge(out, f)
	}
	if diags.HasErrors() {
		return File{}, &Error{Diagnostics: diags}
	}
	return out, nil
}

// Parse parses and checks the text of one configuration file; filename is
// what its errors name.
func Parse(src []byte, filename string) (File, error) {
	f, diags := parse(hclparse.NewParser(), src, filename)
	if diags.HasErrors() {
		return File{}, &Error{Diagnostics: diags}
	}
	return f, nil
}

func parse(parser *hclparse.Parser, src []byte, filename string) (File, hcl.Diagnostics) {
	hf, diags := parser.ParseHCL(src, filename)
	if diags.HasErrors() {
		return File{}, diags
	}
	body, ok := hf.Body.(*hclsyntax.Body)
	if !ok {
		return File{}, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Not HCL native syntax",
			Detail: "write the configuration in HCL's native syntax", Subject: hf.Body.MissingItemRange().Ptr()}}
	}
	idx := &rangeIndex{values: map[string]hcl.Range{}}
	// walk reports unknown settings and removes them from body, so that
	// decoding reports the other problems without repeating these.
	walk(body, reflect.TypeFor[File](), "", idx, &diags)
	var f File
	seen := map[hcl.Pos]bool{}
	for _, d := range gohcl.DecodeBody(body, nil, &f) {
		if d.Subject != nil {
			// A value can fail twice (a variable: not allowed, then
			// unknown); the first says why.
			if seen[d.Subject.Start] {
				continue
			}
			seen[d.Subject.Start] = true
		}
		diags = append(diags, idx.explain(d))
	}
	root := reflect.ValueOf(f)
	for _, fd := range Fields() {
		v, ok := fd.lookup(root)
		if !ok || fd.IsBlock && !fd.Repeated {
			continue
		}
		if err := fd.check(v); err != nil {
			diags = append(diags, idx.invalid(fd, err))
		}
	}
	if r := f.Restart; r != nil && !diags.HasErrors() {
		// What only the combination gets wrong: max_delay below
		// initial_delay.
		c, err := File{Restart: r}.Config()
		if err == nil {
			err = c.Restart.Validate()
		}
		if err != nil {
			rng := idx.values["restart"]
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid restart block",
				Detail: restartNames.Replace(strings.TrimPrefix(err.Error(), restart.ErrInvalidConfig.Error()+": ")), Subject: &rng})
		}
	}
	return f, diags
}

// restartNames turns the names restart.Config.Validate uses into those
// of the restart block.
var restartNames = strings.NewReplacer("initialDelay", "initial_delay", "maxDelay", "max_delay",
	"resetThreshold", "reset_threshold", "maxFailures", "max_failures", "kind", "strategy")

// rangeIndex keeps where each setting of a file is.
type rangeIndex struct {
	// values maps a setting's path to the range of its value (a block's
	// path to the range of its definition).
	values map[string]hcl.Range
	// attrs are the whole attributes, for finding which one a
	// diagnostic is about.
	attrs []indexedAttr
}

type indexedAttr struct {
	path string
	rng  hcl.Range
	typ  reflect.Type
}

// walk reports the attributes and blocks of body that t (a struct with
// hcl tags) does not have and removes them from body, and indexes the
// rest.
func walk(body *hclsyntax.Body, t reflect.Type, block string, idx *rangeIndex, diags *hcl.Diagnostics) {
	attrs, blocks := map[string]reflect.Type{}, map[string]reflect.Type{}
	for i := range t.NumField() {
		name, kind, _ := strings.Cut(t.Field(i).Tag.Get("hcl"), ",")
		switch kind {
		case "block":
			blocks[name] = t.Field(i).Type
		case "attr", "optional", "":
			if name != "" {
				attrs[name] = t.Field(i).Type
			}
		}
	}
	known := slices.Sorted(func(yield func(string) bool) {
		for n := range attrs {
			if !yield(n) {
				return
			}
		}
		for n := range blocks {
			if !yield(n + " { }") {
				return
			}
		}
	})
	where := "at the top level"
	if block != "" {
		where = "in the " + block + " block"
	}
	path := func(name string) string {
		if block == "" {
			return name
		}
		return block + "." + name
	}
	// Attributes in source order, so that errors come in that order.
	names := make([]string, 0, len(body.Attributes))
	for n := range body.Attributes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return body.Attributes[names[i]].SrcRange.Start.Byte < body.Attributes[names[j]].SrcRange.Start.Byte
	})
	for _, name := range names {
		a := body.Attributes[name]
		typ, ok := attrs[name]
		switch {
		case ok:
			idx.values[path(name)] = a.Expr.Range()
			idx.attrs = append(idx.attrs, indexedAttr{path(name), a.SrcRange, typ})
		case blocks[name] != nil:
			*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: fmt.Sprintf("%s is a block", path(name)),
				Detail:  fmt.Sprintf("write it without \"=\": %s { ... }", name),
				Subject: a.NameRange.Ptr()})
			delete(body.Attributes, name)
		default:
			*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: fmt.Sprintf("Unknown setting %q %s", name, where),
				Detail:  suggest(name, known) + "known here: " + strings.Join(known, ", "),
				Subject: a.NameRange.Ptr()})
			delete(body.Attributes, name)
		}
	}
	kept := body.Blocks[:0]
	defer func() { body.Blocks = kept }()
	for _, b := range body.Blocks {
		typ, ok := blocks[b.Type]
		if !ok {
			if attrs[b.Type] != nil {
				*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError,
					Summary: fmt.Sprintf("%s is not a block", path(b.Type)),
					Detail:  fmt.Sprintf("write it with \"=\": %s = %s", b.Type, example(attrs[b.Type])),
					Subject: b.TypeRange.Ptr()})
				continue
			}
			*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: fmt.Sprintf("Unknown block %q %s", b.Type, where),
				Detail:  suggest(b.Type, known) + "known here: " + strings.Join(known, ", "),
				Subject: b.TypeRange.Ptr()})
			continue
		}
		if _, seen := idx.values[path(b.Type)]; !seen {
			idx.values[path(b.Type)] = b.DefRange()
		}
		kept = append(kept, b)
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		walk(b.Body, typ, path(b.Type), idx, diags)
	}
}

// suggest returns "did you mean X? " for the known name closest to name,
// if one is close.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		k = strings.TrimSuffix(k, " { }")
		if d := distance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("did you mean %q? ", best)
}

// example shows a value of type t as written in a file.
func example(t reflect.Type) string {
	switch typeName(t) {
	case "size":
		return `"2GiB"`
	case "duration":
		return `"10s"`
	case "number":
		return "4"
	case "bool":
		return "true"
	case "list of strings":
		return `["a", "b"]`
	case "map of strings":
		return `{ key = "value" }`
	}
	return `"..."`
}

// explain names the setting a diagnostic of gohcl is about, and says what
// the setting takes.
func (idx *rangeIndex) explain(d *hcl.Diagnostic) *hcl.Diagnostic {
	if d.Subject == nil {
		return d
	}
	for _, a := range idx.attrs {
		if a.rng.Filename == d.Subject.Filename && a.rng.ContainsOffset(d.Subject.Start.Byte) {
			e := *d
			e.Summary = fmt.Sprintf("Invalid value for %s", a.path)
			e.Detail = strings.TrimSuffix(d.Detail, ".") + "; " + a.path + " takes " + typeHelp(a.typ)
			return &e
		}
	}
	return d
}

// invalid is the diagnostic for a value of f that failed its check.
func (idx *rangeIndex) invalid(f Field, err error) *hcl.Diagnostic {
	rng, ok := idx.values[f.Path]
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Invalid value for %s", f.Path), Detail: err.Error()}
	if ok {
		d.Subject = &rng
	}
	return d
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
