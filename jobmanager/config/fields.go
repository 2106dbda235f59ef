package config

import (
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/jobmanager/restart"
	"github.com/sluicehq/sluice/jobmanager/server"
	"github.com/sluicehq/sluice/nomad"
)

// Field describes one setting of File: an attribute, a block's label, or
// a block. Flags, environment variables, the checks and the generated
// documentation are all driven by this list, so that a setting is
// declared once, as a field of File.
type Field struct {
	// Path is the setting's place in a file, dotted: "slots",
	// "restart.delay", "nomad.constraint". A block's label has the
	// block's path.
	Path string
	// Name is the last element of Path.
	Name string
	// Block is the path of the enclosing block ("" at the top level).
	Block string
	// GoType and GoField name the struct and field that declare it, where
	// its doc comment is.
	GoType, GoField string
	// Type says what the value is, for people: "string", "number",
	// "size", "duration", "bool", "list of strings", "map of strings",
	// "label", "block" or "blocks".
	Type string
	// Flag is the command-line flag that sets it, without dashes ("" if
	// none); Env the environment variable ("" if none).
	Flag, Env string
	// Default is the default as written in a file (`"1s"`, `4`), or a
	// description of it; "" if there is none.
	Default string
	// Label: the field is a block's label. IsBlock: the field is a block,
	// or a list of blocks (Repeated).
	Label, IsBlock, Repeated bool

	index []int
	typ   reflect.Type
}

var (
	fieldsOnce sync.Once
	fieldList  []Field
)

// Fields returns every setting in the order of the File struct, the
// attributes of a struct before its blocks, each block followed by its
// fields.
func Fields() []Field {
	fieldsOnce.Do(func() {
		defaults := reflect.ValueOf(Defaults())
		fieldList = collect(reflect.TypeFor[File](), "", nil, defaults)
	})
	return slices.Clone(fieldList)
}

func collect(t reflect.Type, block string, index []int, defaults reflect.Value) []Field {
	var out []Field
	// Attributes and labels first, then blocks, so that a block's fields
	// are never interrupted by a nested block.
	order := make([]int, 0, t.NumField())
	for pass := range 2 {
		for i := range t.NumField() {
			_, kind, _ := strings.Cut(t.Field(i).Tag.Get("hcl"), ",")
			if (kind == "block") == (pass == 1) {
				order = append(order, i)
			}
		}
	}
	for _, i := range order {
		sf := t.Field(i)
		tag := sf.Tag.Get("hcl")
		if tag == "" {
			continue
		}
		name, kind, _ := strings.Cut(tag, ",")
		f := Field{
			Name: name, Block: block, GoType: t.Name(), GoField: sf.Name,
			Flag: sf.Tag.Get("flag"), Env: sf.Tag.Get("env"), Default: sf.Tag.Get("default"),
			index: append(slices.Clone(index), i), typ: sf.Type,
		}
		f.Path = name
		if block != "" {
			f.Path = block + "." + name
		}
		var dv reflect.Value
		if defaults.IsValid() {
			dv = defaults.Field(i)
		}
		switch kind {
		case "label":
			f.Path, f.Type, f.Label = block, "label", true
		case "block":
			f.IsBlock, f.Type = true, "block"
			elem := sf.Type
			if elem.Kind() == reflect.Slice {
				f.Repeated, f.Type = true, "blocks"
			}
			for elem.Kind() == reflect.Pointer || elem.Kind() == reflect.Slice {
				elem = elem.Elem()
			}
			if dv.IsValid() && dv.Kind() == reflect.Pointer {
				if dv.IsNil() {
					dv = reflect.Value{}
				} else {
					dv = dv.Elem()
				}
			} else {
				dv = reflect.Value{}
			}
			if f.Default == "" && f.Repeated {
				f.Default = "none"
			}
			out = append(out, f)
			out = append(out, collect(elem, f.Path, f.index, dv)...)
			continue
		default:
			f.Type = typeName(sf.Type)
		}
		if f.Default == "" && dv.IsValid() {
			f.Default = formatValue(dv)
		}
		out = append(out, f)
	}
	return out
}

