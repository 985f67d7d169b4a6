// Package protocol holds the tmate wire protocol as the relay speaks it: the
// messages a tmate host sends ("daemon out"), the messages the relay sends
// back ("daemon in"), and a msgpack codec for both directions.
//
// The host stream is a sequence of msgpack arrays whose first element is the
// message type. Decoder turns it into HostMessage values, checking every type,
// range and length against Limits so that a hostile or broken host can only
// end its own connection. Encoder writes relay->host messages, one Write per
// message, and is safe for concurrent use.
//
// Facts come from the public tmate 2.4.0 sources (tmate-protocol.h,
// tmate-encoder.c, tmate-decoder.c) and from recording the real client, see
// testdata/tmate-2.4.0-start.msgpack.
package protocol

import "fmt"

// ProtocolVersion is the tmate protocol version this package speaks. tmate
// introduced version 6 in 2.2.1 (the host sends READY after its start-up
// replay and understands PANE_KEY with raw tmux key codes and EXEC_CMD with an
// argv); 2.2.1 through 2.4.0 all send 6. tmate 2.2.0 sent 5, 1.8.10 sent 4,
// 1.8.6-1.8.9a sent 3, 1.8.5 sent 2, 1.8.3-1.8.4 sent 1.
const ProtocolVersion = 6

// MinClientVersion is the oldest tmate release that speaks ProtocolVersion.
const MinClientVersion = "2.2.1"

// RecommendedClientVersion is the tmate release the relay is tested with.
const RecommendedClientVersion = "2.4.0"

// UnsupportedVersionNotice returns the NOTIFY text for a host whose HEADER
// announced protocol (and clientVersion, "" when the host is too old to send
// it), or "" when that protocol is supported. Send it with an Encoder set up
// with SetClientProtocol(protocol) so that an old host can decode it, then
// close the connection.
func UnsupportedVersionNotice(protocol int, clientVersion string) string {
	if protocol == ProtocolVersion {
		return ""
	}
	you := "your tmate"
	if clientVersion != "" {
		you = "your tmate " + clientVersion
	}
	if protocol < ProtocolVersion {
		return fmt.Sprintf("This relay needs tmate %s or later (protocol %d, %s recommended); %s speaks protocol %d. Please upgrade tmate.",
			MinClientVersion, ProtocolVersion, RecommendedClientVersion, you, protocol)
	}
	return fmt.Sprintf("This relay speaks tmate protocol %d (tmate %s to %s); %s speaks protocol %d, which it does not know yet. Please upgrade the relay or use tmate %s.",
		ProtocolVersion, MinClientVersion, RecommendedClientVersion, you, protocol, RecommendedClientVersion)
}

// MsgType is the first element of a host->relay message.
type MsgType int

// Host->relay message types (tmate_daemon_out_msg_types).
const (
	MsgHeader        MsgType = 0
	MsgSyncLayout    MsgType = 1
	MsgPtyData       MsgType = 2
	MsgExecCmdStr    MsgType = 3
	MsgFailedCmd     MsgType = 4
	MsgStatus        MsgType = 5
	MsgSyncCopyMode  MsgType = 6
	MsgWriteCopyMode MsgType = 7
	MsgFin           MsgType = 8
	MsgReady         MsgType = 9
	MsgReconnect     MsgType = 10
	MsgSnapshot      MsgType = 11
	MsgExecCmd       MsgType = 12
	MsgUname         MsgType = 13
)

var msgTypeNames = [...]string{
	"HEADER", "SYNC_LAYOUT", "PTY_DATA", "EXEC_CMD_STR", "FAILED_CMD", "STATUS",
	"SYNC_COPY_MODE", "WRITE_COPY_MODE", "FIN", "READY", "RECONNECT", "SNAPSHOT",
	"EXEC_CMD", "UNAME",
}

func (t MsgType) String() string {
	if t >= 0 && int(t) < len(msgTypeNames) {
		return msgTypeNames[t]
	}
	return fmt.Sprintf("type %d", int(t))
}

// Relay->host message types (tmate_daemon_in_msg_types).
const (
	inNotify        = 0
	inLegacyPaneKey = 1
	inResize        = 2
	inExecCmdStr    = 3
	inSetEnv        = 4
	inReady         = 5
	inPaneKey       = 6
	inExecCmd       = 7
)

// HostMessage is one decoded host->relay message. The concrete types are the
// pointer types below (*Header, *SyncLayout, ...).
type HostMessage interface {
	Type() MsgType
	hostMessage()
}

// Header is [0, protocol_version, client_version]. Hosts older than protocol
// 3 send no version string; ClientVersion is "" then.
type Header struct {
	ProtocolVersion int
	ClientVersion   string
}

// SyncLayout is the whole layout of the host's (single) session.
type SyncLayout struct {
	SX, SY          int // session size
	Windows         []Window
	ActiveWindowIdx int // -1 when there is none
}

// Window is one window of a SyncLayout.
type Window struct {
	Idx          int // winlink index (what the status line shows)
	Name         string
	Panes        []PaneLayout
	ActivePaneID int // -1 when there is none
}

// PaneLayout is the position and size of one pane in its window.
type PaneLayout struct {
	ID         int
	SX, SY     int
	XOff, YOff int
}

