package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
	"golang.org/x/crypto/ssh"

	"tmate-relay/service/hostkey"
)

// dialTargets turns a listen address (relay.toml's, or a socket unit's:
// "[::]:10022", "10022") into the addresses to connect to from here: an
// unspecified host is this machine, over IPv4 and then IPv6 loopback.
func dialTargets(listen string) []string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		if _, err := strconv.Atoi(listen); err != nil {
			return []string{listen}
		}
		host, port = "::", listen
	}
	switch host {
	case "", "0.0.0.0":
		return []string{net.JoinHostPort("127.0.0.1", port)}
	case "::":
		return []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)}
	}
	return []string{net.JoinHostPort(host, port)}
}

// sshAlgorithms asks for each kind of host key the relay has.
var sshAlgorithms = map[string]string{ssh.KeyAlgoED25519: ssh.KeyAlgoED25519, ssh.KeyAlgoRSA: ssh.KeyAlgoRSASHA256}

var errGotKey = errors.New("host key received")

// hostKey connects to addr and returns the host key the server presents
// for algo; it leaves before authenticating.
func (d *doctor) hostKey(ctx context.Context, addr, algo string) (ssh.PublicKey, error) {
	dialer := net.Dialer{Timeout: d.opts.Timeout}
	c, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if d.cfg.SSH.ProxyProtocol {
		// The relay then refuses a connection without a PROXY header.
		if _, err := proxyproto.HeaderProxyFromAddrs(1, c.LocalAddr(), c.RemoteAddr()).WriteTo(c); err != nil {
			return nil, err
		}
	}
	var key ssh.PublicKey
	conf := &ssh.ClientConfig{
		User:              "doctor",
		HostKeyAlgorithms: []string{algo},
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			key = k
			return errGotKey
		},
		Timeout: d.opts.Timeout,
	}
	_, _, _, err = ssh.NewClientConn(c, addr, conf)
	if key != nil {
		return key, nil
	}
	return nil, err
}

func (d *doctor) checkSSHPort(ctx context.Context) Result {
	var errs []string
	for _, addr := range d.sshTargets {
		for _, f := range hostkey.Files {
			k, err := d.hostKey(ctx, addr, sshAlgorithms[f.Type])
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
				break
			}
			d.presented[f.Type] = k
		}
		if len(d.presented) == len(hostkey.Files) {
			d.sshUp = true
			return ok(CheckSSHPort, "%s answers SSH with the relay's %d host keys", addr, len(d.presented))
		}
		clear(d.presented)
	}
	return fail(CheckSSHPort, "no SSH answer (%s): hosts and ssh guests cannot connect; start the relay (systemctl start %s, or tmate-relay serve -c FILE) and see its log", strings.Join(errs, "; "), SSHSocketUnit)
}

func (d *doctor) httpClient() *http.Client {
	if d.client == nil {
		d.client = &http.Client{
			Timeout: d.opts.Timeout,
			Transport: &http.Transport{
				// Connected to this machine by address: no name for a
				// certificate to match. What is fetched is compared with
				// the files here, which is the check.
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
				Proxy:           nil,
				DialContext:     d.dialWeb,
			},
		}
	}
	return d.client
}

// dialWeb connects to addr, opening with a PROXY header when it is the web
// port and the relay refuses a connection without one ([web]
// proxy_protocol); the metrics port reads none.
func (d *doctor) dialWeb(ctx context.Context, network, addr string) (net.Conn, error) {
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, network, addr)
	if err != nil || !d.cfg.Web.ProxyProtocol || !slices.Contains(d.webTargets, addr) {
		return c, err
	}
	if _, err := proxyproto.HeaderProxyFromAddrs(1, c.LocalAddr(), c.RemoteAddr()).WriteTo(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// repoWait bounds how long get waits for a repository the relay is still
// writing (its first, just after it started: 503 with Retry-After).
var repoWait = 60 * time.Second

// get fetches url and returns its body when the status is 200.
func (d *doctor) get(ctx context.Context, url string) ([]byte, error) {
	deadline := time.Now().Add(repoWait)
	for {
		b, retry, err := d.getOnce(ctx, url)
		if !retry || time.Now().After(deadline) {
			return b, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Second):
		}
	}
}

func (d *doctor) getOnce(ctx context.Context, url string) (body []byte, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := d.httpClient().Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode != http.StatusOK {
		retry := resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""
		return nil, retry, fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(b[:min(len(b), 200)])))
	}
	return b, false, nil
}

func (d *doctor) checkWebPort(ctx context.Context) Result {
	scheme := "http"
	if d.cfg.Web.TLSCert != "" {
		scheme = "https"
	}
	var errs []string
	for _, addr := range d.webTargets {
		base := scheme + "://" + addr
		if _, err := d.get(ctx, base+"/healthz"); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		d.webBase = base
		return ok(CheckWebPort, "%s answers", base)
	}
	return fail(CheckWebPort, "no answer (%s): browser guests, /tmate.conf and the package repository are unreachable; start the relay (systemctl start %s, or tmate-relay serve -c FILE) and see its log", strings.Join(errs, "; "), HTTPSocketUnit)
}

func (d *doctor) checkMetricsPort(ctx context.Context) Result {
	if d.cfg.Metrics.Listen == "" {
		return ok(CheckMetricsPort, "off ([metrics] listen = \"\")")
	}
	if !d.sshUp {
		return warn(CheckMetricsPort, "not checked: the relay does not answer on its SSH port")
	}
	var errs []string
	for _, addr := range dialTargets(d.cfg.Metrics.Listen) {
		url := "http://" + addr + "/metrics"
		b, err := d.get(ctx, url)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if !strings.Contains(string(b), "tmate_relay_build_info") {
			return fail(CheckMetricsPort, "%s answers without the relay's metrics: another program holds [metrics] listen %s; free the port or choose another, then restart the relay", url, d.cfg.Metrics.Listen)
		}
		return ok(CheckMetricsPort, "%s answers", url)
	}
	return fail(CheckMetricsPort, "no answer (%s): Prometheus sees the relay down; the relay logs \"no metrics\" when it cannot listen on [metrics] listen %s: free the port or choose another, then restart the relay", strings.Join(errs, "; "), d.cfg.Metrics.Listen)
}
