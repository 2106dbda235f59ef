package config

import (
	"flag"
	"fmt"
	"reflect"
	"strings"
)

// Flags are the command-line flags of the jobmanager command: --config,
// and a flag for every setting of File with a flag tag. A flag only
// counts when it is given: see Resolve.
type Flags struct {
	fs      *flag.FlagSet
	configs []string
	set     File // the settings given as flags
}

// RegisterFlags defines the flags on fs, with the descriptions of
// File's fields as their usage, and sets fs.Usage to a listing that also
// names each flag's setting in a file and its environment variable.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	fl := &Flags{fs: fs}
	fs.Func("config", "an HCL configuration `FILE`, or a DIR whose *.hcl files are read in name order; repeatable, later files override earlier ones", func(v string) error {
		fl.configs = append(fl.configs, v)
		return nil
	})
	root := reflect.ValueOf(&fl.set).Elem()
	for _, f := range Fields() {
		if f.Flag != "" {
			fs.Var(&flagValue{f: f, root: root}, f.Flag, descriptions[f.Path])
		}
	}
	fs.Usage = fl.usage
	return fl
}

// Configs returns the paths given with --config, in order.
func (fl *Flags) Configs() []string { return append([]string(nil), fl.configs...) }

// File returns the settings given as flags; the others are unset.
func (fl *Flags) File() File { return merge(File{}, fl.set) }

// Resolve returns the settings the command line asks for: the defaults,
// overridden by the files named by --config, overridden by the
// environment variables (lookupEnv, e.g. os.LookupEnv), overridden by the
// flags given. Its errors name the file and line, the variable or the
// flag.
func (fl *Flags) Resolve(lookupEnv func(string) (string, bool)) (File, error) {
	files, err := Load(fl.configs...)
	if err != nil {
		return File{}, err
	}
	env, err := FromEnv(lookupEnv)
	if err != nil {
		return File{}, err
	}
	return Merge(files, env, fl.set), nil
}

// Merge returns the layers merged in order, each on top of the ones
// before it: a set value replaces, a map is merged key by key, a list
// replaces, a block is merged field by field.
func Merge(layers ...File) File {
	var out File
	for _, l := range layers {
		out = merge(out, l)
	}
	return out
}

// FromEnv returns the settings given by environment variables (those of
// File's env tags); lookupEnv is os.LookupEnv or a stand-in. An empty
// variable counts as unset.
func FromEnv(lookupEnv func(string) (string, bool)) (File, error) {
	var out File
	root := reflect.ValueOf(&out).Elem()
	for _, f := range Fields() {
		if f.Env == "" {
			continue
		}
		if v, ok := lookupEnv(f.Env); ok && v != "" {
			if err := f.set(root, v); err != nil {
				return File{}, fmt.Errorf("environment variable %s (%s): %w", f.Env, f.Path, err)
			}
		}
	}
	return out, nil
}

// flagValue is the flag.Value of a setting.
type flagValue struct {
	f    Field
	root reflect.Value // a File
}

func (v *flagValue) String() string {
	if v == nil || !v.root.IsValid() {
		return ""
	}
	if cur, ok := v.f.lookup(v.root); ok && v.f.isSet(v.root) {
		return strings.Trim(formatValue(cur), `"`)
	}
	return ""
}

func (v *flagValue) Set(s string) error { return v.f.set(v.root, s) }

func (v *flagValue) IsBoolFlag() bool { return v.f.Type == "bool" }

// placeholder names a flag's value in the usage listing.
func placeholder(f Field) string {
	switch f.Type {
	case "bool":
		return ""
	case "number":
		if strings.Contains(f.typ.String(), "float") {
			return "float"
		}
		return "int"
	case "list of strings":
		return "a,b,..."
	case "map of strings":
		return "key=value"
	case "blocks":
		return `"ATTRIBUTE OPERATOR VALUE"`
	case "label":
		return "name"
	}
	return f.Type
}

func (fl *Flags) usage() {
	w := fl.fs.Output()
	fmt.Fprintf(w, `Usage: %s [--config FILE|DIR]... [flags]

Settings come from, highest precedence first: the flags given, environment
variables, the configuration files named by --config (HCL), the defaults.
docs/configuration.md describes every setting.

  --config FILE|DIR
    	an HCL configuration file, or a directory whose *.hcl files are read in
    	name order; repeatable, later files override earlier ones
`, fl.fs.Name())
	for _, f := range Fields() {
		if f.Flag == "" {
			continue
		}
		fmt.Fprintf(w, "  --%s", f.Flag)
		if p := placeholder(f); p != "" {
			fmt.Fprintf(w, " %s", p)
		}
		fmt.Fprintln(w)
		for _, line := range wrap(strings.ReplaceAll(descriptions[f.Path], "`", ""), 72) {
			fmt.Fprintf(w, "    \t%s\n", line)
		}
		fmt.Fprintf(w, "    \t(file: %s", f.Path)
		if f.Env != "" {
			fmt.Fprintf(w, "; env %s", f.Env)
		}
		if f.Default != "" {
			fmt.Fprintf(w, "; default %s", f.Default)
		}
		fmt.Fprintln(w, ")")
	}
}

// wrap breaks text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
