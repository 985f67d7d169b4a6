package loadtest

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"strings"

	"tmate-relay/service/protocol"
)

// recordedStart is what a real tmate 2.4.0 sent from its start (TestHostMatchesTmate
// records it again and fails when the synthetic host no longer sends the
// same): synthetic hosts replay its start-up so that the relay sees what it
// sees from the real client.
//
//go:embed recorded/tmate-2.4.0-start.msgpack
var recordedStart []byte

// startup is a real host's start-up split where the relay's answer comes
// in: before holds HEADER, the key table and options (EXEC_CMD), UNAME,
// READY, the first layouts and the tips shown in copy mode; the host then
// shows the relay's NOTIFYs as more copy-mode lines, and after holds what
// it sends once its user has pressed q (copy mode left, layout), up to its
// first pane output.
type startup struct {
	before, after []protocol.HostMessage
	execs         []*protocol.ExecCmd // the EXEC_CMDs, replayed on reconnection
	uname         *protocol.Uname
}

// parseStartup splits a recorded start stream; relayHost, relayPort and
// fingerprint replace the recording's tmate-server-* options, as the
// synthetic host's configuration would name them.
func parseStartup(rec []byte, relayHost, relayPort, fingerprint string) (*startup, error) {
	d := protocol.NewDecoder(bytes.NewReader(rec), protocol.Limits{})
	st := &startup{}
	connecting := false // the tips' last line, "Connecting to HOST...", was seen
	echoes := false     // the relay's NOTIFYs were shown after it
	for {
		m, err := d.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("recorded start-up has no pane output")
		}
		if err != nil {
			return nil, fmt.Errorf("recorded start-up: %w", err)
		}
		switch m := m.(type) {
		case *protocol.PtyData:
			if st.uname == nil || !connecting {
				return nil, fmt.Errorf("recorded start-up lacks UNAME or the tips")
			}
			return st, nil
		case *protocol.ExecCmd:
			m = rewriteServerOption(m, relayHost, relayPort, fingerprint)
			st.execs = append(st.execs, m)
			st.before = append(st.before, m)
			continue
		case *protocol.Uname:
			st.uname = m
		case *protocol.WriteCopyMode:
			if connecting {
				echoes = true // shown by the host live, from the relay's NOTIFYs
				continue
			}
			if strings.HasPrefix(m.Text, "Connecting to ") {
				connecting = true
				m = &protocol.WriteCopyMode{PaneID: m.PaneID, Text: "Connecting to " + relayHost + "..."}
			}
		}
		if echoes {
			st.after = append(st.after, m)
		} else {
			st.before = append(st.before, m)
		}
	}
}

func rewriteServerOption(m *protocol.ExecCmd, host, port, fingerprint string) *protocol.ExecCmd {
	if len(m.Argv) != 4 || m.Argv[0] != "set-option" {
		return m
	}
	value := map[string]string{
		"tmate-server-host":                host,
		"tmate-server-port":                port,
		"tmate-server-ed25519-fingerprint": fingerprint,
	}
	if v, ok := value[m.Argv[2]]; ok {
		return &protocol.ExecCmd{Argv: []string{m.Argv[0], m.Argv[1], m.Argv[2], v}}
	}
	return m
}
