package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// normalizeArgs rewrites long flags written with a single dash, as Go's
// flag package accepts them (-json, -jobmanager=ADDR, -parallelism 4), to
// the double-dash form cobra parses. Only names of long flags of root or
// its subcommands are rewritten, and only before a "--": what follows it
// belongs to the job binary.
func normalizeArgs(root *cobra.Command, args []string) []string {
	long := longFlagNames(root)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if long[name] {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// longFlagNames returns the names, longer than one letter, of every flag of
// cmd and its subcommands, including help.
func longFlagNames(cmd *cobra.Command) map[string]bool {
	names := map[string]bool{"help": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) {
			if len(f.Name) > 1 {
				names[f.Name] = true
			}
		}
		c.Flags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cmd)
	return names
}
