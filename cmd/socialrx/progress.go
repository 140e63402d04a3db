package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// newProgressBar is the commands' progress bar of total resources on w
// (io.Discard for none: not a terminal, or --quiet), with description
// (may be empty) before it and the time left after it.
func newProgressBar(w io.Writer, total int64, description string) *progressbar.ProgressBar {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("resources"),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	}
	if description != "" {
		opts = append(opts, progressbar.OptionSetDescription(description))
	}
	return progressbar.NewOptions64(total, opts...)
}
