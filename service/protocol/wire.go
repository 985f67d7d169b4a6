package protocol

import (
	"encoding/binary"
	"math"
)

// Append-style msgpack writers, encoding like msgpack-c's packer (which tmate
// uses): integers in their smallest form, strings as str.

func appendArray(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(int8(v)))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(int8(v)))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(int16(v)))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(int32(v)))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

// appendStrHeader writes a str header. legacy selects the msgpack format
// before str8 existed (what tmate hosts of protocol < 5 decode): 32-255 byte
// strings then use the 16-bit form.
func appendStrHeader(b []byte, n int, legacy bool) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8 && !legacy:
		return append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
}

func appendStr(b []byte, s string, legacy bool) []byte {
	return append(appendStrHeader(b, len(s), legacy), s...)
}

func appendStrBytes(b []byte, s []byte) []byte {
	return append(appendStrHeader(b, len(s), false), s...)
}

func appendBool01(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendHostMessage appends m encoded as a tmate 2.4.0 host encodes it (see
// tmate-encoder.c). The relay never sends host messages; this exists for
// tests, fuzzing and tools (a fake host for session tests).
func AppendHostMessage(b []byte, m HostMessage) []byte {
	switch m := m.(type) {
	case *Header:
		if m.ClientVersion == "" && m.ProtocolVersion < 3 {
			b = appendArray(b, 2)
			b = appendInt(b, int64(MsgHeader))
			return appendInt(b, int64(m.ProtocolVersion))
		}
		b = appendArray(b, 3)
		b = appendInt(b, int64(MsgHeader))
		b = appendInt(b, int64(m.ProtocolVersion))
		return appendStr(b, m.ClientVersion, false)
	case *SyncLayout:
		b = appendArray(b, 5)
		b = appendInt(b, int64(MsgSyncLayout))
		b = appendInt(b, int64(m.SX))
		b = appendInt(b, int64(m.SY))
		b = appendArray(b, len(m.Windows))
		for _, w := range m.Windows {
			b = appendArray(b, 4)
			b = appendInt(b, int64(w.Idx))
			b = appendStr(b, w.Name, false)
			b = appendArray(b, len(w.Panes))
			for _, p := range w.Panes {
				b = appendArray(b, 5)
				b = appendInt(b, int64(p.ID))
				b = appendInt(b, int64(p.SX))
				b = appendInt(b, int64(p.SY))
				b = appendInt(b, int64(p.XOff))
				b = appendInt(b, int64(p.YOff))
			}
			b = appendInt(b, int64(w.ActivePaneID))
		}
		return appendInt(b, int64(m.ActiveWindowIdx))
	case *PtyData:
		b = appendArray(b, 3)
		b = appendInt(b, int64(MsgPtyData))
		b = appendInt(b, int64(m.PaneID))
		return appendStrBytes(b, m.Data)
	case *ExecCmdStr:
		b = appendArray(b, 2)
		b = appendInt(b, int64(MsgExecCmdStr))
		return appendStr(b, m.Cmd, false)
	case *FailedCmd:
		b = appendArray(b, 3)
		b = appendInt(b, int64(MsgFailedCmd))
		b = appendInt(b, int64(m.ClientID))
		return appendStr(b, m.Cause, false)
	case *Status:
		b = appendArray(b, 3)
		b = appendInt(b, int64(MsgStatus))
		b = appendStr(b, m.Left, false)
		return appendStr(b, m.Right, false)
	case *SyncCopyMode:
		b = appendArray(b, 3)
		b = appendInt(b, int64(MsgSyncCopyMode))
		b = appendInt(b, int64(m.PaneID))
		cm := m.CopyMode
		if cm == nil {
			return appendArray(b, 0)
		}
		b = appendArray(b, 6)
		b = appendBool01(b, cm.Backing)
		b = appendInt(b, int64(cm.OY))
		b = appendInt(b, int64(cm.CX))
		b = appendInt(b, int64(cm.CY))
		if s := cm.Selection; s != nil {
			b = appendArray(b, 3)
			b = appendInt(b, int64(s.X))
			b = appendInt(b, int64(s.Y))
			b = appendBool01(b, s.Rect)
		} else {
			b = appendArray(b, 0)
		}
		if in := cm.Input; in != nil {
			b = appendArray(b, 3)
			b = appendInt(b, int64(in.Type))
			b = appendStr(b, in.Prompt, false)
			b = appendStr(b, in.Str, false)
		} else {
			b = appendArray(b, 0)
		}
		return b
	case *WriteCopyMode:
		b = appendArray(b, 3)
		b = appendInt(b, int64(MsgWriteCopyMode))
		b = appendInt(b, int64(m.PaneID))
		return appendStr(b, m.Text, false)
	case *Fin:
		return appendInt(appendArray(b, 1), int64(MsgFin))
	case *Ready:
		return appendInt(appendArray(b, 1), int64(MsgReady))
	case *Reconnect:
		b = appendArray(b, 2)
		b = appendInt(b, int64(MsgReconnect))
		return appendStr(b, m.Data, false)
	case *Snapshot:
		b = appendArray(b, 2)
		b = appendInt(b, int64(MsgSnapshot))
		b = appendArray(b, len(m.Panes))
		for _, p := range m.Panes {
			b = appendArray(b, 4)
			b = appendInt(b, int64(p.ID))
			b = appendUint(b, uint64(p.Mode))
			b = appendGrid(b, &p.Grid)
			if p.Saved != nil {
				b = appendGrid(b, p.Saved)
			} else {
				b = append(b, 0xc0)
			}
		}
		return b
	case *ExecCmd:
		b = appendArray(b, 1+len(m.Argv))
		b = appendInt(b, int64(MsgExecCmd))
		for _, a := range m.Argv {
			b = appendStr(b, a, false)
		}
		return b
	case *Uname:
		b = appendArray(b, 6)
		b = appendInt(b, int64(MsgUname))
		for _, s := range []string{m.Sysname, m.Nodename, m.Release, m.Version, m.Machine} {
			b = appendStr(b, s, false)
		}
		return b
	}
	panic("protocol: AppendHostMessage: unknown message type")
}

func appendGrid(b []byte, g *SnapshotGrid) []byte {
	b = appendArray(b, 3)
	b = appendInt(b, int64(g.CX))
	b = appendInt(b, int64(g.CY))
	b = appendArray(b, len(g.Lines))
	for _, l := range g.Lines {
		b = appendArray(b, 2)
		b = appendStr(b, l.Text, false)
		b = appendArray(b, len(l.Cells))
		for _, c := range l.Cells {
			b = appendUint(b, uint64(c))
		}
	}
	return b
}
