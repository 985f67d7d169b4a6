package protocol

import (
	"errors"
	"io"
	"sync"
)

// Encoder writes relay->host messages. It is safe for concurrent use: each
// message goes out whole, in a single Write call, so messages of several
// goroutines (guests' keys, the relay's NOTIFYs) never interleave. After a
// failed Write the stream is unusable and every later call returns that error.
type Encoder struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	legacy bool
	err    error
}

// NewEncoder returns an Encoder writing to w (typically the host's SSH
// channel).
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w, buf: make([]byte, 0, 256)}
}

// SetClientProtocol adapts the encoding to a host announcing protocol v in its
// HEADER: hosts before protocol 5 decode only the msgpack format that predates
// str8, as the original server knew (mpac_version 4). Only needed to tell
// such a host, with Notify, that it must upgrade.
func (e *Encoder) SetClientProtocol(v int) {
	e.mu.Lock()
	e.legacy = v < 5
	e.mu.Unlock()
}

// send encodes one message with fill and writes it.
func (e *Encoder) send(fill func(b []byte, legacy bool) []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return e.err
	}
	b := fill(e.buf[:0], e.legacy)
	n, err := e.w.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		e.err = err
	}
	if cap(b) <= 64<<10 {
		e.buf = b[:0]
	} else {
		e.buf = make([]byte, 0, 256) // do not keep a huge buffer
	}
	return err
}

// Notify shows msg in the host's status line (kept by `tmate show-messages`).
func (e *Encoder) Notify(msg string) error {
	return e.send(func(b []byte, legacy bool) []byte {
		b = appendArray(b, 2)
		b = appendInt(b, inNotify)
		return appendStr(b, msg, legacy)
	})
}

// LegacyPaneKey sends a key to the host's active pane the way protocol < 5
// hosts expect (tmux 1.8 key encoding).
func (e *Encoder) LegacyPaneKey(key int) error {
	return e.send(func(b []byte, _ bool) []byte {
		b = appendArray(b, 2)
		b = appendInt(b, inLegacyPaneKey)
		return appendInt(b, int64(key))
	})
}

// Resize tells the host the smallest guest window area (rows without the
// status line); -1, -1 when no guest is attached.
func (e *Encoder) Resize(sx, sy int) error {
	return e.send(func(b []byte, _ bool) []byte {
		b = appendArray(b, 3)
		b = appendInt(b, inResize)
		b = appendInt(b, int64(sx))
		return appendInt(b, int64(sy))
	})
}

// ExecCmdStr runs a tmux command line on a protocol < 6 host; failures come
// back as FAILED_CMD with clientID.
func (e *Encoder) ExecCmdStr(clientID int, cmd string) error {
	return e.send(func(b []byte, legacy bool) []byte {
		b = appendArray(b, 3)
		b = appendInt(b, inExecCmdStr)
		b = appendInt(b, int64(clientID))
		return appendStr(b, cmd, legacy)
	})
}

// SetEnv sets a variable the host shows as the #{name} format (tmate_ssh,
// tmate_reconnection_data...).
func (e *Encoder) SetEnv(name, value string) error {
	return e.send(func(b []byte, legacy bool) []byte {
		b = appendArray(b, 3)
		b = appendInt(b, inSetEnv)
		b = appendStr(b, name, legacy)
		return appendStr(b, value, legacy)
	})
}

// Ready releases `tmate wait tmate-ready` on the host.
func (e *Encoder) Ready() error {
	return e.send(func(b []byte, _ bool) []byte {
		return appendInt(appendArray(b, 1), inReady)
	})
}

// PaneKey sends a tmux key code to a pane (paneID -1: the active pane).
func (e *Encoder) PaneKey(paneID int, key uint64) error {
	return e.send(func(b []byte, _ bool) []byte {
		b = appendArray(b, 3)
		b = appendInt(b, inPaneKey)
		b = appendInt(b, int64(paneID))
		return appendUint(b, key)
	})
}

// PaneKeys sends keys to a pane (paneID -1: the active pane) as one
// PANE_KEY message each, in a single Write: a paste of a few thousand keys
// crosses the SSH channel in a few packets, not one packet per key.
func (e *Encoder) PaneKeys(paneID int, keys []uint64) error {
	return e.send(func(b []byte, _ bool) []byte {
		for _, key := range keys {
			b = appendArray(b, 3)
			b = appendInt(b, inPaneKey)
			b = appendInt(b, int64(paneID))
			b = appendUint(b, key)
		}
		return b
	})
}

// ErrEmptyArgv is returned by ExecCmd without argv.
var ErrEmptyArgv = errors.New("protocol: ExecCmd needs at least the command name")

// ExecCmd runs the tmux command argv on the host on behalf of a guest;
// failures come back as FAILED_CMD with clientID.
func (e *Encoder) ExecCmd(clientID int, argv ...string) error {
	if len(argv) == 0 {
		return ErrEmptyArgv
	}
	return e.send(func(b []byte, legacy bool) []byte {
		b = appendArray(b, 2+len(argv))
		b = appendInt(b, inExecCmd)
		b = appendInt(b, int64(clientID))
		for _, a := range argv {
			b = appendStr(b, a, legacy)
		}
		return b
	})
}
