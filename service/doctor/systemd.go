package doctor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// Unit is what the doctor needs to know of one systemd unit.
type Unit struct {
	LoadState     string   // loaded, not-found, masked...
	ActiveState   string   // active, inactive, failed...
	SubState      string   // listening, running, dead...
	UnitFileState string   // enabled, disabled, static...
	Listen        []string // a socket unit's addresses, e.g. "[::]:10022"
}

// Systemd answers questions about the running systemd.
type Systemd interface {
	Unit(ctx context.Context, name string) (Unit, error)
	// NTPSynchronized reports whether the system clock is synchronised
	// (systemd-timedated's NTPSynchronized).
	NTPSynchronized(ctx context.Context) (bool, error)
}

// Booted reports whether this machine runs systemd as its init, as
// sd_booted(3) tells.
func Booted() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// SystemdBus asks systemd over D-Bus: unit states and addresses come as
// typed properties, not as text of systemctl's to parse, and no program
// on PATH is involved.
type SystemdBus struct {
	units *sddbus.Conn
}

// ConnectSystemd connects to systemd: over the system bus, or as root
// over systemd's private socket when no bus daemon runs.
func ConnectSystemd(ctx context.Context) (*SystemdBus, error) {
	c, err := sddbus.NewSystemConnectionContext(ctx)
	if err != nil && os.Geteuid() == 0 {
		var err2 error
		if c, err2 = sddbus.NewSystemdConnectionContext(ctx); err2 == nil {
			err = nil
		}
	}
	if err != nil {
		return nil, err
	}
	return &SystemdBus{units: c}, nil
}

// Close ends the connection.
func (s *SystemdBus) Close() { s.units.Close() }

// Unit reads name's states and, for a socket, its listening addresses.
func (s *SystemdBus) Unit(ctx context.Context, name string) (Unit, error) {
	p, err := s.units.GetUnitPropertiesContext(ctx, name)
	if err != nil {
		return Unit{}, err
	}
	str := func(k string) string { v, _ := p[k].(string); return v }
	u := Unit{LoadState: str("LoadState"), ActiveState: str("ActiveState"), SubState: str("SubState"), UnitFileState: str("UnitFileState")}
	if u.LoadState != "loaded" || !strings.HasSuffix(name, ".socket") {
		return u, nil
	}
	sp, err := s.units.GetUnitTypePropertiesContext(ctx, name, "Socket")
	if err != nil {
		return u, err
	}
	// Listen is a(ss): (type, address) pairs.
	if pairs, ok := sp["Listen"].([][]any); ok {
		for _, pair := range pairs {
			if len(pair) == 2 {
				if a, ok := pair[1].(string); ok {
					u.Listen = append(u.Listen, a)
				}
			}
		}
	}
	return u, nil
}

// NTPSynchronized asks systemd-timedated (started on demand by the bus).
func (s *SystemdBus) NTPSynchronized(ctx context.Context) (bool, error) {
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		return false, err
	}
	defer conn.Close()
	v, err := conn.Object("org.freedesktop.timedate1", "/org/freedesktop/timedate1").GetProperty("org.freedesktop.timedate1.NTPSynchronized")
	if err != nil {
		return false, err
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, errors.New(fmt.Sprint("NTPSynchronized is ", v.Signature()))
	}
	return b, nil
}
