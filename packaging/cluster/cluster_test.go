package cluster

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tmate-relay/service/config"
)

// The example node configuration loads, as a node of a three-node cluster
// behind a proxy (its TLS files stand in as empty files).
func TestExampleNodeConfigLoads(t *testing.T) {
	doc, err := fs.ReadFile(Files, "relay-node.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"etcd-ca.pem", "etcd-client.pem", "etcd-client-key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := config.Parse(filepath.Join(dir, "relay.toml"), strings.ReplaceAll(string(doc), "/etc/tmate-relay/", dir+"/"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Cluster.Enabled || len(c.Cluster.EtcdEndpoints) != 3 || c.Cluster.NodeName != "relay1" || !c.SSH.ProxyProtocol || !c.Web.ProxyProtocol {
		t.Fatalf("the example reads %+v, proxy_protocol %v (ssh), %v (web)", c.Cluster, c.SSH.ProxyProtocol, c.Web.ProxyProtocol)
	}
}

// The example HAProxy configuration is one Debian's haproxy accepts.
func TestExampleHAProxyConfigIsValid(t *testing.T) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("haproxy is required in CI (make deps installs it): %v", err)
		}
		t.Skipf("haproxy not installed: %v", err)
	}
	b, err := fs.ReadFile(Files, "haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	// The example's host names resolve nowhere here: check it with
	// addresses in their place.
	cfg := strings.NewReplacer("relay1.example.com", "127.0.0.1", "relay2.example.com", "127.0.0.2", "relay3.example.com", "127.0.0.3").Replace(string(b))
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("haproxy", "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
}
