package guest

// finishOverlays is what Compose does last: what a guest's own client
// state (not the host's panes) changes about the finished frame. While a
// status-line message shows, a tmux 2.x client hides the cursor.
func finishOverlays(f *Frame, v *View) {
	if v.Message != "" {
		f.CursorVisible = false
	}
}
