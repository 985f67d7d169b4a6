package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"tmate-relay/service/cluster"
	"tmate-relay/service/cluster/etcdtest"
	"tmate-relay/service/logtest"
)

// clusterNode writes a relay.toml for one node of a cluster on etcd, with
// host keys made by keygen, and returns its path.
func clusterNode(t *testing.T, endpoint, name string) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "relay.toml")
	doc := `[ssh]
listen = "127.0.0.1:0"
advertise_host = "127.0.0.1"
host_keys_dir = "keys"
[web]
listen = "127.0.0.1:0"
[metrics]
listen = ""
[repo]
enabled = false
[cluster]
etcd_endpoints = ["` + endpoint + `"]
node_name = "` + name + `"
internal_listen = "127.0.0.1:0"
internal_advertise = "127.0.0.1:7000"
lease_ttl = "2s"
`
	if err := os.WriteFile(conf, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := keygen([]string{"-c", conf}, &out, &errOut); err != nil {
		t.Fatalf("keygen: %v\n%s", err, errOut.String())
	}
	return conf
}

// startServe runs `tmate-relay serve -c conf` as a child process until the
// test ends; exited is closed when it exits.
func startServe(t *testing.T, conf string) (log *logtest.Buffer, exited chan struct{}, cmd *exec.Cmd) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^TestHelperMain$", "--", "serve", "-c", conf)
	cmd.Env = append(os.Environ(), "TMATE_RELAY_TEST_MAIN=1")
	log = &logtest.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited = make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	return log, exited, cmd
}

// liveNodes lists the node names etcd holds.
func liveNodes(t *testing.T, endpoint string) []string {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, cluster.Prefix+"nodes/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, kv := range resp.Kvs {
		names = append(names, strings.TrimPrefix(string(kv.Key), cluster.Prefix+"nodes/"))
	}
	return names
}

func waitListed(t *testing.T, endpoint, name string, log *logtest.Buffer, exited chan struct{}) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		for _, n := range liveNodes(t, endpoint) {
			if n == name {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("%s exited:\n%s", name, log.String())
		case <-deadline:
			t.Fatalf("%s never joined:\n%s", name, log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestClusterNodesMustShareKeys: a relay whose host key differs from the
// cluster's refuses to start and names the file; one with the keys copied
// from a running node (as the README tells administrators) joins.
func TestClusterNodesMustShareKeys(t *testing.T) {
	etcd := etcdtest.Start(t)
	first := clusterNode(t, etcd.Endpoint(), "node-1")
	log1, exited1, _ := startServe(t, first)
	waitListed(t, etcd.Endpoint(), "node-1", log1, exited1)

	other := clusterNode(t, etcd.Endpoint(), "node-2") // its own new keys
	out, code := runMain(t, "serve", "-c", other)
	want := "host key " + filepath.Join(filepath.Dir(other), "keys", "ssh_host_ed25519_key") + " differs from the cluster's"
	if code == 0 || !strings.Contains(out, want) {
		t.Fatalf("a node with another host key: exit %d, want a message with %q:\n%s", code, want, out)
	}

	// The same host keys but another reconnection key: refused too.
	copyKeys(t, first, other, "keys/ssh_host_ed25519_key", "keys/ssh_host_ed25519_key.pub", "keys/ssh_host_rsa_key", "keys/ssh_host_rsa_key.pub")
	out, code = runMain(t, "serve", "-c", other)
	want = "reconnection key " + filepath.Join(filepath.Dir(other), "reconnect-key") + " differs from the cluster's"
	if code == 0 || !strings.Contains(out, want) {
		t.Fatalf("a node with another reconnection key: exit %d, want a message with %q:\n%s", code, want, out)
	}

	copyKeys(t, first, other, "reconnect-key")
	log2, exited2, _ := startServe(t, other)
	waitListed(t, etcd.Endpoint(), "node-2", log2, exited2)
}

// copyKeys copies files (relative to each config's directory) from one
// node to another, keeping their mode.
func copyKeys(t *testing.T, fromConf, toConf string, files ...string) {
	t.Helper()
	for _, f := range files {
		src := filepath.Join(filepath.Dir(fromConf), f)
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(filepath.Dir(toConf), f)
		os.Remove(dst)
		if err := os.WriteFile(dst, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClusterNodeKilledLeavesWithItsLease: a relay killed with SIGKILL
// stays listed until its lease expires, then is gone; one stopped with
// SIGTERM leaves at once.
func TestClusterNodeKilledLeavesWithItsLease(t *testing.T) {
	etcd := etcdtest.Start(t)
	conf := clusterNode(t, etcd.Endpoint(), "node-1")
	log, exited, cmd := startServe(t, conf)
	waitListed(t, etcd.Endpoint(), "node-1", log, exited)
	cmd.Process.Kill()
	<-exited
	if got := liveNodes(t, etcd.Endpoint()); len(got) != 1 {
		t.Fatalf("right after SIGKILL: %v, want node-1 still listed under its lease", got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(liveNodes(t, etcd.Endpoint())) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the killed node's lease never expired")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Started again under the same name, it joins once the old lease is
	// gone; stopped with SIGTERM it leaves at once.
	log, exited, cmd = startServe(t, conf)
	waitListed(t, etcd.Endpoint(), "node-1", log, exited)
	cmd.Process.Signal(syscall.SIGTERM)
	<-exited
	if got := liveNodes(t, etcd.Endpoint()); len(got) != 0 {
		t.Fatalf("after SIGTERM: %v still listed\n%s", got, log.String())
	}
}
