package doctor

import (
	"context"
	"fmt"
	"os"
	"strings"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// The relay's systemd units.
const (
	ServiceUnit     = "tmate-relay.service"
	SSHSocketUnit   = "tmate-relay.socket"
	HTTPSocketUnit  = "tmate-relay-http.socket"
	AdminSocketUnit = "tmate-relay-admin.socket"
)

func (d *doctor) checkSystemd(ctx context.Context) []Result {
	sd := d.opts.Systemd
	if sd == nil {
		why := d.opts.SystemdMissing
		if why == "" {
			why = "this machine does not run systemd"
		}
		return []Result{warn(CheckSystemd, "socket units not checked: %s; the ports checked are relay.toml's listen addresses", why)}
	}
	svc, err := sd.Unit(ctx, ServiceUnit)
	if err != nil {
		return []Result{warn(CheckSystemd, "socket units not checked: cannot ask systemd: %v; the ports checked are relay.toml's listen addresses", err)}
	}
	if svc.LoadState != "loaded" {
		return []Result{warn(CheckSystemd, "%s is %s (not installed as a service): socket units not checked; the ports checked are relay.toml's listen addresses", ServiceUnit, svc.LoadState)}
	}
	var res []Result
	for _, s := range []struct {
		unit     string
		targets  *[]string
		severity Status
		without  string
	}{
		{SSHSocketUnit, &d.sshTargets, Fail, "hosts and ssh guests cannot connect"},
		{HTTPSocketUnit, &d.webTargets, Fail, "browsers and package updates cannot connect"},
		{AdminSocketUnit, nil, Warn, "the admin commands (sessions, kick, ...) do not work"},
	} {
		u, err := sd.Unit(ctx, s.unit)
		switch {
		case err != nil:
			res = append(res, Result{CheckSystemd, s.severity, fmt.Sprintf("%s: cannot ask systemd: %v", s.unit, err)})
		case u.LoadState != "loaded":
			res = append(res, Result{CheckSystemd, s.severity, fmt.Sprintf("%s is %s: %s (reinstall the package)", s.unit, u.LoadState, s.without)})
		case u.ActiveState != "active":
			res = append(res, Result{CheckSystemd, s.severity, fmt.Sprintf("%s is %s: %s (systemctl start %s; journalctl -u %s)", s.unit, u.ActiveState, s.without, s.unit, s.unit)})
		case u.UnitFileState != "enabled":
			res = append(res, Result{CheckSystemd, s.severity, fmt.Sprintf("%s is %s, not enabled: after a reboot %s (systemctl enable %s)", s.unit, u.UnitFileState, s.without, s.unit)})
		default:
			res = append(res, ok(CheckSystemd, "%s enabled, active, listening on %s", s.unit, strings.Join(u.Listen, " ")))
		}
		if s.targets != nil && len(u.Listen) > 0 {
			// Under socket activation relay.toml's listen is ignored.
			*s.targets = nil
			for _, l := range u.Listen {
				*s.targets = append(*s.targets, dialTargets(l)...)
			}
		}
	}
	switch svc.ActiveState {
	case "failed":
		res = append(res, fail(CheckSystemd, "%s failed: see why with journalctl -u tmate-relay -e, then systemctl reset-failed tmate-relay", ServiceUnit))
	case "active":
		res = append(res, ok(CheckSystemd, "%s %s (%s)", ServiceUnit, svc.ActiveState, svc.SubState))
	default:
		res = append(res, ok(CheckSystemd, "%s %s: systemd starts it on the first connection", ServiceUnit, svc.ActiveState))
	}
	return res
}

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
		return false, fmt.Errorf("NTPSynchronized is of type %s", v.Signature())
	}
	return b, nil
}
