package test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// apiserverVersion is the kube-apiserver the tests run: the version of the client-go that CoreDNS
// 1.15.0 is built with.
const apiserverVersion = "1.37.1"

// controlPlane is a real Kubernetes control plane on 127.0.0.1: etcd from Debian's etcd-server and
// kube-apiserver built from the Go module proxy (test/kube/apiserver.sh), with RBAC on.
type controlPlane struct {
	url    string // https://127.0.0.1:PORT
	caFile string // the API server's self-signed certificate, which is its own CA
	admin  *kubernetes.Clientset
	config *rest.Config // admin's configuration, for other clients (dynamic, discovery)
}

// apiserverBinary finds kube-apiserver: FLATTEN_KUBE_APISERVER, or where test/kube/apiserver.sh
// caches it (see missing).
func apiserverBinary(tb testing.TB) string {
	tb.Helper()
	if b := os.Getenv("FLATTEN_KUBE_APISERVER"); b != "" {
		return b
	}
	// The folder test/kube/apiserver.sh uses: $XDG_CACHE_HOME or ~/.cache, as os.UserCacheDir.
	cache, _ := os.UserCacheDir()
	b := filepath.Join(cache, "flatten", "kube-apiserver-v"+apiserverVersion)
	if _, err := os.Stat(b); err != nil {
		missing(tb, "kube-apiserver is not built: run test/kube/apiserver.sh (a few minutes, once)")
	}
	return b
}

// startControlPlane starts etcd and kube-apiserver, waits until the API server is ready and
// returns a cluster-admin client. Both are stopped when the test ends, the API server first; start
// every CoreDNS that watches it afterwards, so that CoreDNS is stopped before it.
func startControlPlane(tb testing.TB) *controlPlane {
	tb.Helper()
	apiserver := apiserverBinary(tb)
	etcd := lookPath(tb, "etcd")
	dir := tb.TempDir()

	clientPort, peerPort, metricsPort := freePort(tb), freePort(tb), freePort(tb)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	runServer(tb, "", clientPort, etcd, "--name", "t", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "t="+peerURL, "--listen-metrics-urls", fmt.Sprintf("http://127.0.0.1:%d", metricsPort))
	waitHTTP(tb, http.DefaultClient, etcdURL+"/health", "")

	// Service-account signing keys, and a static token for the test itself (system:masters).
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	writeFile(tb, filepath.Join(dir, "sa.key"), string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	writeFile(tb, filepath.Join(dir, "sa.pub"), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})))
	token := randomHex(tb)
	writeFile(tb, filepath.Join(dir, "tokens.csv"), token+",admin,admin-uid,system:masters\n")

	port := freePort(tb)
	certs := filepath.Join(dir, "certs")
	runServer(tb, "", port, apiserver,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir="+certs,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.96.0.0/16",
		// Endpoint validation rejects loopback addresses.
		"--endpoint-reconciler-type=none",
		"--profiling=false")

	cp := &controlPlane{url: fmt.Sprintf("https://127.0.0.1:%d", port), caFile: filepath.Join(certs, "apiserver.crt")}
	cfg := &rest.Config{Host: cp.url, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAFile: cp.caFile}}
	// The certificate is written at start-up: wait for it before building a client that trusts it.
	eventually(tb, 30*time.Second, func() error {
		_, err := os.Stat(cp.caFile)
		return err
	})
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	waitHTTP(tb, hc, cp.url+"/readyz", token)
	if cp.admin, err = kubernetes.NewForConfig(cfg); err != nil {
		tb.Fatal(err)
	}
	cp.config = cfg
	return cp
}

// waitHTTP polls url until it answers 200.
func waitHTTP(tb testing.TB, c *http.Client, url, token string) {
	tb.Helper()
	eventually(tb, 60*time.Second, func() error {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	})
}

// kubeconfig writes a kubeconfig for the API server with the given bearer token and returns its path.
func (cp *controlPlane) kubeconfig(tb testing.TB, token string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "kubeconfig")
	writeFile(tb, path, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: coredns
  user:
    token: %s
contexts:
- name: test
  context:
    cluster: test
    user: coredns
current-context: test
`, cp.url, cp.caFile, token))
	return path
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

func randomHex(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// apiCtx is a context for one API call, cancelled when the test ends.
func apiCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}
