package socialrx

import (
	"context"
	"testing"
)

type onlyRead string

func (o onlyRead) Permits(i Interaction, typ string) bool {
	return i == InteractionRead && typ == string(o)
}

func TestPrincipalFrom(t *testing.T) {
	if p := PrincipalFrom(context.Background()); !p.Permits(InteractionDelete, "Patient") || p.ClientID != "" {
		t.Errorf("no principal: got %+v, want everything permitted and no client", p)
	}
	ctx := WithPrincipal(context.Background(), Principal{ClientID: "analytics", Access: onlyRead("Patient")})
	p := PrincipalFrom(ctx)
	if p.ClientID != "analytics" {
		t.Errorf("ClientID = %q", p.ClientID)
	}
	if !p.Permits(InteractionRead, "Patient") || p.Permits(InteractionRead, "Task") || p.Permits(InteractionCreate, "Patient") {
		t.Errorf("Permits does not follow Access")
	}
}
