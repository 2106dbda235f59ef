package auth

import (
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// aclFile is the shape of an ACL file:
//
//	anonymous_read = true            # optional: GET endpoints need no token
//
//	token "ci" {
//	  secret = "…"                   # or secret_file = "/etc/sluice/ci.token"
//	  rights = ["submit"]
//	}
type aclFile struct {
	AnonymousRead *bool      `hcl:"anonymous_read,optional"`
	Tokens        []aclToken `hcl:"token,block"`
}

type aclToken struct {
	Name       string   `hcl:"name,label"`
	Secret     string   `hcl:"secret,optional"`
	SecretFile string   `hcl:"secret_file,optional"`
	Rights     []string `hcl:"rights"`
}

// LoadFile reads an ACL file (HCL, see aclFile) and adds its tokens to
// cfg. Errors name the file and line.
func LoadFile(path string, cfg *Config) error {
	p := hclparse.NewParser()
	f, diags := p.ParseHCLFile(path)
	if diags.HasErrors() {
		return fmt.Errorf("auth: ACL file: %s", diags.Error())
	}
	var af aclFile
	if diags := gohcl.DecodeBody(f.Body, nil, &af); diags.HasErrors() {
		return fmt.Errorf("auth: ACL file: %s", diags.Error())
	}
	if af.AnonymousRead != nil {
		cfg.AnonymousRead = *af.AnonymousRead
	}
	for _, t := range af.Tokens {
		secret := t.Secret
		switch {
		case secret != "" && t.SecretFile != "":
			return fmt.Errorf("auth: ACL file %s: token %q has both secret and secret_file; keep one", path, t.Name)
		case t.SecretFile != "":
			b, err := os.ReadFile(t.SecretFile)
			if err != nil {
				return fmt.Errorf("auth: ACL file %s: token %q: %w", path, t.Name, err)
			}
			secret = strings.TrimSpace(string(b))
		case secret == "":
			return fmt.Errorf("auth: ACL file %s: token %q has no secret or secret_file", path, t.Name)
		}
		tok := Token{Name: t.Name, Secret: secret}
		for _, r := range t.Rights {
			right, err := ParseRight(r)
			if err != nil {
				return fmt.Errorf("auth: ACL file %s: token %q: %w", path, t.Name, err)
			}
			tok.Rights = append(tok.Rights, right)
		}
		cfg.Tokens = append(cfg.Tokens, tok)
	}
	return nil
}

// ReadTokenFile returns the token in a file (its first line, trimmed), for
// clients given --token-file.
func ReadTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	return tok, nil
}
