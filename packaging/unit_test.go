package packaging

import (
	"regexp"
	"strconv"
	"testing"

	"tmate-relay/service/config"
	"tmate-relay/systemd"
)

// The service's limits hold the relay's own at their shipped values: every
// host and guest one descriptor, and threads well past what 2000 sessions
// use, within Go's own limit.
func TestUnitLimitsFitTheShippedLimits(t *testing.T) {
	unit := string(mustRead(systemd.Files, "tmate-relay.service"))
	value := func(key string) int {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + key + `=(\d+)$`).FindStringSubmatch(unit)
		if m == nil {
			t.Fatalf("tmate-relay.service sets no %s", key)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	d := config.Default().Limits
	conns := d.MaxSessions * (1 + d.MaxGuestsPerSession + d.MaxReadOnlyGuestsPerSession)
	if nofile := value("LimitNOFILE"); nofile < conns+conns/10 {
		t.Errorf("LimitNOFILE=%d: the shipped limits allow %d connections (max_sessions %d), and some authenticate meanwhile",
			nofile, conns, d.MaxSessions)
	}
	if d.MaxSessions < 2000 {
		t.Errorf("max_sessions %d: one node holds 2000 sessions (docs/capacity.md)", d.MaxSessions)
	}
	if tasks := value("TasksMax"); tasks < 1024 || tasks >= 10000 {
		t.Errorf("TasksMax=%d: want room for blocked system calls at 2000 sessions (the relay uses about 10 threads), under Go's limit of 10000", tasks)
	}
}
