package packaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Reading and signing rpm files, enough for a yum repository: the relay
// signs the rpms it publishes itself (it has no rpmsign or gpg), so that
// dnf's gpgcheck=1 passes for packages built elsewhere as well as for the
// client package it builds.
//
// An rpm is a 96-byte lead, the signature header (padded to 8 bytes), the
// main header and the payload. A header is a magic, an index of (tag, type,
// offset, count) entries and a data store; its first entry is the region
// tag whose data, a trailer entry, ends the store.

var headerMagic = []byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0}

const rpmLeadSize = 96

// Entry types.
const (
	rpmNull = iota
	rpmChar
	rpmInt8
	rpmInt16
	rpmInt32
	rpmInt64
	rpmString
	rpmBin
	rpmStringArray
	rpmI18NString
)

// Tags used here (rpm's rpmtag.h).
const (
	tagHeaderSignatures = 62
	tagHeaderImmutable  = 63
	sigTagRSA           = 268  // OpenPGP signature of the main header
	sigTagDSA           = 267  // the same, for DSA and EC keys
	sigTagPGP           = 1002 // OpenPGP signature of header and payload
	sigTagGPG           = 1005

	tagName           = 1000
	tagVersion        = 1001
	tagRelease        = 1002
	tagEpoch          = 1003
	tagSummary        = 1004
	tagDescription    = 1005
	tagBuildTime      = 1006
	tagBuildHost      = 1007
	tagSize           = 1009
	tagVendor         = 1011
	tagLicense        = 1014
	tagPackager       = 1015
	tagGroup          = 1016
	tagURL            = 1020
	tagArch           = 1022
	tagFileModes      = 1030
	tagFileFlags      = 1037
	tagSourceRPM      = 1044
	tagProvideName    = 1047
	tagRequireFlags   = 1048
	tagRequireName    = 1049
	tagRequireVersion = 1050
	tagConflictFlags  = 1053
	tagConflictName   = 1054
	tagConflictVer    = 1055
	tagArchiveSize    = 1046
	tagProvideFlags   = 1112
	tagProvideVersion = 1113
	tagDirIndexes     = 1116
	tagBaseNames      = 1117
	tagDirNames       = 1118
	tagObsoleteName   = 1090
	tagObsoleteFlags  = 1114
	tagObsoleteVer    = 1115
	tagLongSize       = 5009
)

type rpmEntry struct {
	tag, typ, offset, count int32
}

// rpmHeader is one parsed header: its raw bytes and its entries.
type rpmHeader struct {
	raw     []byte // magic to end of data store
	entries []rpmEntry
	data    []byte
}

// parseRPMHeader parses the header at the start of b.
func parseRPMHeader(b []byte) (*rpmHeader, error) {
	if len(b) < 16 || !bytes.Equal(b[:8], headerMagic) {
		return nil, errors.New("no rpm header magic")
	}
	n := int(binary.BigEndian.Uint32(b[8:]))
	size := int(binary.BigEndian.Uint32(b[12:]))
	if n <= 0 || n > 1<<16 || size < 0 || size > 256<<20 || 16+16*n+size > len(b) {
		return nil, errors.New("rpm header out of bounds")
	}
	h := &rpmHeader{raw: b[:16+16*n+size], data: b[16+16*n : 16+16*n+size]}
	for i := 0; i < n; i++ {
		p := b[16+16*i:]
		e := rpmEntry{int32(binary.BigEndian.Uint32(p)), int32(binary.BigEndian.Uint32(p[4:])),
			int32(binary.BigEndian.Uint32(p[8:])), int32(binary.BigEndian.Uint32(p[12:]))}
		if e.offset < 0 || int(e.offset) > size || e.count < 0 {
			return nil, fmt.Errorf("rpm header entry %d out of bounds", e.tag)
		}
		h.entries = append(h.entries, e)
	}
	return h, nil
}

func (h *rpmHeader) find(tag int) (rpmEntry, bool) {
	for _, e := range h.entries {
		if int(e.tag) == tag {
			return e, true
		}
	}
	return rpmEntry{}, false
}

// strings returns a string, string array or i18n string entry.
func (h *rpmHeader) strings(tag int) []string {
	e, ok := h.find(tag)
	if !ok || (e.typ != rpmString && e.typ != rpmStringArray && e.typ != rpmI18NString) {
		return nil
	}
	var out []string
	p := h.data[e.offset:]
	for i := 0; i < int(e.count); i++ {
		j := bytes.IndexByte(p, 0)
		if j < 0 {
			break
		}
		out = append(out, string(p[:j]))
		p = p[j+1:]
	}
	return out
}

func (h *rpmHeader) str(tag int) string {
	if s := h.strings(tag); len(s) > 0 {
		return s[0]
	}
	return ""
}

// ints returns an integer array entry (8, 16, 32 or 64 bits) as int64s.
func (h *rpmHeader) ints(tag int) []int64 {
	e, ok := h.find(tag)
	if !ok {
		return nil
	}
	width := map[int32]int{rpmChar: 1, rpmInt8: 1, rpmInt16: 2, rpmInt32: 4, rpmInt64: 8}[e.typ]
	if width == 0 || int(e.offset)+width*int(e.count) > len(h.data) {
		return nil
	}
	out := make([]int64, e.count)
	for i := range out {
		p := h.data[int(e.offset)+width*i:]
		switch width {
		case 1:
			out[i] = int64(p[0])
		case 2:
			out[i] = int64(binary.BigEndian.Uint16(p))
		case 4:
			out[i] = int64(binary.BigEndian.Uint32(p))
		case 8:
			out[i] = int64(binary.BigEndian.Uint64(p))
		}
	}
	return out
}

