package main

import (
	"encoding/json"
	"os"

	"github.com/socialrx/socialrx"
	"github.com/socialrx/socialrx/cmd/internal/fake"
)

// The fake platform and EMR live in cmd/internal/fake, shared with
// socialrx-bench; these names keep the demo's and the tests' spelling.
type (
	FakePlatform = fake.Platform
	FakeMessage  = fake.Message
	FakeEMR      = fake.EMR
	FakeWrite    = fake.Write
)

var (
	NewFakePlatform = fake.NewPlatform
	NewFakeEMR      = fake.NewEMR
	writeOutcome    = fake.WriteOutcome
)

// writeCredentials writes a credentials file (CredentialsFile) at path
// naming an Ocean-style platform served at baseURL (FakePlatform's routes)
// as Endpoint ocean-east: its token endpoint, client credentials, and
// inbound as the bearer token it presents to socialrx.
func writeCredentials(path, baseURL, clientID, clientSecret, inbound string) error {
	b, err := json.Marshal(CredentialsFile{Endpoints: map[string]socialrx.Credentials{
		"ocean-east": {TokenURL: baseURL + "/oauth2/token", ClientID: clientID, ClientSecret: clientSecret, InboundBearer: inbound},
	}})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
