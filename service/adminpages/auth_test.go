package adminpages

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"tmate-relay/service/password"
)

// A login that waits for its turn to check a password, while the checks
// are all taken, ends when its client goes: under a flood of logins the
// waiting requests do not pile up behind the hashing.
func TestLoginGoneWhileWaitingEnds(t *testing.T) {
	hash, err := password.Hash([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	c := newCredentials(map[string]string{"alice": hash}, "")
	for range cap(c.slots) {
		c.slots <- struct{}{} // every check busy
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest("GET", "/admin/recordings/", nil).WithContext(ctx)
	r.SetBasicAuth("alice", "secret")
	got := make(chan verdict, 1)
	go func() { got <- c.authenticate(r) }()
	cancel()
	select {
	case v := <-got:
		if v.ok {
			t.Errorf("a login nobody checked was let in: %+v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a login whose client has gone still waits for a check")
	}
}
