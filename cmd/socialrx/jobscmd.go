package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/socialrx/socialrx"
)

// JobsCmd lists the outbox: what socialrx must deliver, and what failed.
type JobsCmd struct {
	State string `default:"" enum:",pending,delivered,failed,cancelled" help:"Only messages in this state: pending, delivered, failed or cancelled (never sent: the Consent that permitted it was revoked, or a reminder whose follow-up ended)."`
	Limit int    `default:"50" help:"At most this many, newest first."`
	DatabaseFlag
}

// Run prints the messages as a table. A failed message shows the
// receiver's reason: the terminal is the operator's, not a log.
func (c *JobsCmd) Run(ctx context.Context) error {
	s, err := OpenExistingStore(ctx, c.Database)
	if err != nil {
		return err
	}
	defer s.Close()
	ms, err := s.OutboundMessages(ctx, c.State, c.Limit)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "QUEUED\tSTATE\tATTEMPTS\tTO\tENDPOINT\tEVENT\tRESOURCE\tMESSAGE ID\tERROR")
	for _, m := range ms {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s/%s/_history/%d\t%s\t%s\n", m.CreatedAt.Format("2006-01-02 15:04:05"), m.State, m.Attempts,
			m.Destination, m.EndpointID, m.Event, m.ResourceType, m.ResourceID, m.Version, m.ID, m.Error)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(ms) == 0 {
		fmt.Println("(no messages" + map[bool]string{true: " in state " + c.State, false: ""}[c.State != ""] + ")")
	}
	return nil
}

var _ socialrx.Outbox = Store(nil)
