package guest

// finishOverlays is what Compose does last: what a guest's own client
// state (not the host's panes) changes about the finished frame. While a
// status-line message or prompt shows, a tmux 2.x client hides the
// terminal's cursor (a prompt draws its own: a reverse cell after the
// typed text, see drawPrompt).
func finishOverlays(f *Frame, v *View) {
	if v.Message != "" || v.Prompt.Text != "" {
		f.CursorVisible = false
	}
}
