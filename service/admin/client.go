package admin

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Do sends req to the relay's socket at path and returns its answer; the
// relay's refusal (Response.Error) is returned as the error.
func Do(path string, req Request) (Response, error) {
	c, err := net.DialTimeout("unix", path, requestTimeout)
	switch {
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return Response{}, fmt.Errorf("permission denied on %s: run this as root or as a member of the group %s", path, Group)
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
		return Response{}, fmt.Errorf("no relay listens on %s: is it running (systemctl status tmate-relay-admin.socket), and is this the [admin] socket of its relay.toml?", path)
	case err != nil:
		return Response{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(requestTimeout))
	b, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return Response{}, fmt.Errorf("%s: %w", path, err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return Response{}, fmt.Errorf("%s: no answer from the relay: %w", path, err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return Response{}, fmt.Errorf("%s: unreadable answer from the relay: %w", path, err)
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}