// typeName says what a value of type t is, for people.
func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[Size]():
		return "size"
	case reflect.TypeFor[Duration]():
		return "duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "bool"
	case reflect.Slice:
		return "list of strings"
	case reflect.Map:
		return "map of strings"
	}
	return t.String()
}

// typeHelp says what a setting takes, with an example.
func typeHelp(t reflect.Type) string {
	switch typeName(t) {
	case "size":
		return `a size: bytes, or a string with a unit such as "512MiB" or "2GiB"`
	case "duration":
		return `a duration string such as "500ms", "10s" or "2m"`
	case "string":
		return "a string in double quotes"
	case "number":
		if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Int {
			return "a whole number"
		}
		return "a number"
	case "bool":
		return "true or false"
	case "list of strings":
		return `a list of strings such as ["dc1", "dc2"]`
	case "map of strings":
		return `a map such as { bucket = "sluice", region = "eu-west-1" }`
	}
	return typeName(t)
}

// formatValue writes a set value as it would be written in a file; ""
// for an unset one.
func formatValue(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		if v.String() == "" {
			return ""
		}
		return strconv.Quote(v.String())
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Slice:
		if v.Len() == 0 {
			return ""
		}
		var parts []string
		for i := range v.Len() {
			parts = append(parts, formatValue(v.Index(i)))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		if v.Len() == 0 {
			return ""
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(v.Interface().(map[string]string))) {
			parts = append(parts, k+" = "+strconv.Quote(v.MapIndex(reflect.ValueOf(k)).String()))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return fmt.Sprint(v.Interface())
}

// lookup returns the value of f in root (a File), and false when a block
// on the way is not set.
func (f Field) lookup(root reflect.Value) (reflect.Value, bool) {
	v := root
	for n, i := range f.index {
		v = v.Field(i)
		if n == len(f.index)-1 {
			break
		}
		if v.Kind() != reflect.Pointer || v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	return v, true
}

// isSet reports whether f has a value in root.
func (f Field) isSet(root reflect.Value) bool {
	v, ok := f.lookup(root)
	if !ok {
		return false
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		return !v.IsNil()
	case reflect.String:
		return v.String() != ""
	}
	return true
}

// set parses s as the value of f in root (a File), creating the blocks on
// the way, and checks it. A list of strings takes s comma-separated and
// replaces what was there; a map takes key=value and adds it; a list of
// constraints takes "ATTRIBUTE OPERATOR VALUE" and appends it.
func (f Field) set(root reflect.Value, s string) error {
	v := root
	for n, i := range f.index {
		v = v.Field(i)
		if n == len(f.index)-1 {
			break
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	switch p := v.Addr().Interface().(type) {
	case *string:
		*p = s
	case **string:
		*p = &s
	case **int:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 0, strconv.IntSize)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		i := int(n)
		*p = &i
	case **float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		*p = &x
	case **bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		*p = &b
	case **Size:
		x := Size(s)
		*p = &x
	case **Duration:
		x := Duration(s)
		*p = &x
	case *[]string:
		*p = []string{}
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				*p = append(*p, e)
			}
		}
	case *map[string]string:
		k, val, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value", s)
		}
		if *p == nil {
			*p = map[string]string{}
		}
		(*p)[k] = val
	case *[]Constraint:
		c, err := nomad.ParseConstraint(s)
		if err != nil {
			return err
		}
		*p = append(*p, Constraint{Attribute: c.Attribute, Operator: c.Operator, Value: c.Value})
	default:
		panic(fmt.Sprintf("config: field %s has type %s, which set does not handle", f.Path, v.Type()))
	}
	return f.check(v)
}

// checks are the checks of particular settings, on top of those of their
// types.
var checks = map[string]func(v any) error{
	"provider":   oneOf(server.ProviderLocal, server.ProviderStandalone, server.ProviderNomad),
	"log_level":  func(v any) error { return checkLogLevel(v.(string)) },
	"log_format": oneOf(logging.FormatText, logging.FormatJSON),
	"restart.strategy": func(v any) error {
		_, err := restart.ParseKind(v.(string))
		return err
	},
	"restart.multiplier": func(v any) error {
		if m := v.(float64); m != 0 && !(m >= 1) {
			return fmt.Errorf("%v is below 1; want 1 or more (0 means the default, %v)", m, restart.DefaultMultiplier)
		}
		return nil
	},
	"restart.jitter": func(v any) error {
		if j := v.(float64); !(j >= 0 && j <= 1) {
			return fmt.Errorf("%v is outside [0, 1]; want a number from 0 to 1", j)
		}
		return nil
	},
	"nomad.driver": oneOf(nomad.DriverRawExec, nomad.DriverExec, nomad.DriverDocker),
}

func oneOf(allowed ...string) func(v any) error {
	return func(v any) error {
		if slices.Contains(allowed, v.(string)) {
			return nil
		}
		quoted := make([]string, len(allowed))
		for i, a := range allowed {
			quoted[i] = strconv.Quote(a)
		}
		return fmt.Errorf("%q is not one of %s or %s", v, strings.Join(quoted[:len(quoted)-1], ", "), quoted[len(quoted)-1])
	}
}

func checkLogLevel(s string) error {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("%q is not a log level; use debug, info, warn or error", s)
	}
	return nil
}

