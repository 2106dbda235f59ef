package nomad

import (
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// This file holds what both jobs have in common: the job's header and
// placement, the network, restart and reschedule blocks, and the task's
// program (artifact, driver config), env and secrets template.

// jsArtifactDir is where a downloaded program lands, in the task directory.
const jsArtifactDir = "local"

// jsChmodWrapper runs a downloaded program: Nomad writes artifacts without
// the executable bit, so a shell sets it and execs the program with the
// arguments that follow ($0 is the program).
const jsChmodWrapper = `chmod +x "$0" && exec "$0" "$@"`

// jsNewJob starts a jobspec: the header comment and the job block with
// its placement. It returns the file and the job's body.
func jsNewJob(c JobspecConfig, job string, header []string) (*hclwrite.File, jsBody) {
	f := hclwrite.NewEmptyFile()
	root := jsBody{f.Body(), 0}
	root.comment(header...)
	root.AppendNewline()
	jb := root.block("job", job)
	dcs := make([]jsStr, len(c.Datacenters))
	for i, dc := range c.Datacenters {
		dcs[i] = jsLit(dc)
	}
	jb.list("datacenters", dcs...)
	if c.Namespace != "" {
		jb.lit("namespace", c.Namespace)
	}
	if c.Region != "" {
		jb.lit("region", c.Region)
	}
	if c.NodePool != "" {
		jb.lit("node_pool", c.NodePool)
	}
	jb.lit("type", "service")
	for _, con := range c.Constraints {
		jb.AppendNewline()
		cb := jb.block("constraint")
		if con.Attribute != "" {
			cb.str("attribute", jsWithRefs(con.Attribute))
		}
		cb.lit("operator", con.Operator)
		if con.Value != "" {
			cb.str("value", jsWithRefs(con.Value))
		}
	}
	return f, jb
}

// render formats the finished file.
func jsRender(f *hclwrite.File) string { return string(hclwrite.Format(f.Bytes())) }

// network writes the group's network block with its ports, static where
// a port is given.
func jsNetwork(g jsBody, ports []string, static map[string]int) {
	nb := g.block("network")
	for _, p := range ports {
		if n := static[p]; n > 0 {
			nb.block("port", p).int("static", int64(n))
			continue
		}
		nb.emptyBlock("port", p)
	}
}

// jsRestart writes the group's restart and reschedule policies.
func jsRestart(g jsBody, why string) {
	g.AppendNewline()
	g.comment(why)
	rb := g.block("restart")
	rb.int("attempts", 5)
	rb.lit("interval", "10m")
	rb.lit("delay", "5s")
	rb.lit("mode", "fail")
	g.AppendNewline()
	rs := g.block("reschedule")
	rs.lit("delay", "15s")
	rs.lit("delay_function", "exponential")
	rs.lit("max_delay", "5m")
	rs.bool("unlimited", true)
}

// jsProgram writes the task's artifact (if any) and driver config: command
// and args, and the image with docker. name is the program's file name
// when downloaded. With docker and neither a path nor an artifact, the
// image's entrypoint must be the program: it gets args.
func jsProgram(t jsBody, c JobspecConfig, b JobspecBinary, name string, args []jsArgs) {
	var command jsStr
	switch {
	case b.Artifact != "":
		t.AppendNewline()
		t.comment("Nomad downloads the binary and checks its sha256 before every start.")
		ab := t.block("artifact")
		ab.lit("source", b.Artifact)
		ab.lit("destination", jsArtifactDir+"/"+name)
		ab.lit("mode", "file")
		ab.block("options").lit("checksum", strings.ToLower(b.Checksum))
		args = append([]jsArgs{
			{comment: []string{"Artifacts are downloaded without the executable bit: sh sets it, then execs the binary."},
				args: []jsStr{jsLit("-c"), jsLit(jsChmodWrapper)}},
			{args: []jsStr{jsCat(jsRef("NOMAD_TASK_DIR"), jsLit("/"+name))}},
		}, args...)
		command = jsLit("/bin/sh")
	case b.Path != "":
		command = jsLit(b.Path)
	}
	t.AppendNewline()
	cb := t.block("config")
	if c.Driver == DriverDocker {
		cb.lit("image", b.Image)
		cb.lit("network_mode", "host")
	}
	switch {
	case command != nil && c.Driver == DriverDocker:
		// The entrypoint, not command: with an image that has one of
		// its own, command and args would become its arguments.
		cb.list("entrypoint", command)
	case command != nil:
		cb.str("command", command)
	}
	if len(args) > 0 {
		cb.lines("args", args)
	}
}

// jsEnv writes the task's env block from name/value pairs, in order.
func jsEnv(t jsBody, comment []string, vars [][2]jsStr) {
	if len(vars) == 0 {
		return
	}
	t.AppendNewline()
	t.comment(comment...)
	eb := t.block("env")
	for _, kv := range vars {
		eb.str(kv[0][0].lit, kv[1])
	}
}

// jsSecrets writes the template that turns every item of the Nomad
// Variable at path into an environment variable of the task.
func jsSecrets(t jsBody, path string) {
	t.AppendNewline()
	t.comment(
		"Secrets: every item of the Nomad Variable "+path,
		"becomes an environment variable of the task (SLUICE_CONSUL_TOKEN, NOMAD_TOKEN,",
		"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...). Create it before the job, as",
		"the task waits for it:",
		"  nomad var put "+path+" AWS_SECRET_ACCESS_KEY=... SLUICE_CONSUL_TOKEN=...",
		"The task restarts when the variable changes.",
	)
	tb := t.block("template")
	// path is checked against jsVariablePattern: it cannot end the Go
	// template's string or hold an HCL template sequence.
	tb.heredoc("data", "{{ with nomadVar \""+path+"\" }}{{ range .Tuples }}{{ .K }}={{ .V | toJSON }}\n{{ end }}{{ end }}\n")
	tb.str("destination", jsCat(jsRef("NOMAD_SECRETS_DIR"), jsLit("/sluice.env")))
	tb.bool("env", true)
	tb.lit("change_mode", "restart")
}

// resources writes the task's resources block.
func jsResources(t jsBody, cpu, memoryMB int64) {
	t.AppendNewline()
	rb := t.block("resources")
	rb.int("cpu", cpu)
	rb.int("memory", memoryMB)
}

// flag is an jsArgs of a flag and its value.
func jsFlag(name string, value jsStr) jsArgs { return jsArgs{args: []jsStr{jsLit(name), value}} }

// jsItoa formats an int for a flag or env value.
func jsItoa[T int | int64](n T) jsStr { return jsLit(strconv.FormatInt(int64(n), 10)) }