// PtyData is output of a pane. Data is raw terminal output: the host sends it
// as a msgpack str but it is not always valid UTF-8 (a chunk boundary can cut
// a character, programs print what they like). Chunks are at most 16 KiB.
// Data is freshly allocated for each message; the receiver may keep it.
type PtyData struct {
	PaneID int
	Data   []byte
}

// ExecCmdStr is a tmux command line the host replicates (protocol < 6 only).
type ExecCmdStr struct {
	Cmd string
}

// FailedCmd reports that a command a guest triggered (EXEC_CMD from the relay
// with ClientID) failed on the host.
type FailedCmd struct {
	ClientID int
	Cause    string
}

// Status holds the host's expanded status-left and status-right strings (they
// may contain #[style] markup).
type Status struct {
	Left, Right string
}

// SyncCopyMode is the copy-mode state of a pane. CopyMode is nil when the pane
// is not (or no longer) in copy mode.
type SyncCopyMode struct {
	PaneID   int
	CopyMode *CopyMode
}

// CopyMode is the state of a pane in copy mode.
type CopyMode struct {
	// Backing is true when copy mode shows the pane's own screen, false when
	// it shows a separate output screen (WRITE_COPY_MODE text).
	Backing bool
	OY      int // scroll offset into the history, in lines
	CX, CY  int // copy-mode cursor
	// Selection is nil when nothing is selected.
	Selection *Selection
	// Input is nil when no prompt is shown.
	Input *CopyModeInput
}

// Selection is the start of a copy-mode selection (the end is the cursor).
type Selection struct {
	X int
	Y int // counted from the bottom line of the backing screen's history+screen
	// Rect is true for a rectangle selection.
	Rect bool
}

// CopyModeInput is a prompt shown in copy mode (search, jump to line...).
type CopyModeInput struct {
	Type   int // tmux's window_copy_input_type
	Prompt string
	Str    string
}

// WriteCopyMode shows Text in a copy-mode output view of the pane (tmate's
// start-up tips, show-messages).
type WriteCopyMode struct {
	PaneID int
	Text   string
}

// Fin says the host exits cleanly.
type Fin struct{}

// Ready says the host finished its start-up (or reconnection) replay.
type Ready struct{}

// Reconnect carries what the relay earlier set as tmate_reconnection_data.
type Reconnect struct {
	Data string
}

// Snapshot is the content of every pane, sent after a reconnection (up to 300
// history lines plus the screen per grid).
type Snapshot struct {
	Panes []SnapshotPane
}

// SnapshotPane is one pane of a Snapshot.
type SnapshotPane struct {
	ID   int
	Mode uint32 // tmux screen mode flags (MODE_CURSOR, MODE_INSERT, ...)
	Grid SnapshotGrid
	// Saved is the main grid saved while the alternate screen is active, or
	// nil.
	Saved *SnapshotGrid
}

// SnapshotGrid is a grid's cursor and its lines, oldest history line first.
type SnapshotGrid struct {
	CX, CY int
	Lines  []SnapshotLine
}

// SnapshotLine is one grid line. Text is the concatenated UTF-8 data of the
// cells (a cell may contribute zero or several bytes); Cells holds one packed
// value per cell: flags<<24 | attr<<16 | bg<<8 | fg.
type SnapshotLine struct {
	Text  string
	Cells []uint32
}

// ExecCmd is the argv of a tmux command the host replicates (set-option,
// set-window-option, bind-key, unbind-key), Argv[0] being the command name.
type ExecCmd struct {
	Argv []string
}

// Uname is the host's uname(2).
type Uname struct {
	Sysname, Nodename, Release, Version, Machine string
}

func (*Header) Type() MsgType        { return MsgHeader }
func (*SyncLayout) Type() MsgType    { return MsgSyncLayout }
func (*PtyData) Type() MsgType       { return MsgPtyData }
func (*ExecCmdStr) Type() MsgType    { return MsgExecCmdStr }
func (*FailedCmd) Type() MsgType     { return MsgFailedCmd }
func (*Status) Type() MsgType        { return MsgStatus }
func (*SyncCopyMode) Type() MsgType  { return MsgSyncCopyMode }
func (*WriteCopyMode) Type() MsgType { return MsgWriteCopyMode }
func (*Fin) Type() MsgType           { return MsgFin }
func (*Ready) Type() MsgType         { return MsgReady }
func (*Reconnect) Type() MsgType     { return MsgReconnect }
func (*Snapshot) Type() MsgType      { return MsgSnapshot }
func (*ExecCmd) Type() MsgType       { return MsgExecCmd }
func (*Uname) Type() MsgType         { return MsgUname }

func (*Header) hostMessage()        {}
func (*SyncLayout) hostMessage()    {}
func (*PtyData) hostMessage()       {}
func (*ExecCmdStr) hostMessage()    {}
func (*FailedCmd) hostMessage()     {}
func (*Status) hostMessage()        {}
func (*SyncCopyMode) hostMessage()  {}
func (*WriteCopyMode) hostMessage() {}
func (*Fin) hostMessage()           {}
func (*Ready) hostMessage()         {}
func (*Reconnect) hostMessage()     {}
func (*Snapshot) hostMessage()      {}
func (*ExecCmd) hostMessage()       {}
func (*Uname) hostMessage()         {}