// check checks a value of f (v is the field itself, possibly a nil
// pointer).
func (f Field) check(v reflect.Value) error {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch x := v.Interface().(type) {
	case Size:
		if _, err := x.Bytes(); err != nil {
			return err
		}
	case Duration:
		d, err := x.Duration()
		if err != nil {
			return err
		}
		if d < 0 {
			return fmt.Errorf("%q is negative; want 0 or more", string(x))
		}
	case int:
		if x < 0 {
			return fmt.Errorf("%d is negative; want 0 or more (0 means the default)", x)
		}
	case []Constraint:
		for _, c := range x {
			if c.Attribute == "" && c.Operator == "" {
				return fmt.Errorf("a constraint needs an attribute and an operator, e.g. attribute = \"attr.kernel.name\", value = \"linux\"")
			}
		}
	}
	if c := checks[f.Path]; c != nil && !f.IsBlock {
		return c(v.Interface())
	}
	return nil
}

// merge returns a copy of base with every setting of over on top: set
// values replace, maps are merged key by key, lists are replaced, blocks
// are merged field by field.
func merge(base, over File) File {
	out := reflect.New(reflect.TypeFor[File]()).Elem()
	mergeInto(out, reflect.ValueOf(base))
	mergeInto(out, reflect.ValueOf(over))
	return out.Interface().(File)
}

func mergeInto(dst, src reflect.Value) {
	for i := range src.NumField() {
		d, s := dst.Field(i), src.Field(i)
		switch s.Kind() {
		case reflect.Pointer:
			if s.IsNil() {
				continue
			}
			if s.Elem().Kind() != reflect.Struct {
				c := reflect.New(s.Type().Elem())
				c.Elem().Set(s.Elem())
				d.Set(c)
				continue
			}
			c := reflect.New(s.Type().Elem())
			if !d.IsNil() {
				mergeInto(c.Elem(), d.Elem())
			}
			mergeInto(c.Elem(), s.Elem())
			d.Set(c)
		case reflect.String:
			if s.String() != "" {
				d.Set(s)
			}
		case reflect.Slice:
			if !s.IsNil() {
				d.Set(reflect.AppendSlice(reflect.MakeSlice(s.Type(), 0, s.Len()), s))
			}
		case reflect.Map:
			if s.IsNil() {
				continue
			}
			m := reflect.MakeMap(s.Type())
			for _, x := range []reflect.Value{d, s} {
				for it := x.MapRange(); it.Next(); {
					m.SetMapIndex(it.Key(), it.Value())
				}
			}
			d.Set(m)
		default:
			panic(fmt.Sprintf("config: merge does not handle %s", s.Type()))
		}
	}
}