func (h *rpmHeader) int(tag int) (int64, bool) {
	if v := h.ints(tag); len(v) > 0 {
		return v[0], true
	}
	return 0, false
}

// rpmFile is an rpm split into its parts.
type rpmFile struct {
	lead    []byte
	sig     *rpmHeader
	main    *rpmHeader
	payload []byte
}

func parseRPM(b []byte) (*rpmFile, error) {
	if len(b) < rpmLeadSize || !bytes.Equal(b[:4], []byte{0xed, 0xab, 0xee, 0xdb}) {
		return nil, errors.New("not an rpm")
	}
	sig, err := parseRPMHeader(b[rpmLeadSize:])
	if err != nil {
		return nil, fmt.Errorf("signature header: %w", err)
	}
	off := rpmLeadSize + len(sig.raw)
	off += (8 - off%8) % 8
	if off > len(b) {
		return nil, errors.New("truncated rpm")
	}
	main, err := parseRPMHeader(b[off:])
	if err != nil {
		return nil, fmt.Errorf("main header: %w", err)
	}
	return &rpmFile{lead: b[:rpmLeadSize], sig: sig, main: main, payload: b[off+len(main.raw):]}, nil
}

// headerRange is where the main header lies in the file (primary.xml's
// rpm:header-range).
func (f *rpmFile) headerRange() (start, end int) {
	start = rpmLeadSize + len(f.sig.raw)
	start += (8 - start%8) % 8
	return start, start + len(f.main.raw)
}

var typeAlign = map[int32]int{rpmInt16: 2, rpmInt32: 4, rpmInt64: 8}

// signRPM returns the rpm b with its OpenPGP signatures replaced by new ones
// made with k: a header signature (tag 268, what rpm 4.16 and later check)
// and a header+payload signature (tag 1002, what rpm 4.14 checks too). The
// digests, sizes and everything else of the signature header are kept; the
// main header and payload are unchanged.
func signRPM(b []byte, k *SigningKey, now time.Time) ([]byte, error) {
	f, err := parseRPM(b)
	if err != nil {
		return nil, err
	}
	headerSig, err := k.DetachSign(f.main.raw, now)
	if err != nil {
		return nil, err
	}
	all := make([]byte, 0, len(f.main.raw)+len(f.payload))
	all = append(append(all, f.main.raw...), f.payload...)
	bodySig, err := k.DetachSign(all, now)
	if err != nil {
		return nil, err
	}
	type item struct {
		e    rpmEntry
		data []byte
	}
	var items []item
	for _, e := range f.sig.entries {
		switch e.tag {
		case tagHeaderSignatures, sigTagRSA, sigTagDSA, sigTagPGP, sigTagGPG:
			continue
		}
		end := len(f.sig.data)
		// An entry's data ends where the next one's starts (by offset).
		for _, o := range f.sig.entries {
			if o.offset > e.offset && int(o.offset) < end {
				end = int(o.offset)
			}
		}
		items = append(items, item{e, trimForType(f.sig.data[e.offset:end], e)})
	}
	items = append(items, item{rpmEntry{tag: sigTagRSA, typ: rpmBin, count: int32(len(headerSig))}, headerSig},
		item{rpmEntry{tag: sigTagPGP, typ: rpmBin, count: int32(len(bodySig))}, bodySig})
	sort.Slice(items, func(i, j int) bool { return items[i].e.tag < items[j].e.tag })

	var data bytes.Buffer
	for i := range items {
		if a := typeAlign[items[i].e.typ]; a > 0 && data.Len()%a != 0 {
			data.Write(make([]byte, a-data.Len()%a))
		}
		items[i].e.offset = int32(data.Len())
		data.Write(items[i].data)
	}
	n := len(items) + 1
	trailerOff := data.Len()
	binary.Write(&data, binary.BigEndian, []int32{tagHeaderSignatures, rpmBin, int32(-16 * n), 16})

	var out bytes.Buffer
	out.Grow(len(b) + 1024)
	out.Write(f.lead)
	out.Write(headerMagic)
	binary.Write(&out, binary.BigEndian, []int32{int32(n), int32(data.Len())})
	binary.Write(&out, binary.BigEndian, []int32{tagHeaderSignatures, rpmBin, int32(trailerOff), 16})
	for _, it := range items {
		binary.Write(&out, binary.BigEndian, []int32{it.e.tag, it.e.typ, it.e.offset, it.e.count})
	}
	out.Write(data.Bytes())
	if pad := (8 - out.Len()%8) % 8; pad > 0 {
		out.Write(make([]byte, pad))
	}
	out.Write(f.main.raw)
	out.Write(f.payload)
	return out.Bytes(), nil
}

// trimForType cuts an entry's data (which may be followed by alignment
// padding) to its exact length.
func trimForType(p []byte, e rpmEntry) []byte {
	switch e.typ {
	case rpmChar, rpmInt8, rpmBin:
		return p[:min(len(p), int(e.count))]
	case rpmInt16:
		return p[:min(len(p), 2*int(e.count))]
	case rpmInt32:
		return p[:min(len(p), 4*int(e.count))]
	case rpmInt64:
		return p[:min(len(p), 8*int(e.count))]
	default: // NUL-terminated strings
		q, n := p, 0
		for i := 0; i < int(e.count); i++ {
			j := bytes.IndexByte(q, 0)
			if j < 0 {
				return p
			}
			n += j + 1
			q = q[j+1:]
		}
		return p[:n]
	}
}
