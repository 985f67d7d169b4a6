package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"sort"
	"strconv"
	"time"

	"tmate-relay/service/accept"
	"tmate-relay/service/audit"
	"tmate-relay/service/peertext"
	"tmate-relay/service/session"
)

// requestTimeout bounds one caller's connection: a request is one line.
const requestTimeout = 10 * time.Second

// maxRequest bounds a request line.
const maxRequest = 4096

// Server answers requests on the admin socket.
type Server struct {
	Registry *session.Registry
	Auth     *Authorizer
	Log      *slog.Logger
	Audit    *audit.Trail // every request, refused or not (nil: none)
	// Drainer moves this node's sessions to the other nodes of its
	// cluster (nil: a relay on its own, which refuses to drain).
	Drainer Drainer
}

// Drainer empties a node of a cluster while it keeps running.
type Drainer interface {
	// Drain stops taking hosts here and moves every session away (its
	// host reconnects to another node, its guests are told to join
	// again), telling progress along the way; it returns what was done
	// once the node holds no session, or an error naming what is left
	// when ctx ends first. A second call waits again.
	Drain(ctx context.Context, progress func(string)) (done string, err error)
}

// DefaultDrainTimeout bounds a drain whose request names no timeout.
const DefaultDrainTimeout = 2 * time.Minute

// maxDrainTimeout bounds what a request may ask for.
const maxDrainTimeout = 24 * time.Hour

// NotClusteredMessage is the answer to a drain on a relay on its own.
const NotClusteredMessage = "this relay is not a node of a cluster (no [cluster] in its relay.toml): there is no other node to move its sessions to; systemctl stop tmate-relay ends them and tells their guests"

// Serve answers callers on l until l is closed; a failed accept is waited
// out (accept.Retrying), never the end of the relay.
func (s *Server) Serve(l net.Listener) error {
	l = accept.Retrying(l, "admin", s.Log)
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go s.serve(c)
	}
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(requestTimeout))
	writeLine(c, s.answer(c))
}

func writeLine(c net.Conn, resp Response) {
	b, _ := json.Marshal(resp)
	c.Write(append(b, '\n'))
}

// answer reads one request from c and carries it out when c's peer may.
func (s *Server) answer(c net.Conn) Response {
	cred, err := peerCred(c)
	if err != nil {
		s.audit(Request{}, Cred{}, "refused", err)
		return Response{Error: "the relay could not tell who you are: " + err.Error()}
	}
	line, err := bufio.NewReaderSize(c, maxRequest).ReadSlice('\n')
	if err != nil {
		return Response{Error: "no request: " + err.Error()}
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		s.audit(req, cred, "refused", err)
		return Response{Error: "malformed request: " + err.Error()}
	}
	if err := s.Auth.Check(cred); err != nil {
		s.audit(req, cred, "refused", err)
		return Response{Error: err.Error()}
	}
	if req.Action == ActionDrain {
		resp, err := s.drain(c, req)
		s.audit(req, cred, result(err), err)
		return resp
	}
	about := s.Registry.ByID(req.Session) // named in the event even when the request ends it
	resp, err := s.do(req)
	if err != nil {
		s.auditAbout(about, req, cred, "failed", err)
		return Response{Error: err.Error()}
	}
	s.auditAbout(about, req, cred, "ok", nil)
	return resp
}

func result(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
}

