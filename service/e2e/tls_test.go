package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWebSideSpeaksHTTPS gives the relay a certificate: its web side then
// answers over HTTPS only, with that certificate.
func TestWebSideSpeaksHTTPS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, certPEM, 0o644)
	os.WriteFile(keyFile, keyPEM, 0o600)
	r := prepareRelay(t, "")
	conf, _ := os.ReadFile(r.conf)
	conf = []byte(strings.Replace(string(conf), "[web]\n", fmt.Sprintf("[web]\ntls_cert = %q\ntls_key = %q\n", certFile, keyFile), 1))
	os.WriteFile(r.conf, conf, 0o644)
	r.launch(relayBin, "serve", "-c", r.conf)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/tmate.conf", r.webPort))
	if err != nil {
		t.Fatalf("HTTPS: %v\n%s", err, r.log.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "tmate-server-port") {
		t.Fatalf("/tmate.conf over HTTPS:\n%s", body)
	}
	if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/tmate.conf", r.webPort)); err == nil && resp.StatusCode == http.StatusOK {
		t.Fatal("plain HTTP still served the page")
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "relay.test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
