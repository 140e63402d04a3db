package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/socialrx/socialrx"
)

// TokenPrefix starts every static API token NewToken makes, so that one is
// recognised in a log or a secret scanner.
const TokenPrefix = "srx_"

// hashPrefix names the hash of a token in the token file.
const hashPrefix = "sha256:"

// StaticClientPrefix starts the client id of every static API token: the
// token named clinic-reports authenticates as client token.clinic-reports.
// The client ids of JWT access tokens come from the authorisation server;
// one starting with this prefix is refused (JWTVerifier.Verify), so that a
// JWT client can never be taken for a static token's client (own its
// exports, share its AuditEvent agent).
const StaticClientPrefix = "token."

// TokenFile is the static API tokens of a --api-token-file: for small
// clinics without an authorisation server. The file holds one token a line:
//
//	# name   hash of the token                               scopes
//	ehr-sync sha256:4f1c...e9 system/*.rs system/Task.cu
//
// name, after StaticClientPrefix, is the client id the token
// authenticates as (letters, digits, . _ -); the hash is the SHA-256 of the token, in hex; the scopes are SMART
// scopes (see Scopes), each of which must grant something. Blank lines and
// lines starting with # are skipped.
//
// Only hashes are kept, so the file (or a backup of it) does not give the
// tokens away. A fast hash is enough here, unlike for passwords: the tokens
// NewToken makes are 256 random bits, which no one can guess by hashing
// candidates however fast. A presented token is hashed and compared with
// every entry in constant time.
type TokenFile struct {
	entries []tokenEntry
}

type tokenEntry struct {
	name   string
	hash   [sha256.Size]byte
	scopes Scopes
}

var tokenName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// LoadTokenFile reads and checks a token file.
func LoadTokenFile(path string) (*TokenFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read token file: %w", err)
	}
	tf, err := ParseTokenFile(data)
	if err != nil {
		return nil, fmt.Errorf("auth: token file %s: %w", path, err)
	}
	return tf, nil
}

// ParseTokenFile reads the text of a token file. An empty one is an error:
// it would let no one in while looking configured.
func ParseTokenFile(data []byte) (*TokenFile, error) {
	tf := &TokenFile{}
	names := map[string]int{}
	hashes := map[[sha256.Size]byte]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: want: name sha256:HEX scope...", n)
		}
		if !tokenName.MatchString(f[0]) {
			return nil, fmt.Errorf("line %d: name %q: use 1 to 64 letters, digits, '.', '_' or '-'", n, f[0])
		}
		hexHash, ok := strings.CutPrefix(f[1], hashPrefix)
		raw, err := hex.DecodeString(hexHash)
		if !ok || err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("line %d: the second field must be sha256: and 64 hex digits (the hash, never the token itself)", n)
		}
		scopes, err := ParseScopesStrict(strings.Join(f[2:], " "))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		e := tokenEntry{name: f[0], scopes: scopes}
		copy(e.hash[:], raw)
		if at, dup := names[e.name]; dup {
			return nil, fmt.Errorf("line %d: name %s is also on line %d", n, e.name, at)
		}
		if at, dup := hashes[e.hash]; dup {
			return nil, fmt.Errorf("line %d: the same token is also on line %d", n, at)
		}
		names[e.name], hashes[e.hash] = n, n
		tf.entries = append(tf.entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(tf.entries) == 0 {
		return nil, fmt.Errorf("no tokens")
	}
	return tf, nil
}

// Lookup returns the principal of token, or ok false. Every entry is
// compared, in constant time, whether or not one matched earlier.
func (tf *TokenFile) Lookup(token string) (p socialrx.Principal, ok bool) {
	h := sha256.Sum256([]byte(token))
	for _, e := range tf.entries {
		if subtle.ConstantTimeCompare(h[:], e.hash[:]) == 1 {
			p, ok = socialrx.Principal{ClientID: StaticClientPrefix + e.name, Access: e.scopes}, true
		}
	}
	return p, ok
}

// NewToken returns a new random static API token: TokenPrefix and 32
// random bytes in unpadded base64url.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: random: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// TokenLine returns the token file line of token: name, its hash and
// scopes, after checking the name and scopes as LoadTokenFile would.
func TokenLine(name, token, scopes string) (string, error) {
	if !tokenName.MatchString(name) {
		return "", fmt.Errorf("name %q: use 1 to 64 letters, digits, '.', '_' or '-'", name)
	}
	s, err := ParseScopesStrict(scopes)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(token))
	return name + " " + hashPrefix + hex.EncodeToString(h[:]) + " " + s.String(), nil
}
