package protocol

// Limits bound what a Decoder accepts from one host. A zero field takes its
// default (the Default* constants); a negative field is treated as zero
// (nothing allowed), which is only useful in tests.
type Limits struct {
	// MaxMessageBytes bounds the encoded size of every message but SNAPSHOT.
	MaxMessageBytes int
	// MaxSnapshotBytes bounds the encoded size of a SNAPSHOT message.
	MaxSnapshotBytes int
	// MaxPanes bounds the panes of a SYNC_LAYOUT (all windows together) and of
	// a SNAPSHOT.
	MaxPanes int
	// MaxWindows bounds the windows of a SYNC_LAYOUT.
	MaxWindows int
	// MaxArgs bounds the argv of an EXEC_CMD.
	MaxArgs int
	// MaxSize bounds every width, height, offset and cursor coordinate,
	// each alone: their product, and the panes' sum of it, is bounded by
	// the session's cell budget ([limits] max_session_cells), as cells are
	// written.
	MaxSize int
	// MaxSnapshotLines bounds the lines of one snapshot grid.
	MaxSnapshotLines int
}

// Defaults. How large real tmate 2.4.0 messages get (tmate-encoder.c):
//
//   - PTY_DATA is the only message the host splits: at most 16 KiB of data per
//     message (TMATE_MAX_PTY_SIZE), so at most 16384+13 bytes encoded. This is
//     what the original server's 17 KiB cap (tmate-ssh-server, 2021) was
//     sized for.
//   - HEADER, READY, FIN, UNAME, FAILED_CMD, SYNC_COPY_MODE are small. STATUS
//     (the host's expanded status-left/right), EXEC_CMD (a bind-key or
//     set-option line from the user's config, replayed as is), WRITE_COPY_MODE
//     (one start-up message) and SYNC_LAYOUT (5 ints per pane, up to 1000
//     panes, plus window names: about 30 KiB at worst with long names) are not
//     split and have no size limit in the client, but real ones stay far below
//     1 MiB. Under the original server's 17 KiB cap a host with a huge
//     status-right or config line was cut off; we accept up to
//     DefaultMaxMessageBytes = 1 MiB, which costs nothing as memory is only
//     allocated for bytes actually received.
//   - SNAPSHOT (sent once after a reconnection) is one message holding every
//     pane: per grid up to 300 history lines plus the screen height, each line
//     the cells' UTF-8 (up to 9 bytes a cell in tmux 2.x) and one uint per
//     cell (1 to 5 bytes), and a second grid for panes in the alternate
//     screen. A 200x50 pane is typically 100-300 KiB, at worst
//     2*350*200*14 = 1.9 MiB; a tmate 2.4.0 host reconnecting to the original
//     server with more than 17 KiB of snapshot was disconnected again. Since
//     the encoded size grows with panes*width*lines it has no real upper bound,
//     so SNAPSHOT gets its own budget, DefaultMaxSnapshotBytes = 64 MiB: dozens
//     of large panes at their worst, hundreds of ordinary ones.
//
// The pane cap is the original server's (TMATE_MAX_PANES 1000).
const (
	DefaultMaxMessageBytes  = 1 << 20
	DefaultMaxSnapshotBytes = 64 << 20
	DefaultMaxPanes         = 1000
	DefaultMaxWindows       = 1000
	DefaultMaxArgs          = 1024
	DefaultMaxSize          = 10000
	// The host sends at most 300 history lines plus the screen height.
	DefaultMaxSnapshotLines = 300 + DefaultMaxSize
)

// withDefaults returns l with zero fields set to their defaults.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		} else if *v < 0 {
			*v = 0
		}
	}
	def(&l.MaxMessageBytes, DefaultMaxMessageBytes)
	def(&l.MaxSnapshotBytes, DefaultMaxSnapshotBytes)
	def(&l.MaxPanes, DefaultMaxPanes)
	def(&l.MaxWindows, DefaultMaxWindows)
	def(&l.MaxArgs, DefaultMaxArgs)
	def(&l.MaxSize, DefaultMaxSize)
	def(&l.MaxSnapshotLines, DefaultMaxSnapshotLines)
	return l
}
