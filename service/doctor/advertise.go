package doctor

import (
	"context"
	"net"
	"strings"
)

func (d *doctor) checkAdvertiseHost(ctx context.Context) Result {
	host := d.cfg.AdvertiseHost()
	what := host
	if d.cfg.SSH.AdvertiseHost == "" {
		what = host + " (empty advertise_host: this machine's name)"
	}
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
		defer cancel()
		var err error
		if ips, err = d.opts.LookupIP(ctx, host); err != nil || len(ips) == 0 {
			return fail(CheckAdvertiseHost, "%s does not resolve (%v): hosts are told a name they cannot reach; set [ssh] advertise_host to a name that resolves to this machine or to its load balancer", what, err)
		}
	}
	local, err := d.opts.LocalAddrs()
	if err != nil {
		return warn(CheckAdvertiseHost, "%s resolves to %s; this machine's addresses are unknown (%v)", what, ipList(ips), err)
	}
	var mine []net.IP
	for _, ip := range ips {
		if ip.IsLoopback() || containsIP(local, ip) {
			mine = append(mine, ip)
		}
	}
	switch {
	case len(mine) > 0 && allLoopback(mine):
		return warn(CheckAdvertiseHost, "%s resolves to %s, a loopback address: only programs on this machine can use the join commands; set [ssh] advertise_host to the name hosts and guests use", what, ipList(mine))
	case len(mine) > 0:
		return ok(CheckAdvertiseHost, "%s resolves to %s, an address of this machine", what, ipList(mine))
	case d.cfg.SSH.ProxyProtocol:
		return ok(CheckAdvertiseHost, "%s resolves to %s, not this machine: the load balancer in front of it (proxy_protocol = true)", what, ipList(ips))
	}
	return warn(CheckAdvertiseHost, "%s resolves to %s, no address of this machine: right only behind NAT or a port forward to it; otherwise set [ssh] advertise_host to this machine's name (behind a load balancer, to the balancer's, with proxy_protocol = true)", what, ipList(ips))
}

func containsIP(list []net.IP, ip net.IP) bool {
	for _, l := range list {
		if l.Equal(ip) {
			return true
		}
	}
	return false
}

func allLoopback(ips []net.IP) bool {
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

func ipList(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, " ")
}
