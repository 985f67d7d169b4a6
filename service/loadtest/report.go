package loadtest

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints the figures for a person.
func (r *Result) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, v ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, v...)...) }
	row("workload", "%s", r.Workload)
	row("sessions ok", "%d of %d", r.SessionsOK, r.Sessions)
	row("guests ok", "%d of %d", r.GuestsOK, r.Guests)
	row("errors", "%d", r.Errors)
	row("markers", "%d written, %d timed on guests' screens", r.Markers, r.LatSamples)
	row("latency", "p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms", r.LatP50, r.LatP99, r.LatP999, r.LatMax)
	row("relay RSS", "%.1f MB (peak %.1f MB)", float64(r.RelayRSS)/1e6, float64(r.RelayPeakRSS)/1e6)
	row("relay CPU", "%.2f s", r.RelayCPU)
	row("relay fds", "%d", r.FDs)
	row("generator CPU", "%.2f s", r.GeneratorCPU)
	row("bytes per guest", "%d", r.BytesPerGuest)
	row("setup", "%.1f s", r.SetupSeconds)
	if r.Workload == Restart {
		row("all hosts back", "%.1f s after SIGTERM", r.ReconnectAll)
	}
	if r.Workload == Churn {
		row("churn joins", "%d", r.ChurnJoins)
	}
	if r.Workload == Flood {
		row("flood", "%.1f s; the other sessions' latency meanwhile p50 %.1f ms, p99 %.1f ms", r.FloodSeconds, r.LatFloodP50, r.LatFloodP99)
	}
	tw.Flush()
	for _, e := range r.ErrorSamples {
		fmt.Fprintln(w, "error:", e)
	}
}
