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
	return DoStreaming(path, req, requestTimeout, nil)
}

// DoStreaming is Do for a request whose answer comes after progress lines
// (a drain), each passed to progress as it comes; wait bounds the whole
// exchange.
func DoStreaming(path string, req Request, wait time.Duration, progress func(string)) (Response, error) {
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
	c.SetDeadline(time.Now().Add(wait))
	b, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	if _, err := c.Write(append(b, '\n')); err != nil {
		return Response{}, fmt.Errorf("%s: %w", path, err)
	}
	r := bufio.NewReader(c)
	var resp Response
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return Response{}, fmt.Errorf("%s: no answer from the relay: %w", path, err)
		}
		resp = Response{}
		if err := json.Unmarshal(line, &resp); err != nil {
			return Response{}, fmt.Errorf("%s: unreadable answer from the relay: %w", path, err)
		}
		if resp.Progress == "" {
			break
		}
		if progress != nil {
			progress(resp.Progress)
		}
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}
