package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"

	"tmate-relay/service/sshd"
)

// jobQueryTimeout bounds the question to systemd at shutdown: its answer
// only picks the guests' last words, and the stop must not wait on it.
const jobQueryTimeout = 2 * time.Second

// stopNotice is what guests read as the relay shuts down: under systemd
// it asks, over D-Bus, which job systemd runs on the relay's own unit at
// that moment. A stop job (systemctl stop, removing the package, shutting
// the machine down) is the relay stopping, unless its program file was
// replaced meanwhile: a package upgrade stops the old relay and its
// sockets start the new one. A restart job (systemctl restart) or none at
// all (a signal from elsewhere: the sockets stay and start it again) is
// the relay restarting.
//
// Asking at SIGTERM needs nothing in the unit: an ExecStop= helper runs for
// a restart as for a stop, with nothing in its environment to tell them
// apart, so it would have to ask systemd the same question and then pass
// the answer to the relay.
func stopNotice(log *slog.Logger) string {
	if os.Getenv("INVOCATION_ID") == "" { // not a systemd service
		return sshd.RestartNotice
	}
	ctx, cancel := context.WithTimeout(context.Background(), jobQueryTimeout)
	defer cancel()
	unit, job, err := systemdJob(ctx)
	if err != nil {
		log.Warn("cannot tell a stop from a restart: guests are told the relay restarts", "err", err)
		return sshd.RestartNotice
	}
	replaced := programReplaced()
	log.Info("systemd job", "unit", unit, "job", job, "program_replaced", replaced)
	return noticeForJob(job, replaced)
}

// noticeForJob is what guests read when systemd runs a job of this type
// on the relay's unit ("" for none); replaced: the relay's program file
// is no longer the one running (an upgrade).
func noticeForJob(jobType string, replaced bool) string {
	if jobType == "stop" && !replaced {
		return sshd.StopNotice
	}
	return sshd.RestartNotice
}

// programReplaced reports whether the running program's file was removed
// or replaced, as dpkg and rpm do when they upgrade it.
func programReplaced() bool {
	exe, err := os.Readlink("/proc/self/exe")
	return err == nil && strings.HasSuffix(exe, " (deleted)")
}

// systemdJob returns the relay's unit and the type of the job systemd runs
// on it ("" when none).
func systemdJob(ctx context.Context) (unit, jobType string, err error) {
	conn, err := sddbus.NewSystemConnectionContext(ctx)
	if err != nil {
		return "", "", fmt.Errorf("system bus: %w", err)
	}
	defer conn.Close()
	unit, err = conn.GetUnitNameByPID(ctx, uint32(os.Getpid()))
	if err != nil {
		return "", "", fmt.Errorf("own unit: %w", err)
	}
	jobs, err := conn.ListJobsContext(ctx)
	if err != nil {
		return unit, "", fmt.Errorf("jobs: %w", err)
	}
	for _, j := range jobs {
		if j.Unit == unit {
			return unit, j.JobType, nil
		}
	}
	return unit, "", nil
}
