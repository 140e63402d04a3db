package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/socialrx/socialrx/adapter/auth"
)

// TokenCmd manages static API tokens (--api-token-file).
type TokenCmd struct {
	New TokenNewCmd `cmd:"" help:"Make a static API token: print it once, with the line of the --api-token-file that lets it in."`
}

// TokenNewCmd makes one token.
type TokenNewCmd struct {
	Name   string `required:"" help:"Name of the token (letters, digits, '.', '_', '-'): it authenticates as the client token.NAME, the client in the logs and the audit trail."`
	Scopes string `required:"" help:"SMART scopes of the token, space-separated, e.g. \"system/*.rs system/Task.cu\" (v1 read/write/* or v2 cruds; system/ or user/)."`
	File   string `placeholder:"FILE" help:"Also append the line to this token file (created with mode 0600 when missing). The server reads the file at start."`

	out io.Writer // stdout; tests set it
}

// Run prints the token and its file line, and appends the line to File.
func (c *TokenNewCmd) Run() error {
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	tok, err := auth.NewToken()
	if err != nil {
		return err
	}
	line, err := auth.TokenLine(c.Name, tok, c.Scopes)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.File != "" {
		if err := appendLine(c.File, line); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "Token (shown this once; give it to the client, socialrx keeps only its hash):\n\n  %s\n\n", tok)
	if c.File != "" {
		fmt.Fprintf(out, "Added to %s (restart socialrx to load it):\n\n  %s\n\n", c.File, line)
	} else {
		fmt.Fprintf(out, "Add this line to the --api-token-file (then restart socialrx):\n\n  %s\n\n", line)
	}
	fmt.Fprintf(out, "The client sends it as:  Authorization: Bearer %s...\n", tok[:8])
	return nil
}

// appendLine appends line to the token file at path, checking first that
// the result still loads (no duplicate name).
func appendLine(path, line string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	add := line + "\n"
	if len(old) > 0 && old[len(old)-1] != '\n' {
		add = "\n" + add
	}
	if _, err := auth.ParseTokenFile(append(old, add...)); err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(add); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