// drain empties the node, writing its progress to c as it goes; the
// connection stays open for the drain's timeout.
func (s *Server) drain(c net.Conn, req Request) (Response, error) {
	if s.Drainer == nil {
		return Response{Error: NotClusteredMessage}, errors.New(NotClusteredMessage)
	}
	timeout := DefaultDrainTimeout
	if req.TimeoutSeconds != 0 {
		// Bounded before the multiplication, which could overflow.
		timeout = time.Duration(min(max(int64(req.TimeoutSeconds), -1), int64(maxDrainTimeout/time.Second)+1)) * time.Second
	}
	if timeout <= 0 || timeout > maxDrainTimeout {
		err := fmt.Errorf("a drain's timeout must be between 1 s and %v, not %d s", maxDrainTimeout, req.TimeoutSeconds)
		return Response{Error: err.Error()}, err
	}
	c.SetDeadline(time.Now().Add(timeout + requestTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done, err := s.Drainer.Drain(ctx, func(line string) {
		writeLine(c, Response{Progress: line})
	})
	if err != nil {
		return Response{Error: err.Error()}, err
	}
	return Response{Done: done}, nil
}

// do carries out req.
func (s *Server) do(req Request) (Response, error) {
	if req.Action == ActionSessions {
		var out []session.Info
		for _, sess := range s.Registry.Sessions() {
			out = append(out, sess.Info())
		}
		sortInfos(out)
		return Response{Sessions: out}, nil
	}
	var sess *session.Session
	switch req.Action {
	case ActionGuests, ActionKick, ActionSay:
		if sess = s.Registry.ByID(req.Session); sess == nil {
			return Response{}, fmt.Errorf("no live session has the id %q (tmate-relay sessions lists them)", peertext.Cut(req.Session, peertext.Short))
		}
	default:
		return Response{}, fmt.Errorf("unknown action %q", peertext.Cut(req.Action, peertext.Short))
	}
	switch req.Action {
	case ActionGuests:
		return Response{Guests: sess.GuestList()}, nil
	case ActionKick:
		if req.Guest != 0 {
			if !sess.KickGuest(req.Guest) {
				return Response{}, fmt.Errorf("session %s has no guest %d (tmate-relay guests %s lists them)", sess.ID(), req.Guest, sess.ID())
			}
			return Response{Done: fmt.Sprintf("guest %d removed from session %s", req.Guest, sess.ID())}, nil
		}
		s.Registry.Kick(sess)
		return Response{Done: "session " + sess.ID() + " ended"}, nil
	default: // ActionSay
		text, err := session.CleanSayText(req.Text)
		if err != nil {
			return Response{}, err
		}
		sess.Say(text)
		return Response{Done: "message shown to session " + sess.ID()}, nil
	}
}

// audit records one admin request in the audit trail: what was asked, of
// which session, by whom, and the result. A session is named only by a
// string of the id's form that is not also a live token (a caller may
// paste anything); its name and host come from the registry while it is
// live.
func (s *Server) audit(req Request, cred Cred, result string, err error) {
	s.auditAbout(s.Registry.ByID(req.Session), req, cred, result, err)
}

// auditAbout is audit for a request about sess, the live session
// req.Session named when the request came (nil: none).
func (s *Server) auditAbout(sess *session.Session, req Request, cred Cred, result string, err error) {
	e := audit.Event{Kind: audit.Admin}
	switch {
	case sess != nil:
		e = sess.AuditEvent(audit.Admin)
	case req.Session != "" && session.ValidID(req.Session) && !s.isToken(req.Session):
		e.SessionID = req.Session
	}
	e.Action, e.Guest, e.Result = peertext.Cut(req.Action, peertext.Short), req.Guest, result
	e.CallerUID, e.CallerGID, e.CallerPID = int(cred.UID), int(cred.GID), int(cred.PID)
	if req.Action == ActionSay {
		e.Text = peertext.Cut(req.Text, peertext.Long)
	}
	if err != nil {
		e.Error = err.Error()
	}
	s.Audit.Emit(e)
}

// isToken reports whether str is a live session's token.
func (s *Server) isToken(str string) bool {
	_, _, ok := s.Registry.Lookup(str)
	return ok
}

// Listen makes the socket at path for a relay that is not socket-activated:
// mode 0660 and group Group when that group exists and this process may
// give the socket to it (it is root or a member), else 0600. A stale
// socket left by a relay that is gone is replaced; a live one is not.
func Listen(path string) (net.Listener, error) {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s: another relay is listening on it", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	mode := os.FileMode(0o600)
	if g, err := user.LookupGroup(Group); err == nil {
		if gid, err := strconv.Atoi(g.Gid); err == nil && os.Chown(path, -1, gid) == nil {
			mode = 0o660
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// sortInfos puts the oldest session first.
func sortInfos(in []session.Info) {
	sort.Slice(in, func(i, j int) bool {
		if !in[i].Started.Equal(in[j].Started) {
			return in[i].Started.Before(in[j].Started)
		}
		return in[i].ID < in[j].ID
	})
}
