package config

import (
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/BurntSushi/toml"
)

// Cluster is the [cluster] table: this relay is one node of several that
// share one name, coordinated through etcd. Without the table the relay
// stands alone.
type Cluster struct {
	// Enabled is set when relay.toml has a [cluster] table.
	Enabled bool `toml:"-"`
	// EtcdEndpoints are etcd's client URLs, http:// or https://.
	EtcdEndpoints []string `toml:"etcd_endpoints"`
	// EtcdCA verifies etcd's certificate; EtcdCert and EtcdKey are this
	// node's client certificate. PEM files; relative to the file's
	// directory.
	EtcdCA   string `toml:"etcd_ca"`
	EtcdCert string `toml:"etcd_cert"`
	EtcdKey  string `toml:"etcd_key"`
	// NodeName names this node in the cluster; empty: the host name.
	NodeName string `toml:"node_name"`
	// InternalListen is where this node listens for the other nodes.
	InternalListen string `toml:"internal_listen"`
	// InternalAdvertise is where the other nodes reach this one; empty:
	// this machine's FQDN with the port of InternalListen (use
	// Config.InternalAdvertise).
	InternalAdvertise string `toml:"internal_advertise"`
	// LeaseTTL is how long the cluster takes a node that stopped answering
	// for alive.
	LeaseTTL time.Duration `toml:"lease_ttl"`
}

const (
	DefaultInternalListen = "0.0.0.0:10023"
	// DefaultLeaseTTL: a dead node's sessions are known gone within 10s,
	// while a node rides out a short pause of etcd or the network.
	DefaultLeaseTTL = 10 * time.Second
	// MinLeaseTTL is about the shortest lease etcd grants (1.5 election
	// timeouts of its defaults); MaxLeaseTTL keeps a dead node's sessions
	// from being held for long.
	MinLeaseTTL = 2 * time.Second
	MaxLeaseTTL = 5 * time.Minute
)

var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$`)

func (v *validator) checkCluster(c *Config, md *toml.MetaData, dir string) {
	cl := &c.Cluster
	cl.Enabled = md.IsDefined("cluster")
	if !cl.Enabled {
		return
	}
	key := func(k string) []string { return []string{"cluster", k} }
	if len(cl.EtcdEndpoints) == 0 {
		v.add(key("etcd_endpoints"), `etcd_endpoints must list etcd's client URLs, e.g. ["https://etcd1.example.com:2379"]`)
	}
	schemes := map[string]bool{}
	for i, e := range cl.EtcdEndpoints {
		u, err := url.Parse(e)
		switch {
		case err != nil:
			v.add(key("etcd_endpoints"), "etcd_endpoints[%d] %q is not a URL: %v", i, e, errors.Unwrap(err))
		case u.Scheme != "http" && u.Scheme != "https":
			v.add(key("etcd_endpoints"), "etcd_endpoints[%d] %q must start with http:// or https://", i, e)
		case u.Hostname() == "" || u.Port() == "":
			v.add(key("etcd_endpoints"), "etcd_endpoints[%d] %q must name a host and a port", i, e)
		case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil:
			v.add(key("etcd_endpoints"), "etcd_endpoints[%d] %q must be only scheme://host:port", i, e)
		default:
			schemes[u.Scheme] = true
		}
	}
	if len(schemes) > 1 {
		v.add(key("etcd_endpoints"), "etcd_endpoints mix http:// and https://: use one for all")
	}
	files := []struct {
		name string
		path *string
	}{{"etcd_ca", &cl.EtcdCA}, {"etcd_cert", &cl.EtcdCert}, {"etcd_key", &cl.EtcdKey}}
	for _, f := range files {
		if *f.path == "" {
			continue
		}
		if !filepath.IsAbs(*f.path) {
			*f.path = filepath.Join(dir, *f.path)
		}
		if _, err := os.Stat(*f.path); err != nil {
			v.add(key(f.name), "%s %s: %v", f.name, *f.path, errors.Unwrap(err))
		}
		if schemes["http"] {
			v.add(key(f.name), "%s is set but etcd_endpoints use http://: TLS needs https://", f.name)
		}
	}
	switch {
	case cl.EtcdCert != "" && cl.EtcdKey == "":
		v.add(key("etcd_cert"), "etcd_cert is set but etcd_key is not: a client certificate needs both")
	case cl.EtcdCert == "" && cl.EtcdKey != "":
		v.add(key("etcd_key"), "etcd_key is set but etcd_cert is not: a client certificate needs both")
	}
	if cl.NodeName == "" {
		h, err := hostname()
		if err != nil || !nodeNameRE.MatchString(h) {
			v.add([]string{"cluster"}, "node_name is not set and the host name %q cannot be one: set node_name", h)
		}
		cl.NodeName = h
	} else if !nodeNameRE.MatchString(cl.NodeName) {
		v.add(key("node_name"), "node_name %q must be 1 to 63 letters, digits, dots, dashes or underscores, starting with a letter or digit", cl.NodeName)
	}
	if cl.InternalListen == "" {
		cl.InternalListen = DefaultInternalListen
	}
	v.address(cl.InternalListen, "cluster", "internal_listen")
	if a := cl.InternalAdvertise; a != "" {
		host, port, err := net.SplitHostPort(a)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 1 || n > 65535 || !validHost(host) {
			v.add(key("internal_advertise"), "internal_advertise %q must be HOST:PORT where other nodes reach this one", a)
		}
	}
	n := len(v.problems)
	v.duration(md, &cl.LeaseTTL, DefaultLeaseTTL, "cluster", "lease_ttl")
	if len(v.problems) == n && (cl.LeaseTTL < MinLeaseTTL || cl.LeaseTTL > MaxLeaseTTL) {
		v.add(key("lease_ttl"), "lease_ttl %s is out of range %s..%s", cl.LeaseTTL, MinLeaseTTL, MaxLeaseTTL)
	}
}

// InternalAdvertise is where the other nodes of the cluster reach this
// one: [cluster] internal_advertise, or this machine's FQDN with the port
// of internal_listen.
func (c *Config) InternalAdvertise() string {
	if c.Cluster.InternalAdvertise != "" {
		return c.Cluster.InternalAdvertise
	}
	_, port, _ := net.SplitHostPort(c.Cluster.InternalListen)
	return net.JoinHostPort(FQDN(), port)
}
