package guest

// finishOverlays is what Compose does last: what a guest's own client
// state (not the host's panes) changes about the finished frame. The key
// list (list-keys) covers the active pane in a view mode, pane numbers
// (display-panes) are drawn over the panes and hide the cursor, as tmux
// 2.4's identify mode does. While a status-line message or prompt shows,
// a tmux 2.x client hides the terminal's cursor (a prompt draws its own:
// a reverse cell after the typed text, see drawPrompt).
//
// Everything drawn here follows from v and the frame's size alone, and
// the rows it draws on are marked dirty: the panes under it may have been
// redrawn by Compose since the previous frame.
func finishOverlays(f *Frame, v *View) {
	rows := f.H
	if v.StatusOn || v.Message != "" || v.Prompt.Text != "" {
		rows--
	}
	if v.Local.List != nil {
		drawKeyList(f, v, rows)
	}
	if v.Local.PaneNumbers {
		drawPaneNumbers(f, v, rows)
		f.CursorVisible = false
	}
	if v.Message != "" || v.Prompt.Text != "" {
		f.CursorVisible = false
	}
}
